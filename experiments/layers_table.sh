#!/usr/bin/env bash
# Claim 2 in numbers: the clustering metrics of the first, middle and last layer, at
# initialization (update 0) and after training (the last update with metrics), averaged
# over the finished seeds of every (dataset, depth, noise) of a sweep.
#   OUT/layers.csv  dataset,depth,noise,runs,layer,mean_cos_init,mean_cos_trained,
#                   stable_rank_init,stable_rank_trained
#   stdout          the same as a markdown table
# Layer l is the output of layer l (0 = the embedding), as in clusters.csv.
# Usage: experiments/layers_table.sh OUT   (needs OUT/summary.csv and the runs' clusters.csv)
set -euo pipefail
[ $# = 1 ] && [ -r "$1/summary.csv" ] || {
    echo "usage: experiments/layers_table.sh OUT (OUT/summary.csv must exist)" >&2; exit 2; }
out=$1

# one line per finished run: "dataset depth noise runs/NAME/clusters.csv" (relative to OUT:
# awk -v would mangle a backslash in the OUT path)
runs=$(awk -F, 'NR > 1 && $5 != "" { print $1, $2, $3, "runs/" $7 "/clusters.csv" }' \
    "$out/summary.csv")
[ -n "$runs" ] || { echo "layers_table.sh: no finished run in $out/summary.csv" >&2; exit 1; }

while read -r ds L ns f; do
    # clusters.csv: step,layer,mean_cos,mean_abs_cos,frac_clustered,frac_antipodal,order,
    # n_clusters,stable_rank; keep layers 1, L/2 and L at the first and the last step
    awk -F, -v ds="$ds" -v L="$L" -v ns="$ns" '
        FNR == 1 { next }
        { last = $1 }
        $2 == 1 || $2 == int(L / 2) || $2 == L { key[NR] = $2; step[NR] = $1; mc[NR] = $3; sr[NR] = $9 }
        END {
            for (r in key) {
                if (step[r] == 0) { mi[key[r]] = mc[r]; si[key[r]] = sr[r] }
                if (step[r] == last) { mt[key[r]] = mc[r]; st[key[r]] = sr[r] }
            }
            for (l in mi) print ds, L, ns, l, mi[l], mt[l], si[l], st[l]
        }' "$out/$f"
done <<<"$runs" | awk -v OFS=, '
    { k = $1 OFS $2 OFS $3 OFS $4
      if (!(k in n)) order[++nk] = k
      n[k]++; a[k] += $5; b[k] += $6; c[k] += $7; d[k] += $8 }
    END {
        print "dataset,depth,noise,runs,layer,mean_cos_init,mean_cos_trained,stable_rank_init,stable_rank_trained"
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, p, OFS)
            printf "%s,%s,%s,%d,%s,%.4f,%.4f,%.3f,%.3f\n", p[1], p[2], p[3], n[k], p[4],
                   a[k] / n[k], b[k] / n[k], c[k] / n[k], d[k] / n[k]
        }
    }' | { read -r header; echo "$header"; sort -t, -k1,1 -k2,2n -k3,3g -k5,5n; } > "$out/layers.csv"

awk -F, '
NR == 1 { print "| dataset | L | noise-scale | runs | layer | mean cos, init | mean cos, trained | stable rank, init | stable rank, trained |"
          print "|---|---|---|---|---|---|---|---|---|"; next }
{ printf "| %s | %s | %s | %s | %s | %.3f | %.3f | %.2f | %.2f |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }
' "$out/layers.csv"
