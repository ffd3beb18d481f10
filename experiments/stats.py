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
