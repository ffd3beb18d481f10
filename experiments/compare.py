#!/usr/bin/python3
"""Two runs of ./train side by side: the settings that differ, the final test accuracy,
test loss and training loss of each and their difference, the last layer's clustering at
initialization and at the end, and compare.png (loss curves, accuracy, per-layer mean cos
at the last clustering step of both).

Reads RUN/config.json, train.csv, eval.csv and clusters.csv (docs/RUNS.md) by column name.
Accuracy is a fraction in the CSV files and percent here. A directory that is not a run,
or a file that cannot be read, is one line on stderr and exit 2, with nothing written.

Usage: experiments/compare.py RUN_A RUN_B [--out DIR]   (--help)
"""
import json
import math
import os
import sys

import pandas as pd

import cli

# the columns each CSV must have (docs/RUNS.md)
COLUMNS = {"train.csv": ("step", "loss", "acc"), "eval.csv": ("step", "test_loss", "test_acc"),
           "clusters.csv": ("step", "layer", "mean_cos")}
# the last layer's clustering, as far as the file has these columns
METRICS = ("mean_cos", "order", "n_clusters", "stable_rank", "energy")
# settings that name the run rather than define it
NAMING = ("name", "run_dir")


class BadRun(Exception):
    """A run directory that cannot be compared: the message is the one line printed."""


def read_run(path):
    """{'config': dict, 'train', 'eval', 'clusters': DataFrame} of run directory path."""
    if not os.path.isdir(path):
        raise BadRun("%s: not a directory" % path)
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise BadRun("%s: not a run of ./train (no config.json)" % path)
    try:
        with open(os.path.join(path, "config.json")) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise BadRun("%s/config.json: cannot be read: %s" % (path, getattr(e, "strerror", None) or e))
    if not isinstance(config, dict):
        raise BadRun("%s/config.json: not a JSON object" % path)
    run = {"config": config, "path": path}
    for name, columns in COLUMNS.items():
        run[name.split(".")[0]] = read_csv(os.path.join(path, name), columns)
    return run


def read_csv(path, columns):
    """The rows of path, which must have the columns and at least one row of numbers."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise BadRun("%s: cannot be read: %s" % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise BadRun("%s: no column %s" % (path, ", ".join(missing)))
    if table.empty:
        raise BadRun("%s: no rows" % path)
    for c in columns:
        if not pd.api.types.is_numeric_dtype(table[c]):
            raise BadRun("%s: column %s is not numbers" % (path, c))
    return table


def differing_settings(a, b):
    """[(key, value in a, value in b)] of the settings that differ (absent: None)."""
    keys = [k for k in a if k not in NAMING] + [k for k in b if k not in a and k not in NAMING]
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


def finals(run):
    """Final test accuracy (percent), test loss and training loss (the last row of each)."""
    ev, tr = run["eval"].iloc[-1], run["train"].iloc[-1]
    return {"test accuracy (%)": 100 * ev["test_acc"], "test loss": ev["test_loss"],
            "training loss": tr["loss"]}


def last_layer(run, when):
    """The last layer's metrics at the first (when 'init') or last clustering step."""
    c = run["clusters"]
    layer = c["layer"].max()
    rows = c[c["layer"] == layer]
    row = rows.loc[rows["step"].idxmin() if when == "init" else rows["step"].idxmax()]
    return int(layer), int(row["step"]), {m: row[m] for m in METRICS if m in c.columns}


def setting_text(x):
    """A config.json value as text: numbers in 6 digits, strings quoted, a missing one named."""
    if x is None:
        return "(none)"
    if isinstance(x, float):
        return "%.6g" % x if math.isfinite(x) else str(x)
    return json.dumps(x) if isinstance(x, str) else str(x)


def report(a, b, label_a, label_b):
    """The printed comparison, as lines."""
    lines = ["A: %s" % label_a, "B: %s" % label_b, ""]
    diff = differing_settings(a["config"], b["config"])
    lines.append("settings that differ:" if diff else "settings: the same")
    lines += ["  %-20s A %-14s B %s" % (k, setting_text(va), setting_text(vb)) for k, va, vb in diff]
    fa, fb = finals(a), finals(b)
    lines += ["", "%-20s %12s %12s %12s" % ("at the end", "A", "B", "B - A")]
    lines += [("%-20s %12.{0}f %12.{0}f %+12.{0}f".format(2 if "%" in k else 4)) % (k, fa[k], fb[k], fb[k] - fa[k])
              for k in fa]
    for when in ("init", "end"):
        la, sa, ma = last_layer(a, when)
        lb, sb, mb = last_layer(b, when)
        lines += ["", "last layer %s (A: layer %d, step %d; B: layer %d, step %d)"
                  % ("at initialization" if when == "init" else "at the end", la, sa, lb, sb)]
        lines += ["  %-18s %12.4f %12.4f %+12.4f" % (m, ma[m], mb[m], mb[m] - ma[m]) for m in ma if m in mb]
    return lines


def plain(text):
    """text for a matplotlib label: a $ would start mathtext, so it is escaped."""
    return text.replace("$", r"\$")


def plot(a, b, label_a, label_b, path):
    """compare.png: losses, accuracy (percent), per-layer mean cos at the last clustering step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 (the layer axis: whole numbers)
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    for run, label, color in ((a, "A: " + label_a, "tab:blue"), (b, "B: " + label_b, "tab:orange")):
        tr, ev, cl = run["train"], run["eval"], run["clusters"]
        ax[0].plot(tr["step"], tr["loss"], color=color, alpha=0.5, label=plain(label + ", training (its batch)"))
        ax[0].plot(ev["step"], ev["test_loss"], "o-", color=color, label=plain(label + ", test"))
        ax[1].plot(ev["step"], 100 * ev["test_acc"], "o-", color=color, label=plain(label + ", test"))
        last = cl[cl["step"] == cl["step"].max()].sort_values("layer")
        ax[2].plot(last["layer"], last["mean_cos"], "o-", color=color,
                   label=plain("%s, update %d" % (label, last["step"].iloc[0])))
    ax[0].set(xlabel="update", ylabel="loss", title="loss")
    ax[1].set(xlabel="update", ylabel="test accuracy (%)", title="test accuracy")
    ax[2].set(xlabel="layer (0 = embedding)", ylabel="mean cosine between tokens", ylim=(-1.05, 1.05),
              title="mean cos per layer, last clustering step")
    ax[2].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for x in ax:
        x.grid(alpha=0.3)
        x.legend(fontsize=7)
    fig.tight_layout()
    tmp = path + ".tmp"
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def parse_args(argv):
    p = cli.Parser(prog="experiments/compare.py", description=__doc__.split("\n\n")[0])
    p.add_argument("run_a", metavar="RUN_A", help="a run directory of ./train")
    p.add_argument("run_b", metavar="RUN_B", help="another run directory")
    p.add_argument("--out", default=".", help="folder for compare.png (made if missing) [.]")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        a, b = read_run(args.run_a), read_run(args.run_b)
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise BadRun("%s: --out is not a folder" % args.out)
    except BadRun as e:
        print("experiments/compare.py: %s" % e, file=sys.stderr)
        return 2
    label_a, label_b = os.path.normpath(args.run_a), os.path.normpath(args.run_b)
    print("\n".join(report(a, b, label_a, label_b)))
    try:
        os.makedirs(args.out, exist_ok=True)
        plot(a, b, label_a, label_b, os.path.join(args.out, "compare.png"))
    except OSError as e:
        print("experiments/compare.py: %s: compare.png not written: %s" % (args.out, e.strerror or e), file=sys.stderr)
        return 1
    print("\nwrote %s" % os.path.join(args.out, "compare.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
