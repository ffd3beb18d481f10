#!/usr/bin/python3
"""Training-induced escape from clustering in the setting of the
mean-field paper: fixed random attention, a feed-forward block linear in its trained
parameters (random features W1 frozen, W2 trained), L2 regularization, and a start whose
last layers are clustered; against the same start with every tensor trained.

Runs the runs that have no record yet (through the sweep's local engine: one thread each, a run
with a checkpoint is resumed, each finished run leaves results/escape/runs/NAME/ with its
config.json, summary.json and CSV logs), then writes the report into results/escape/:
layers.csv, last_layers.csv/.md, layers.png, heatmaps_*.png, summary.csv.

Usage: experiments/escape.py [--seeds 1-3] [--jobs 2] [--dry-run | --report]   (--help)
"""
import math
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import cli
import stats
from report import fmt, write_runs_csv
from build import snapshot_binary
from estimate import hms
from local_engine import Sweep
from plan import ROOT, UsageError, make_run, parse_seeds
from records import record_done, record_exists, report_unusable

# The clustered start (docs/RESULTS.md, claim 2 in the escape setting): ./simulate depth with these flags puts the last
# layers of the untrained model in one cluster. The task is Fashion-MNIST, 16 tokens.
MODEL = ["--dataset", "fashion-mnist", "--d", "32", "--layers", "24", "--mlp", "64",
         "--value-mean", "1"]
TRAINING = ["--optimizer", "adam", "--lr", "1e-3", "--warmup", "50", "--batch", "64",
            "--log-every", "25", "--probe-size", "128"]
NOISE, LAYERS = 1.0, 24
# paper: attention and the MLP's first matrix fixed at random, embedding fixed too, so only
# W2 (linear in the output) and the classifier learn; contrast: everything trained
CELLS = {"rf": ["--freeze", "embed,pos,q,k,v,w1"], "all": []}
WEIGHT_DECAYS = (0.0, 0.01, 0.1)
LAST = 4                  # "the last layers": L-3 .. L
ONE_CLUSTER = 2.0         # n_clusters at or below this: (nearly) one cluster
METRICS = ("mean_cos", "n_clusters", "stable_rank", "energy")   # energy only if logged


def escape_runs(seeds, steps):
    """Seed after seed (a partial experiment covers every cell), the paper's cell first."""
    runs = []
    for seed in seeds:
        for wd in WEIGHT_DECAYS:
            for cell, flags in CELLS.items():
                runs.append(make_run("%s-wd%g-s%d" % (cell, wd, seed), cell, NOISE, seed, steps,
                                     MODEL + TRAINING + flags + ["--weight-decay", "%g" % wd], len(runs), wd=wd))
    return runs


# ---- the report ------------------------------------------------------------------------

def load(out, runs):
    """One row per (run, step, layer) of clusters.csv, and one row per run."""
    frames, rows = [], []
    for r in runs:
        d = os.path.join(out, "runs", r["name"])
        if not record_done(out, r):
            continue
        cl = pd.read_csv(os.path.join(d, "clusters.csv"))
        cols = ["step", "layer"] + [m for m in METRICS if m in cl.columns]
        cl = cl[cols].assign(cell=r["cell"], wd=r["wd"], seed=r["seed"])
        frames.append(cl)
        ev = pd.read_csv(os.path.join(d, "eval.csv"))
        summ = pd.read_json(os.path.join(d, "summary.json"), typ="series")
        rows.append({"cell": r["cell"], "wd": r["wd"], "seed": r["seed"], "name": r["name"],
                     "test_acc": 100 * float(ev["test_acc"].iloc[-1]),
                     "train_seconds": float(summ["train_seconds"]),
                     "ms_per_step": float(summ["ms_per_step"])})
    if not frames:
        return None, pd.DataFrame(rows)
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)


def metrics_in(cl):
    return [m for m in METRICS if m in cl.columns]


def init_vs_trained(cl):
    """Per run and layer: each metric at update 0 and at the run's last update."""
    last = cl.groupby(["cell", "wd", "seed"], sort=False)["step"].transform("max")
    keys = ["cell", "wd", "seed", "layer"]
    a = cl[cl["step"] == 0].set_index(keys)[metrics_in(cl)]
    b = cl[cl["step"] == last].set_index(keys)[metrics_in(cl)]
    return a.join(b, lsuffix="_init", rsuffix="_trained", sort=False).reset_index()


def interval_row(values):
    s = stats.paired(values)   # a one-sample t interval of the values (pairs are seeds)
    return s["mean"], s["lo"], s["hi"], s["n"]


def last_layers_table(iv, L):
    """Mean over the last LAST layers per run, then across seeds: init, trained and their
    paired difference (trained - init, per seed), each with its 95% t interval; the same
    for the last layer alone."""
    rows = []
    for where, sel in (("layers %d-%d" % (L - LAST + 1, L), iv["layer"] > L - LAST),
                       ("layer %d" % L, iv["layer"] == L)):
        per_run = iv[sel].groupby(["cell", "wd", "seed"], sort=False).mean(numeric_only=True).reset_index()
        for (cell, wd), g in per_run.groupby(["cell", "wd"], sort=False):
            for m in metrics_in_cols(iv):
                init, tr = g[m + "_init"].to_numpy(), g[m + "_trained"].to_numpy()
                i_m, i_lo, i_hi, n = interval_row(init)
                t_m, t_lo, t_hi, _ = interval_row(tr)
                d = stats.paired(tr - init)
                rows.append({"cell": cell, "wd": wd, "where": where, "metric": m, "seeds": n,
                             "init": i_m, "init_lo": i_lo, "init_hi": i_hi,
                             "trained": t_m, "trained_lo": t_lo, "trained_hi": t_hi,
                             "diff": d["mean"], "diff_lo": d["lo"], "diff_hi": d["hi"],
                             "p_wilcoxon": d["p_wilcoxon"]})
    return pd.DataFrame(rows)


def profile_table(iv, L):
    """Where the trained tokens are most aligned along depth: per run, the layer of the
    largest trained mean cos and how far the last layer falls below it (a turn near the
    end would be the paper's escape "near the final layers"), and 1 - mean cos at the last
    layer, trained over init (geometric mean, t interval of its log); across seeds with 95%
    t intervals."""
    rows = []
    for (cell, wd), g in iv.groupby(["cell", "wd"], sort=False):
        peak, drop, ratio, onset = [], [], [], {"init": [], "trained": []}
        for _, r in g.groupby("seed"):
            r = r.set_index("layer").sort_index()
            for when in onset:   # the first layer where the tokens are (nearly) one cluster
                hit = r.index[r["n_clusters_" + when] <= ONE_CLUSTER]
                onset[when].append("%d" % hit.min() if len(hit) else "-")
            peak.append(float(r["mean_cos_trained"].idxmax()))
            drop.append(float(r["mean_cos_trained"].max() - r.loc[L, "mean_cos_trained"]))
            ratio.append(float((1 - r.loc[L, "mean_cos_trained"]) / (1 - r.loc[L, "mean_cos_init"])))
        row = {"cell": cell, "wd": wd, "seeds": len(peak), "peak_layers": " ".join("%d" % p for p in peak),
               "onset_init": " ".join(onset["init"]), "onset_trained": " ".join(onset["trained"])}
        m, lo, hi, _ = interval_row(np.array(drop))
        row.update({"drop": m, "drop_lo": lo, "drop_hi": hi})
        # a ratio: its geometric mean, the t interval taken on the log scale
        m, lo, hi, _ = interval_row(np.log(np.array(ratio)))
        row.update({"ratio": math.exp(m), "ratio_lo": math.exp(lo) if not math.isnan(lo) else lo,
                    "ratio_hi": math.exp(hi) if not math.isnan(hi) else hi})
        rows.append(row)
    return pd.DataFrame(rows)


def metrics_in_cols(iv):
    return [m for m in METRICS if m + "_init" in iv.columns]


def write_md(t, summary, prof, path):
    cellname = {"rf": "paper: W2 + head trained", "all": "contrast: all trained"}
    f = {"mean_cos": "%.4f", "n_clusters": "%.2f", "stable_rank": "%.4f", "energy": "%.4f"}
    lines = ["| setting | weight decay | where | metric | seeds | init [95% CI] | trained [95% CI] "
             "| trained - init [95% CI] |", "|---|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        ff = f[r["metric"]]
        lines.append("| %s | %g | %s | %s | %d | %s [%s, %s] | %s [%s, %s] | %s [%s, %s] |" % (
            cellname.get(r["cell"], r["cell"]), r["wd"], r["where"], r["metric"], r["seeds"],
            fmt(r["init"], ff, "-"), fmt(r["init_lo"], ff, "-"), fmt(r["init_hi"], ff, "-"),
            fmt(r["trained"], ff, "-"), fmt(r["trained_lo"], ff, "-"), fmt(r["trained_hi"], ff, "-"),
            fmt(r["diff"], "%+" + ff[1:], "-"), fmt(r["diff_lo"], "%+" + ff[1:], "-"),
            fmt(r["diff_hi"], "%+" + ff[1:], "-")))
    lines += ["", "| setting | weight decay | seeds | layer of the largest trained mean cos, per seed "
              "| its mean cos - last layer's [95%% CI] | (1 - mean cos) at layer L, trained / init, geometric mean [95%% CI] "
              "| first layer with n_clusters <= %g, init / trained, per seed |" % ONE_CLUSTER,
              "|---|---|---|---|---|---|---|"]
    for _, r in prof.iterrows():
        lines.append("| %s | %g | %d | %s | %s [%s, %s] | %s [%s, %s] | %s / %s |" % (
            cellname.get(r["cell"], r["cell"]), r["wd"], r["seeds"], r["peak_layers"],
            fmt(r["drop"], "%.5f", "-"), fmt(r["drop_lo"], "%.5f", "-"), fmt(r["drop_hi"], "%.5f", "-"),
            fmt(r["ratio"], "%.2f", "-"), fmt(r["ratio_lo"], "%.2f", "-"), fmt(r["ratio_hi"], "%.2f", "-"),
            r["onset_init"], r["onset_trained"]))
    lines += ["", "| setting | weight decay | seeds | test acc. (%) mean [95% CI] | s per run |",
              "|---|---|---|---|---|"]
    for (cell, wd), g in summary.groupby(["cell", "wd"], sort=False):
        m, lo, hi, n = interval_row(g["test_acc"].to_numpy())
        lines.append("| %s | %g | %d | %.2f [%s, %s] | %.0f |" % (
            cellname.get(cell, cell), wd, n, m, fmt(lo, "%.2f", "-"), fmt(hi, "%.2f", "-"),
            g["train_seconds"].mean()))
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def plots(cl, iv, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    groups = list(iv.groupby(["cell", "wd"], sort=False).groups)
    # per layer, init vs trained, mean over seeds with the 95% t band
    ms = metrics_in_cols(iv)
    iv = iv.copy()   # 1 - mean cos on a log scale shows how far from one cluster
    for suffix in ("_init", "_trained"):
        iv["1 - mean_cos" + suffix] = 1 - iv["mean_cos" + suffix]
    ms = ms[:1] + ["1 - mean_cos"] + ms[1:]
    fig, axes = plt.subplots(1, len(ms), figsize=(4.5 * len(ms), 3.8))
    for ax, m in zip(np.atleast_1d(axes), ms):
        for k, (cell, wd) in enumerate(groups):
            g = iv[(iv["cell"] == cell) & (iv["wd"] == wd)]
            color = "C%d" % k
            for suffix, style in (("_trained", "-"), ("_init", ":")):
                if suffix == "_init" and k % len(WEIGHT_DECAYS):
                    continue   # one init curve per setting (the same start at every wd)
                rows = [interval_row(gl[m + suffix].to_numpy()) + (layer,)
                        for layer, gl in g.groupby("layer")]
                mean = np.array([r[0] for r in rows])
                lo, hi = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
                layer = np.array([r[4] for r in rows])
                ax.plot(layer, mean, style, color=color if suffix == "_trained" else "k",
                        label="%s wd %g" % (cell, wd) if suffix == "_trained" else "%s init" % cell)
                if suffix == "_trained":
                    ax.fill_between(layer, lo, hi, color=color, alpha=0.15)
        ax.set_xlabel("layer")
        ax.set_title(m)
        if m == "mean_cos":
            ax.set_ylim(-0.05, 1.02)
        if m == "1 - mean_cos":
            ax.set_yscale("log")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("per layer: initialization (dotted) and after training (solid); band: 95% t over seeds")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "layers.png"), dpi=110)
    plt.close(fig)
    # (update, layer) heatmaps, mean over seeds
    shown = {"mean_cos": ("log10(1 - mean cos)", lambda x: np.log10(np.maximum(1 - x, 1e-6))),
             "n_clusters": ("n_clusters", lambda x: x), "stable_rank": ("stable rank", lambda x: x),
             "energy": ("log10(1 - energy)", lambda x: np.log10(np.maximum(1 - x, 1e-6)))}
    for m in metrics_in(cl):
        title, tf = shown[m]
        mean = cl.groupby(["cell", "wd", "step", "layer"])[m].mean().reset_index()
        vals = tf(mean[m].to_numpy())
        vmin, vmax = np.nanmin(vals), np.nanmax(vals)
        fig, axes = plt.subplots(len(CELLS), len(WEIGHT_DECAYS), figsize=(4 * len(WEIGHT_DECAYS), 3.3 * len(CELLS)),
                                 squeeze=False, constrained_layout=True)
        for i, cell in enumerate(CELLS):
            for j, wd in enumerate(WEIGHT_DECAYS):
                ax = axes[i][j]
                g = mean[(mean["cell"] == cell) & (mean["wd"] == wd)]
                if g.empty:
                    ax.set_visible(False)
                    continue
                grid = g.pivot(index="layer", columns="step", values=m)
                im = ax.imshow(tf(grid.to_numpy()), origin="lower", aspect="auto", vmin=vmin, vmax=vmax,
                               extent=[grid.columns.min(), grid.columns.max(), -0.5, grid.index.max() + 0.5])
                ax.set_title("%s, wd %g" % (cell, wd), fontsize=9)
                ax.set_xlabel("update")
                ax.set_ylabel("layer")
        fig.colorbar(im, ax=axes, shrink=0.8, label=title)
        fig.suptitle("%s over (update, layer), mean over seeds" % title)
        fig.savefig(os.path.join(out, "heatmaps_%s.png" % m), dpi=110)
        plt.close(fig)


def report(out, runs):
    # scipy warns that 3 pairs are too few for a Wilcoxon p (it is still exact: >= 0.25)
    warnings.filterwarnings("ignore", category=UserWarning, module="scipy")
    cl, summary = load(out, runs)
    if cl is None:
        print("escape: no run recorded yet in %s" % out)
        return 0
    write_runs_csv(summary, os.path.join(out, "summary.csv"))
    order = {c: i for i, c in enumerate(CELLS)}   # the paper's setting first, then by wd
    cl = cl.sort_values(["cell", "wd", "seed", "step", "layer"], key=lambda c: c.map(order) if c.name == "cell" else c)
    iv = init_vs_trained(cl)
    iv.to_csv(os.path.join(out, "layers.csv"), index=False, float_format="%.6g")
    t = last_layers_table(iv, LAYERS)
    t.to_csv(os.path.join(out, "last_layers.csv"), index=False, float_format="%.6g")
    prof = profile_table(iv, LAYERS)
    prof.to_csv(os.path.join(out, "profile.csv"), index=False, float_format="%.6g")
    write_md(t, summary, prof, os.path.join(out, "last_layers.md"))
    plots(cl, iv, out)
    print("escape: %d runs recorded; wrote %s/{summary,layers,last_layers,profile}.csv, last_layers.md, "
          "layers.png, heatmaps_*.png" % (len(summary), out))
    return 0


# ---- the command -----------------------------------------------------------------------

def parse_args(argv):
    p = cli.Parser(prog="experiments/escape.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="1-3", help="seeds, e.g. 1-3 or 1,4 [1-3]")
    p.add_argument("--steps", type=int, default=500, help="updates per run [500]")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time [2]")
    p.add_argument("--nice", type=int, default=10, help="nice level of the runs [10]")
    p.add_argument("--out", default=os.path.join(ROOT, "results", "escape"), help="records and report")
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "escape"), help="run directories")
    p.add_argument("--dry-run", action="store_true", help="list the runs still missing; run nothing")
    p.add_argument("--report", action="store_true", help="write the report of the recorded runs; run nothing")
    a = p.parse_args(argv)
    if a.steps < 1 or a.jobs < 1:
        raise UsageError("--steps and --jobs must be at least 1")
    a.max_runs = 0
    return a


def main(argv):
    try:
        args = parse_args(argv)
        runs = escape_runs(parse_seeds(args.seeds), args.steps)
    except UsageError as e:
        print("escape.py: %s" % e, file=sys.stderr)
        return 2
    todo = [r for r in runs if not record_exists(args.out, r)]
    unusable = report_unusable(args.out, runs)   # records of other settings: never run over
    print("escape: %d runs (%s x weight decay %s x seeds %s), %d recorded, %d to run"
          % (len(runs), "/".join(CELLS), ", ".join("%g" % w for w in WEIGHT_DECAYS), args.seeds,
             len(runs) - len(todo) - unusable, len(todo)), flush=True)
    if args.dry_run:
        for r in todo:
            print("  %s: ./train %s" % (r["name"], " ".join(r["flags"])))
        return 0
    rc = 0
    if todo and not args.report:
        t0 = time.time()
        rc = Sweep(args, {"name": "escape"}, runs).run(todo, snapshot_binary(args.work))
        print("escape: runs took %s" % hms(time.time() - t0))
    try:
        return report(args.out, runs) or rc
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as e:   # a record's CSV or JSON
        print("escape.py: %s: a record cannot be read: %s" % (args.out, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
