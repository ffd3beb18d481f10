#!/usr/bin/env bash
# table.csv (experiments/aggregate.awk) -> markdown table on stdout.
#   accuracy (default): test accuracies, shown in % and differences in points;
#   loss: training losses, shown as they are.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] && [ -r "$1" ] && [[ ${2:-accuracy} =~ ^(accuracy|loss)$ ]] || {
    echo "usage: experiments/table_md.sh table.csv [accuracy|loss]" >&2; exit 2; }
awk -F, -v kind="${2:-accuracy}" '
BEGIN {
    if (kind == "accuracy") { f = 100; fmt = "%.2f"; what = "test acc. mean (%) | sd (%) | diff. to noise 1 (points)" }
    else { f = 1; fmt = "%.4f"; what = "train loss, last quarter, mean | sd | diff. to noise 1" }
}
NR == 1 { print "| dataset | L | noise-scale | runs | " what " | 95% CI of diff. (Welch t) |"
          print "|---|---|---|---|---|---|---|---|"; next }
{
    sd = $6 == "" ? "-" : sprintf(fmt, f * $6)
    diff = $7 == "" ? "-" : sprintf("%+" substr(fmt, 2), f * $7)
    ci = $8 == "" ? "-" : sprintf("[%+" substr(fmt, 2) ", %+" substr(fmt, 2) "]", f * $8, f * $9)
    if ($3 + 0 == 1) { diff = "(reference)"; ci = "-" }
    printf "| %s | %s | %s | %s | " fmt " | %s | %s | %s |\n", $1, $2, $3, $4, f * $5, sd, diff, ci
}' "$1"
