"""The statistics of the sweeps, on scipy's exact distributions (no hand-made tables).

paired(diffs): runs that share a seed share Q, K, embeddings and data order, so the
difference per seed removes the seed-to-seed spread; its mean, the 95% Student t interval
and the Wilcoxon signed-rank test. welch(a, b): the unpaired comparison, for designs
without pairing.
"""
import math
import warnings

import numpy as np
from scipy import stats


def t_quantile(p, df):
    """The p-quantile of Student's t with df degrees of freedom."""
    return float(stats.t.ppf(p, df))


def paired(diffs, level=0.95):
    """Mean of the per-seed differences, its `level` t interval, the two-sided Wilcoxon
    signed-rank p-value (exact distribution for small samples without ties, as scipy
    chooses) and the sd of the differences. NaN where n is too small to say."""
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    out = {"n": n, "mean": float(d.mean()) if n else math.nan, "sd": math.nan,
           "lo": math.nan, "hi": math.nan, "p_wilcoxon": math.nan, "w_stat": math.nan}
    if n >= 2:
        out["sd"] = float(d.std(ddof=1))
        half = t_quantile(0.5 + level / 2, n - 1) * out["sd"] / math.sqrt(n)
        out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    if n >= 1 and np.any(d != 0):
        with warnings.catch_warnings():   # scipy says when it leaves the exact distribution
            warnings.simplefilter("ignore")
            w = stats.wilcoxon(d)
        out["p_wilcoxon"], out["w_stat"] = float(w.pvalue), float(w.statistic)
    return out


def welch(a, b, level=0.95):
    """Mean of b minus mean of a, the Welch-Satterthwaite degrees of freedom and the
    `level` t interval, for two independent samples."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = t_quantile(0.5 + level / 2, df) * se
    return {"diff": diff, "df": float(df), "lo": diff - half, "hi": diff + half}


def half_width(sd, n, level=0.95):
    """Half the width of the t interval of a mean of n values with this sd: the smallest
    effect a design of n pairs resolves from zero."""
    return t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n) if n >= 2 else math.nan


def wilcoxon_tied(diffs, resolution):
    """Two-sided Wilcoxon signed-rank p of paired differences measured to `resolution` (an
    accuracy over 10,000 test images moves in steps of 0.01 points): the differences are
    rounded to whole multiples of it first, so that equal differences tie exactly; zeros are
    dropped (Wilcoxon's treatment). Without ties or zeros scipy's exact distribution (n <= 50),
    else its normal approximation with the tie correction of the variance. NaN if every
    difference is zero or there are none."""
    k = np.rint(np.asarray(diffs, dtype=float) / resolution)
    nonzero = k[k != 0]
    if not len(nonzero):
        return math.nan
    ties = len(np.unique(np.abs(nonzero))) < len(nonzero) or len(nonzero) < len(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = stats.wilcoxon(k, zero_method="wilcox", correction=False,
                           method="approx" if ties or len(k) > 50 else "exact")
    return float(w.pvalue)


def holm(pvalues):
    """Holm's step-down adjusted p-values, in the given order; NaN entries are no test and
    stay NaN (they do not count in the number of tests)."""
    p = np.asarray(pvalues, dtype=float)
    idx = [i for i in np.argsort(p, kind="stable") if not math.isnan(p[i])]
    m = len(idx)
    out = np.full(len(p), math.nan)
    running = 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def spearman(x, y):
    """Spearman's rank correlation (ties get average ranks) and its two-sided p (scipy's
    t approximation); NaN with fewer than 3 points or a constant variable."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan, math.nan
    r = stats.spearmanr(x, y)
    return float(r.correlation), float(r.pvalue)
