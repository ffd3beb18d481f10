# Aggregates one number per run of a sweep (the final test accuracy unless -v value=COLUMN
# names another column, e.g. train_loss_end) into one row per setting.
#
# Input (CSV with header): dataset,depth,noise,seed,test_acc[,...] -- one row per run.
# Output (CSV on stdout): dataset,depth,noise,n,mean,sd,diff,ci_lo,ci_hi,df
#   mean, sd   sample mean and sample standard deviation (n-1) of the value over seeds;
#   diff       mean(this noise) - mean(noise 1) at the same dataset and depth;
#   ci_lo/hi   95% Welch t interval of that difference: diff +- t(0.975, df) * se,
#              se = sqrt(sd1^2/n1 + sd2^2/n2), df the Welch-Satterthwaite df;
#              t from a table for df 1..30 interpolated linearly in 1/df (normal 1.96
#              beyond); empty when either side has fewer than 2 runs (no sd).
# Rows come out sorted by dataset, depth, noise (numerically) so the table is stable.
BEGIN {
    FS = ","; OFS = ","
    if (value == "") value = "test_acc"
    # t(0.975, df) for df = 1..30: two-sided 95% quantiles of Student's t.
    split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 " \
          "2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086 " \
          "2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042", T, " ")
}
function tq(df,    lo, hi, w) {
    if (df >= 30) {          # between 30 and infinity: linear in 1/df towards 1.96
        w = (1 / df) / (1 / 30)
        return 1.959964 + w * (T[30] - 1.959964)
    }
    if (df <= 1) return T[1]
    lo = int(df); hi = lo + 1
    if (lo == df) return T[lo]
    w = (1 / df - 1 / hi) / (1 / lo - 1 / hi)   # interpolation weight in 1/df
    return T[hi] + w * (T[lo] - T[hi])
}
NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    if (!("dataset" in col) || !("depth" in col) || !("noise" in col) || !(value in col)) {
        print "aggregate.awk: header needs dataset,depth,noise," value > "/dev/stderr"; exit 2
    }
    next
}
$0 != "" {
    v = $(col[value])
    if (v == "" || v == "nan") next       # unfinished run: not counted
    k = $(col["dataset"]) SUBSEP ($(col["depth"]) + 0) SUBSEP ($(col["noise"]) + 0)
    if (!(k in n)) keys[++nk] = k
    n[k]++; s[k] += v; vals[k, n[k]] = v
}
END {
    if (nk == 0) exit
    # mean and sd (two-pass for accuracy: sum of squared deviations from the mean)
    for (i = 1; i <= nk; i++) {
        k = keys[i]; m[k] = s[k] / n[k]; dev = 0
        for (j = 1; j <= n[k]; j++) dev += (vals[k, j] - m[k]) ^ 2
        sd[k] = n[k] > 1 ? sqrt(dev / (n[k] - 1)) : ""
    }
    # sort keys by dataset, depth, noise (insertion sort; a few dozen rows)
    for (i = 2; i <= nk; i++) {
        x = keys[i]; j = i - 1
        while (j >= 1 && before(x, keys[j])) { keys[j + 1] = keys[j]; j-- }
        keys[j + 1] = x
    }
    print "dataset,depth,noise,n,mean,sd,diff,ci_lo,ci_hi,df"
    for (i = 1; i <= nk; i++) {
        k = keys[i]; split(k, p, SUBSEP)
        ref = p[1] SUBSEP p[2] SUBSEP 1
        diff = lo = hi = df = ""
        if (ref in n) {
            diff = sprintf("%.6f", m[k] - m[ref])
            if (k == ref) { lo = hi = "0.000000"; df = "" }
            else if (n[k] > 1 && n[ref] > 1) {
                a = sd[k] ^ 2 / n[k]; b = sd[ref] ^ 2 / n[ref]; se = sqrt(a + b)
                if (se > 0) df = (a + b) ^ 2 / (a ^ 2 / (n[k] - 1) + b ^ 2 / (n[ref] - 1))
                else df = n[k] + n[ref] - 2     # both sds 0: interval has width 0
                t = tq(df)
                lo = sprintf("%.6f", diff - t * se); hi = sprintf("%.6f", diff + t * se)
                df = sprintf("%.2f", df)
            }
        }
        printf "%s,%d,%s,%d,%.6f,%s,%s,%s,%s,%s\n", p[1], p[2], p[3], n[k], m[k],
               sd[k] == "" ? "" : sprintf("%.6f", sd[k]), diff, lo, hi, df
    }
}
function before(a, b,    pa, pb) {
    split(a, pa, SUBSEP); split(b, pb, SUBSEP)
    if (pa[1] != pb[1]) return pa[1] < pb[1]
    if (pa[2] + 0 != pb[2] + 0) return pa[2] + 0 < pb[2] + 0
    return pa[3] + 0 < pb[3] + 0
}
