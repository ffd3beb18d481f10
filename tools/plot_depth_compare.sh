#!/usr/bin/env bash
# Runs of `./simulate depth` side by side in one PNG: mean cosine, order, the shares of
# clustered and antipodal pairs, and the number of clusters, per layer, one colour per run
# (mean over draws; band: +-2 standard errors).
#   tools/plot_depth_compare.sh OUT.png DIR1 LABEL1 [DIR2 LABEL2 ...]
# Writes OUT.png and nothing else (e.g. runs/depth-compare.png; its directory must exist).
# No path or label becomes gnuplot program text: the runs are copied to fixed names in a
# temporary directory (each label as the header of column 2) and gnuplot reads those.
set -euo pipefail
if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
  echo "usage: $0 OUT.png DIR1 LABEL1 [DIR2 LABEL2 ...]" >&2
  exit 2
fi
command -v gnuplot >/dev/null || { echo "$0: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
dest=$1; shift
[ -d "$(dirname -- "$dest")" ] || { echo "$0: $dest: the directory $(dirname -- "$dest") does not exist" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while [ $# -gt 0 ]; do
  [ -f "$1/depth.csv" ] || { echo "$0: $1/depth.csv: no such file (a ./simulate depth run?)" >&2; exit 1; }
  n=$((n + 1))
  # the label as column 2's header: separators and quotes would split or end the field
  label=$(printf '%s' "$2" | tr ',"\n\r\t' "     ")
  LABEL=$label awk -F, -v OFS=, 'NR == 1 { $2 = ENVIRON["LABEL"] } { print }' "$1/depth.csv" > "$tmp/run$n.csv"
  shift 2
done

# plot clause for depth.csv column COL (mean; COL+1 is its standard error) of every run,
# DASH dash type, KEY 1 to title the curves with the labels
curves() {
  local col=$1 dash=${2:-1} key=${3:-0} title=notitle
  [ "$key" = 1 ] && title='title columnheader(2)'
  printf "for [i=1:$n] sprintf('run%%d.csv', i) using 1:(\$%d-2*\$%d):(\$%d+2*\$%d) with filledcurves fs transparent solid 0.2 noborder lc i notitle, " \
    "$col" $((col + 1)) "$col" $((col + 1))
  printf "for [i=1:$n] sprintf('run%%d.csv', i) using 1:%d with lines lw 2 dt %d lc i %s" "$col" "$dash" "$title"
}

(cd "$tmp" && gnuplot) <<GP
set terminal pngcairo size 1100,800 font 'sans,10' noenhanced
set output 'out.png'
set datafile separator ','
set multiplot layout 2,2
set grid; set xlabel 'layer'; set autoscale xfix; set key center right
set title 'mean cosine between tokens (band: +-2 s.e. over draws)'; set yrange [-0.05:1.05]
plot $(curves 2 1 1)
set title 'order |mean_i u_i|'
plot $(curves 10)
set title 'pairs clustered (solid) and antipodal (dashed), delta of the runs'
plot $(curves 6 1), $(curves 8 2)
set title 'clusters (single linkage, delta)'; set yrange [0:*]
plot $(curves 12)
unset multiplot
GP
mv -- "$tmp/out.png" "$dest"
echo "$dest"
