#!/usr/bin/env bash
# Plots of a finished sweep (experiments/sweep.sh), with gnuplot, into OUT/:
#   accuracy_vs_noise.png       final test accuracy (mean +- sd over seeds) vs noise-scale,
#                               one line per depth, one panel per dataset
#   heatmap_ns0.png, _ns1.png   mean_cos of the probe batch over (update, layer), averaged
#                               over seeds, at depth HEAT_DEPTH, one panel per dataset;
#                               both files share one colour range so they compare
#   layers_init_vs_trained.png  per-layer mean_cos at update 0 and at the last update,
#                               noise-scale 0 and 1, averaged over seeds; rows = datasets,
#                               columns = depths
# Usage: experiments/plots.sh OUT HEAT_DEPTH   (needs OUT/plan.tsv, table.csv, runs/)
set -euo pipefail
[ $# = 2 ] && [ -r "$1/plan.tsv" ] && [ -r "$1/table.csv" ] || {
    echo "usage: experiments/plots.sh OUT HEAT_DEPTH (OUT/plan.tsv and table.csv must exist)" >&2; exit 2; }
out=$1; hd=$2; pd="$out/plotdata"; mkdir -p "$pd"
datasets=$(cut -f2 "$out/plan.tsv" | awk '!seen[$0]++')
depths=$(cut -f3 "$out/plan.tsv" | sort -nu)
nds=$(wc -w <<<"$datasets"); ndp=$(wc -w <<<"$depths")

# Seed-average of clusters.csv's mean_cos for one (dataset, depth, noise): "step layer mean"
# sorted by step then layer, a blank line between steps (one scan per update).
avg_clusters() {  # dataset depth noise -> file
    local files
    files=$(awk -F'\t' -v ds="$1" -v L="$2" -v ns="$3" -v o="$out" \
        '$2 == ds && $3 == L && $4 + 0 == ns + 0 { print o "/runs/" $1 "/clusters.csv" }' "$out/plan.tsv")
    [ -n "$files" ] || return 1
    # shellcheck disable=SC2086
    awk -F, 'FNR > 1 { k = $1 " " $2; s[k] += $3; n[k]++ }
        END { for (k in s) { split(k, p, " "); printf "%d %d %.6f\n", p[1], p[2], s[k] / n[k] } }' $files |
        sort -k1,1n -k2,2n | awk 'NR > 1 && $1 != prev { print "" } { print; prev = $1 }'
}

# ---- accuracy vs noise ----
plot=""; i=0
for ds in $datasets; do
    i=$((i + 1)); lines=""
    for L in $depths; do
        f="$pd/acc_${ds}_L$L.dat"
        awk -F, -v ds="$ds" -v L="$L" 'NR > 1 && $1 == ds && $2 == L {
            printf "%s %.4f %.4f\n", $3, 100 * $5, ($6 == "" ? 0 : 100 * $6) }' "$out/table.csv" > "$f"
        lines="$lines${lines:+, }'$f' using 1:2:3 with yerrorlines lw 2 pt 7 title 'L $L'"
    done
    plot="$plot
set title '$ds: final test accuracy (mean +- sd over seeds)'
plot $lines"
done
gnuplot <<GP
set terminal pngcairo size $((560 * nds)),420 font ',10'
set output '$out/accuracy_vs_noise.png'
set multiplot layout 1,$nds
set xlabel 'noise-scale of V at initialization'; set ylabel 'test accuracy (%)'
set key bottom right; set grid; set offsets 0.1, 0.1, 0, 0
$plot
unset multiplot
GP

# ---- heatmaps at depth hd, noise 0 and 1, one shared colour range ----
for ns in 0 1; do for ds in $datasets; do
    avg_clusters "$ds" "$hd" "$ns" > "$pd/heat_${ds}_ns$ns.dat" || : > "$pd/heat_${ds}_ns$ns.dat"
done; done
range=$(cat "$pd"/heat_*_ns[01].dat | awk 'NF == 3 { if (n++ == 0 || $3 < lo) lo = $3; if (n == 1 || $3 > hi) hi = $3 }
    END { if (lo > 0) lo = 0; if (hi <= lo) hi = lo + 1; printf "%g:%g", lo, hi }')
for ns in 0 1; do
    plot=""
    for ds in $datasets; do
        f="$pd/heat_${ds}_ns$ns.dat"; [ -s "$f" ] || continue
        plot="$plot
set title '$ds, L $hd, noise-scale $ns: mean cos between tokens'
plot '$f' using 1:2:3 with image notitle"
    done
    [ -n "$plot" ] || continue
    gnuplot <<GP
set terminal pngcairo size $((560 * nds)),420 font ',10'
set output '$out/heatmap_ns$ns.png'
set multiplot layout 1,$nds
set cbrange [$range]
set palette rgb 33,13,10
set xlabel 'training update'; set ylabel 'layer (0 = embedding)'
set autoscale xfix; set autoscale yfix
$plot
unset multiplot
GP
done

# ---- per layer: update 0 vs last update, noise 0 and 1 ----
plot=""
for ds in $datasets; do for L in $depths; do
    lines=""
    for ns in 0 1; do
        f="$pd/layers_${ds}_L${L}_ns$ns.dat"
        avg_clusters "$ds" "$L" "$ns" > "$f" || continue
        # the last update with metrics (the first is 0)
        last=$(awk 'NF == 3 { l = $1 } END { print l }' "$f")
        dash=$([ $ns = 0 ] && echo 1 || echo 2)
        lines="$lines${lines:+, }'$f' using (\$1 == 0 ? \$2 : 1/0):3 with lines lw 2 dt 2 lc $dash title 'ns $ns, update 0'"
        lines="$lines, '$f' using (\$1 == $last ? \$2 : 1/0):3 with lines lw 2 dt 1 lc $dash title 'ns $ns, update $last'"
    done
    [ -n "$lines" ] || lines="1/0 notitle"
    plot="$plot
set title '$ds, L $L'
plot $lines"
done; done
gnuplot <<GP
set terminal pngcairo size $((520 * ndp)),$((380 * nds)) font ',10'
set output '$out/layers_init_vs_trained.png'
set multiplot layout $nds,$ndp
set xlabel 'layer (0 = embedding)'; set ylabel 'mean cos between tokens'
set key top left; set grid
$plot
unset multiplot
GP
