#!/usr/bin/env bash
# Runs of `./simulate depth` side by side in one PNG: mean cosine, order, the shares of
# clustered and antipodal pairs, and the number of clusters, per layer, one colour per run
# (mean over draws; band: +-2 standard errors).
#   tools/plot_depth_compare.sh OUT.png DIR1 LABEL1 [DIR2 LABEL2 ...]
set -euo pipefail
if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
  echo "usage: $0 OUT.png DIR1 LABEL1 [DIR2 LABEL2 ...]" >&2
  exit 2
fi
command -v gnuplot >/dev/null || { echo "$0: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
out=$1; shift
# No path or label becomes gnuplot text: the runs' depth.csv files are copied under fixed
# names into a temporary directory where gnuplot runs, and the labels are quoted (gq).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
labels=(); n=0
while [ $# -gt 0 ]; do
  [ -f "$1/depth.csv" ] || { echo "$0: $1/depth.csv: no such file (a ./simulate depth run?)" >&2; exit 1; }
  cp -- "$1/depth.csv" "$tmp/run$n.csv"; labels+=("$2"); n=$((n + 1)); shift 2
done

# gq TEXT: TEXT as a gnuplot single-quoted string, which expands nothing ('' is a quote);
# control characters (a newline would end the command) become '?'
gq() {
  local t=${1//\'/\'\'}
  printf "'%s'" "$(printf '%s' "$t" | tr '[:cntrl:]' '?')"
}

# plot command for depth.csv column COL (mean; COL+1 is its standard error), DASH dash type,
# KEY 1 to title the curves with the labels
curves() {
  local col=$1 dash=${2:-1} key=${3:-0} first=1 i title
  for i in "${!labels[@]}"; do
    [ $first = 1 ] || printf ', '
    first=0
    printf "'run%d.csv' using 1:(\$%d-2*\$%d):(\$%d+2*\$%d) with filledcurves fs transparent solid 0.2 noborder lc %d notitle, " \
      "$i" "$col" $((col + 1)) "$col" $((col + 1)) $((i + 1))
    if [ "$key" = 1 ]; then title="title $(gq "${labels[$i]}")"; else title=notitle; fi
    printf "'' using 1:%d with lines lw 2 dt %d lc %d %s" "$col" "$dash" $((i + 1)) "$title"
  done
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
cp -- "$tmp/out.png" "$out"
echo "$out"
