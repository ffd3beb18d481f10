"""What every report of experiments/ writes numbers with: one way to print a number that may
be missing (NaN or None) and an interval, so that the tables of every experiment read alike,
and one way to write a table of runs whose accuracy is in percent."""
import math


def fmt(x, f="%.2f", missing=""):
    """x formatted with f; `missing` where there is no number (None or NaN)."""
    return missing if x is None or (isinstance(x, float) and math.isnan(x)) else f % x


def interval(lo, hi, f):
    """'[lo, hi]' in format f, or '' where the interval is missing (fewer than 2 pairs)."""
    return "[%s, %s]" % (fmt(lo, f), fmt(hi, f)) if fmt(lo) else ""


def write_runs_csv(frame, path):
    """A table of runs to CSV with its test_acc, percent in the reports, named test_acc_pct:
    a column named test_acc is a fraction everywhere else (the run records' eval.csv)."""
    frame.rename(columns={"test_acc": "test_acc_pct"}).to_csv(path, index=False, float_format="%.6g")
