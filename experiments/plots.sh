#!/usr/bin/env bash
# Plots of a finished sweep (experiments/sweep.sh), with gnuplot, into OUT/:
#   accuracy_vs_noise.png       final test accuracy (mean +- sd over seeds) vs noise-scale,
#                               one line per depth, one panel per dataset
#   heatmap_ns0.png, _ns1.png   mean_cos of the probe batch over (update, layer), averaged
#                               over seeds; rows = depths, columns = datasets; both files
#                               share one colour range so they compare
#   layers_init_vs_trained.png  per-layer mean_cos at update 0 and at the last update,
#                               noise-scale 0 and 1, averaged over seeds; rows = datasets,
#                               columns = depths
#   loss_curves.png             training loss (train.csv) over updates, averaged over seeds,
#                               a line per noise-scale; rows = datasets, columns = depths
# Only finished runs count (those with a test_acc in summary.csv), so a partial sweep
# (sweep.sh --report) plots what it has.
# Usage: experiments/plots.sh OUT   (needs OUT/summary.csv, table.csv, runs/)
set -euo pipefail
[ $# = 1 ] && [ -r "$1/summary.csv" ] && [ -r "$1/table.csv" ] || {
    echo "usage: experiments/plots.sh OUT (OUT/summary.csv and table.csv must exist)" >&2; exit 2; }
out=$1; pd="$out/plotdata"; mkdir -p "$pd"
# summary.csv: dataset,depth,noise,seed,test_acc,steps,name
datasets=$(awk -F, 'NR > 1 && $5 != "" && !seen[$1]++ { print $1 }' "$out/summary.csv")
depths=$(awk -F, 'NR > 1 && $5 != "" { print $2 }' "$out/summary.csv" | sort -nu)
[ -n "$datasets" ] || { echo "plots.sh: no finished run in $out/summary.csv" >&2; exit 1; }
nds=$(wc -w <<<"$datasets"); ndp=$(wc -w <<<"$depths")

# A panel with a note instead of lines (gnuplot refuses a plot with no point), for a
# setting with no finished run yet (its ranges suit a log scale too).
empty_panel() {
    printf '%s\n' "set label 1 'no finished run yet' at graph 0.5, graph 0.5 center" \
        "plot [0:1] [1:10] 100 notitle" "unset label 1"
}

# panel TITLE LINES: one panel's gnuplot text; a note instead when LINES is empty
panel() {
    echo "set title '$1'"
    if [ -n "$2" ]; then echo "plot $2"; else empty_panel; fi
}

# rel FILE: the name of plotdata/FILE as gnuplot sees it. gnuplot runs in OUT (grid_png),
# so the path of OUT, which the user chose, never becomes gnuplot text.
rel() { printf 'plotdata/%s' "${1##*/}"; }

# grid_png NAME ROWS COLS PANEL_W PANEL_H SETUP PANELS: OUT/NAME, one PNG of ROWS x COLS
# gnuplot panels; SETUP is gnuplot commands for every panel, PANELS one title + plot each.
grid_png() {
    (cd "$out" && gnuplot) <<GP
set terminal pngcairo size $(($4 * $3)),$(($5 * $2)) font ',10'
set output '$1'
set multiplot layout $2,$3
$6
$7
unset multiplot
GP
}

# Seed-average of clusters.csv's mean_cos for one (dataset, depth, noise): "step layer mean"
# sorted by step then layer, a blank line between steps (one scan per update).
avg_clusters() {  # dataset depth noise -> file
    local files
    # run names (no spaces) relative to OUT, so that any OUT path works
    files=$(awk -F, -v ds="$1" -v L="$2" -v ns="$3" \
        'NR > 1 && $1 == ds && $2 == L && $3 + 0 == ns + 0 && $5 != "" { print "runs/" $7 "/clusters.csv" }' \
        "$out/summary.csv")
    [ -n "$files" ] || return 1
    # shellcheck disable=SC2086
    (cd "$out" && awk -F, 'FNR > 1 { k = $1 " " $2; s[k] += $3; n[k]++ }
        END { for (k in s) { split(k, p, " "); printf "%d %d %.6f\n", p[1], p[2], s[k] / n[k] } }' $files) |
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
        [ -s "$f" ] || continue
        lines="$lines${lines:+, }'$(rel "$f")' using 1:2:3 with yerrorlines lw 2 pt 7 title 'L $L'"
    done
    plot="$plot
$(panel "$ds: final test accuracy (mean +- sd over seeds)" "$lines")"
done
grid_png "accuracy_vs_noise.png" 1 "$nds" 560 420 \
    "set xlabel 'noise-scale of V at initialization'; set ylabel 'test accuracy (%)'
set key bottom right; set grid; set offsets 0.1, 0.1, 0, 0" "$plot"

# ---- heatmaps, noise 0 and 1, a panel per (depth, dataset), one shared colour range ----
for ns in 0 1; do for L in $depths; do for ds in $datasets; do
    f="$pd/heat_${ds}_L${L}_ns$ns.dat"
    avg_clusters "$ds" "$L" "$ns" > "$f" || : > "$f"
done; done; done
range=$(cat "$pd"/heat_*_ns[01].dat | awk 'NF == 3 { if (n++ == 0 || $3 < lo) lo = $3; if (n == 1 || $3 > hi) hi = $3 }
    END { if (lo > 0) lo = 0; if (hi <= lo) hi = lo + 1; printf "%g:%g", lo, hi }')
for ns in 0 1; do
    plot=""
    for L in $depths; do for ds in $datasets; do
        f="$pd/heat_${ds}_L${L}_ns$ns.dat"
        lines=""; [ -s "$f" ] && lines="'$(rel "$f")' using 1:2:3 with image notitle"
        plot="$plot
$(panel "$ds, L $L, noise-scale $ns: mean cos between tokens" "$lines")"
    done; done
    grid_png "heatmap_ns$ns.png" "$ndp" "$nds" 560 420 \
        "set cbrange [$range]; set palette rgb 33,13,10
set xlabel 'training update'; set ylabel 'layer (0 = embedding)'
set autoscale xfix; set autoscale yfix" "$plot"
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
        lines="$lines${lines:+, }'$(rel "$f")' using (\$1 == 0 ? \$2 : 1/0):3 with lines lw 2 dt 2 lc $dash title 'ns $ns, update 0'"
        lines="$lines, '$(rel "$f")' using (\$1 == $last ? \$2 : 1/0):3 with lines lw 2 dt 1 lc $dash title 'ns $ns, update $last'"
    done
    plot="$plot
$(panel "$ds, L $L" "$lines")"
done; done
grid_png "layers_init_vs_trained.png" "$nds" "$ndp" 520 380 \
    "set xlabel 'layer (0 = embedding)'; set ylabel 'mean cos between tokens'
set key top left; set grid" "$plot"

# ---- training loss over updates, a line per noise scale ----
plot=""
for ds in $datasets; do for L in $depths; do
    lines=""; lc=0
    for ns in $(awk -F, -v ds="$ds" -v L="$L" 'NR > 1 && $5 != "" && $1 == ds && $2 == L { print $3 }' \
                "$out/summary.csv" | sort -gu); do
        f="$pd/loss_${ds}_L${L}_ns$ns.dat"
        files=$(awk -F, -v ds="$ds" -v L="$L" -v ns="$ns" \
            'NR > 1 && $5 != "" && $1 == ds && $2 == L && $3 == ns { print "runs/" $7 "/train.csv" }' \
            "$out/summary.csv")
        # train.csv: step,epoch,loss,...: the mean loss over seeds at each logged step
        # shellcheck disable=SC2086
        (cd "$out" && awk -F, 'FNR > 1 { s[$1] += $3; n[$1]++ } END { for (k in s) printf "%d %.6f\n", k, s[k] / n[k] }' \
            $files) | sort -n > "$f"
        lc=$((lc + 1))
        lines="$lines${lines:+, }'$(rel "$f")' using 1:2 with lines lw 2 lc $lc title 'noise $ns'"
    done
    plot="$plot
$(panel "$ds, L $L: training loss (mean over seeds)" "$lines")"
done; done
grid_png "loss_curves.png" "$nds" "$ndp" 520 380 \
    "set xlabel 'training update'; set ylabel 'training loss (batch)'
set logscale y; set key top right; set grid" "$plot"
