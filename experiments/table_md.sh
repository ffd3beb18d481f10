#!/usr/bin/env bash
# table.csv (experiments/aggregate.awk) -> markdown table on stdout, accuracies in %.
set -euo pipefail
[ $# = 1 ] && [ -r "$1" ] || { echo "usage: experiments/table_md.sh table.csv" >&2; exit 2; }
awk -F, '
NR == 1 { print "| dataset | L | noise-scale | runs | test acc. mean (%) | sd (%) | diff. to noise 1 (points) | 95% CI of diff. (Welch t) |"
          print "|---|---|---|---|---|---|---|---|"; next }
{
    sd = $6 == "" ? "-" : sprintf("%.2f", 100 * $6)
    diff = $7 == "" ? "-" : sprintf("%+.2f", 100 * $7)
    ci = $8 == "" ? "-" : sprintf("[%+.2f, %+.2f]", 100 * $8, 100 * $9)
    if ($3 + 0 == 1) { diff = "(reference)"; ci = "-" }
    printf "| %s | %s | %s | %s | %.2f | %s | %s | %s |\n", $1, $2, $3, $4, 100 * $5, sd, diff, ci
}' "$1"
