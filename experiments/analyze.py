#!/usr/bin/python3
"""The report of a sweep (experiments/sweep.py): tables and plots of every run recorded so
far under OUT/runs/NAME/. Every CSV is read by column name.

Writes into OUT/:
  summary.csv     a row per recorded run: cell, noise, seed, final test accuracy (test_acc_pct, %),
                  training loss over the last quarter of the updates, ms per update, commit
  map.csv         per cell and noise scale, paired by seed against the reference noise:
                  cell,noise,pairs,acc_mean,diff,ci_lo,ci_hi,p_wilcoxon,loss_diff
                  (accuracy and differences in percentage points)
  map.md          the same as a table, with the loss interval, the seed-to-seed spread and
                  the smallest effect the pairs resolve
  forest.png      the difference with its 95% interval, a row per cell and noise scale
  loss_curves.png training loss over updates, mean over seeds, a panel per cell
  layers.png      mean cosine between tokens per layer at initialization and trained
  layers.csv      the same numbers (first, middle and last layer)
  gap.csv         the paired difference at every evaluation (a quarter of the updates
                  apart): cell,noise,step,pairs,diff,ci_lo,ci_hi; gap.png, the same plotted
Usage: experiments/analyze.py [--plan map] [--out results/map]
"""
import json
import math
import os
import sys

import numpy as np
import pandas as pd

import cli
import stats
from report import fmt, interval, write_runs_csv
from records import record_exists, record_problem
from plan import ROOT, UsageError, load_plan, noise_label, parse_seeds, runs_of, seeds_of_names


def read_csv(path, columns):
    """A CSV with at least `columns` (any order, more allowed), those columns only."""
    df = pd.read_csv(path)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError("%s: no column %s" % (path, ", ".join(missing)))
    return df[columns]


def loss_end(train, steps):
    """Mean training loss over the last quarter of the updates (train.csv's logged batches)."""
    last = train[4 * train["step"] > 3 * steps]
    return float(last["loss"].mean()) if len(last) else math.nan


def reproduced_by(out):
    """run name -> numerics fingerprint of the build that reproduced its record bit for bit
    in its latest comparison (OUT/reproduced.csv, written by experiments/reproduce.py)."""
    path = os.path.join(out, "reproduced.csv")
    if not os.path.isfile(path):
        return {}
    rep = read_csv(path, ["name", "identical", "numerics_fingerprint"]).drop_duplicates("name", keep="last")
    rep = rep[rep["identical"] == "yes"]
    return dict(zip(rep["name"], rep["numerics_fingerprint"]))


def load_records(out, runs):
    """summary rows of the recorded runs, and their logs by run name. `numerics` is the
    fingerprint of the arithmetic that made the run (origin.json, or a build that
    reproduced it), '' where unknown. A record that is not the plan's run, is incomplete,
    ends before its last update or holds a number that is not finite is left out, with a
    line on stderr (records.record_problem)."""
    rows, logs = [], {}
    reproduced = reproduced_by(out)
    for r in runs:
        d = os.path.join(out, "runs", r["name"])
        if not record_exists(out, r):
            continue
        problem = record_problem(out, r)
        if problem:
            print("analyze.py: record %s left out: %s" % (r["name"], problem), file=sys.stderr)
            continue
        with open(os.path.join(d, "summary.json")) as f:
            summ = json.load(f)
        with open(os.path.join(d, "config.json")) as f:
            conf = json.load(f)
        ev = read_csv(os.path.join(d, "eval.csv"), ["step", "test_acc"])
        tr = read_csv(os.path.join(d, "train.csv"), ["step", "loss"])
        cl = read_csv(os.path.join(d, "clusters.csv"), ["step", "layer", "mean_cos", "stable_rank"])
        where = {}
        if os.path.isfile(os.path.join(d, "origin.json")):
            with open(os.path.join(d, "origin.json")) as f:
                where = json.load(f)
        numerics = where.get("numerics_fingerprint") or reproduced.get(r["name"], "")
        rows.append({"cell": r["cell"], "noise": r["noise"], "seed": r["seed"], "name": r["name"],
                     "steps": r["steps"], "test_acc": 100 * float(ev["test_acc"].iloc[-1]),
                     "train_loss_end": loss_end(tr, r["steps"]),
                     "ms_per_step": summ.get("ms_per_step"), "git_commit": conf.get("git_commit"),
                     "machine": ("%s (%s cores, %s)" % (where["machine"], where.get("cores"), where.get("cpu"))
                                 if where.get("machine") else ""),
                     "blas_core": conf.get("blas_core", ""), "numerics": numerics[:12]})
        logs[r["name"]] = {"train": tr, "clusters": cl, "eval": ev}
    cols = ["cell", "noise", "seed", "name", "steps", "test_acc", "train_loss_end", "ms_per_step", "git_commit",
            "machine", "blas_core", "numerics"]
    return pd.DataFrame(rows, columns=cols), logs


def one_arithmetic(a, b):
    """Were two runs made by the same arithmetic? Known if both have a numerics
    fingerprint, or were made by one commit with one OpenBLAS kernel (a sweep runs a
    seed's pair one after the other with one copy of ./train)."""
    if a["numerics"] and b["numerics"]:
        return a["numerics"] == b["numerics"]
    return bool(a["git_commit"]) and a["git_commit"] == b["git_commit"] and a["blas_core"] == b["blas_core"]


def cell_map(summary, plan):
    """map rows: per cell and noise scale, the paired differences to the reference noise."""
    ref = plan["reference_noise"]
    rows = []
    for c in plan["cells"]:
        s = summary[summary["cell"] == c["name"]]
        base = s[s["noise"] == ref].set_index("seed")
        for ns in c["noise"]:
            cur = s[s["noise"] == ns].set_index("seed")
            row = {"cell": c["name"], "noise": ns, "acc_mean": cur["test_acc"].mean() if len(cur) else math.nan,
                   "ref_sd": base["test_acc"].std(ddof=1) if len(base) >= 2 else math.nan}
            if ns == ref:
                row.update(pairs=len(cur))
            else:
                seeds = sorted(set(cur.index) & set(base.index))
                one = [sd for sd in seeds if one_arithmetic(cur.loc[sd], base.loc[sd])]
                acc = stats.paired(cur.loc[seeds, "test_acc"] - base.loc[seeds, "test_acc"])
                acc_one = stats.paired(cur.loc[one, "test_acc"] - base.loc[one, "test_acc"])
                loss = stats.paired(cur.loc[seeds, "train_loss_end"] - base.loc[seeds, "train_loss_end"])
                row.update(pairs=len(seeds), diff=acc["mean"], ci_lo=acc["lo"], ci_hi=acc["hi"],
                           p_wilcoxon=acc["p_wilcoxon"], diff_sd=acc["sd"], loss_diff=loss["mean"],
                           loss_lo=loss["lo"], loss_hi=loss["hi"], loss_p=loss["p_wilcoxon"],
                           resolves=stats.half_width(acc["sd"], len(seeds)),
                           wins=int((cur.loc[seeds, "test_acc"] > base.loc[seeds, "test_acc"]).sum()),
                           one_build=len(one), diff_one=acc_one["mean"], lo_one=acc_one["lo"], hi_one=acc_one["hi"])
            rows.append(row)
    return pd.DataFrame(rows)


MAP_COLUMNS = ["cell", "noise", "pairs", "acc_mean", "diff", "ci_lo", "ci_hi", "p_wilcoxon", "loss_diff"]


def write_map_csv(m, path):
    with open(path, "w") as f:
        f.write(",".join(MAP_COLUMNS) + "\n")
        for _, r in m.iterrows():
            f.write(",".join([r["cell"], noise_label(r["noise"]), "%d" % r["pairs"], fmt(r["acc_mean"], "%.4f"),
                              fmt(r.get("diff"), "%.4f"), fmt(r.get("ci_lo"), "%.4f"), fmt(r.get("ci_hi"), "%.4f"),
                              fmt(r.get("p_wilcoxon"), "%.4g"), fmt(r.get("loss_diff"), "%.5f")]) + "\n")


def where_line(summary):
    """Where the runs ran, from their origin.json (records without one, older ones: they
    were all made on this project's 2-core machine), and OpenBLAS's kernel from config.json."""
    s = summary.fillna({"machine": "", "blas_core": ""})
    parts = []
    for machine, g in s.groupby("machine"):
        cores = ", ".join("%s %d" % (core or "unrecorded", n) for core, n in g["blas_core"].value_counts().sort_index().items())
        parts.append("%d on %s (OpenBLAS core: %s)" % (
            len(g), machine or "this project's 2-core machine (records without origin.json, which sweeps write since 2026-12-03)", cores))
    return "Runs: " + "; ".join(parts) + "."


def write_map_md(m, plan, path, summary=None, gap=None):
    ref = noise_label(plan["reference_noise"])
    lines = [
        "Paired by seed against noise %s: difference of final test accuracy in percentage points "
        "(negative: behind the reference), 95%% t interval, Wilcoxon signed-rank p; training loss "
        "over the last quarter of the updates, same pairing. 'sd ref' is the seed-to-seed sd of "
        "the reference's accuracy; 'resolves' is the interval's half-width, the smallest effect "
        "these pairs tell from zero. 'one build': the pairs whose two runs were made by the same "
        "arithmetic (same numerics fingerprint, or same commit and OpenBLAS kernel); the others "
        "carry a rounding-level difference of builds besides the effect." % ref, "",
        "| cell | noise | pairs | accuracy % | diff (pts) | 95% interval | p (Wilcoxon) | ahead/pairs "
        "| loss diff [95%] | sd ref | resolves | one build |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    mixed = []
    for _, r in m.iterrows():
        if r["noise"] == plan["reference_noise"]:
            lines.append("| %s | %s (ref) | %d runs | %s | | | | | | %s | | |" % (
                r["cell"], ref, r["pairs"], fmt(r["acc_mean"]), fmt(r["ref_sd"])))
            continue
        lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s %s | %s | %s | %s |" % (
            r["cell"], noise_label(r["noise"]), r["pairs"], fmt(r["acc_mean"]), fmt(r["diff"], "%+.2f"),
            interval(r["ci_lo"], r["ci_hi"], "%+.2f"), fmt(r["p_wilcoxon"], "%.3g"),
            "%d/%d" % (r["wins"], r["pairs"]) if r["pairs"] else "",
            fmt(r["loss_diff"], "%+.3f"), interval(r["loss_lo"], r["loss_hi"], "%+.3f"),
            fmt(r["ref_sd"]), fmt(r["resolves"]), "%d/%d" % (r["one_build"], r["pairs"]) if r["pairs"] else ""))
        if r["pairs"] and r["one_build"] < r["pairs"]:
            mixed.append("- %s, noise %s: %s" % (r["cell"], noise_label(r["noise"]), (
                "over its %d pairs made by one build, %s %s" % (r["one_build"], fmt(r["diff_one"], "%+.2f"),
                                                                interval(r["lo_one"], r["hi_one"], "%+.2f"))
                if r["one_build"] else "no pair made by one build yet")))
    if mixed:
        lines += ["", "Rows with pairs made by two builds, restricted to the pairs made by one:"] + mixed
    if gap is not None:
        lines += gap_lines(gap)
    if summary is not None and len(summary):
        lines += ["", where_line(summary)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def plots(m, summary, logs, plan, out, gap):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = plan["reference_noise"]
    # forest plot: a row per cell and non-reference noise, top to bottom in plan order
    rows = m[m["noise"] != ref].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    ok = rows["pairs"] >= 2
    ax.errorbar(rows["diff"][ok], y[ok], xerr=[rows["diff"][ok] - rows["ci_lo"][ok], rows["ci_hi"][ok] - rows["diff"][ok]],
                fmt="o", color="C0", capsize=3)
    one = rows["pairs"] == 1   # a single pair: its difference, no interval
    ax.plot(rows["diff"][one], y[one], "o", mfc="none", color="C0", label="1 pair: no interval")
    if one.any():
        ax.legend(fontsize=8, loc="best")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(["%s  noise %s  (%d pairs)" % (r["cell"], noise_label(r["noise"]), r["pairs"])
                        for _, r in rows.iterrows()])
    ax.set_xlabel("test accuracy minus noise %s (points): mean and 95%% t interval" % noise_label(ref))
    ax.set_title("Paired difference to noise %s, by seed" % noise_label(ref))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "forest.png"), dpi=110)
    plt.close(fig)

    gap_plot(gap, plan, os.path.join(out, "gap.png"), plt)

    cells = [c for c in plan["cells"]]
    # one colour per noise scale across all panels
    colour = {ns: "C%d" % i for i, ns in enumerate(sorted({ns for c in cells for ns in c["noise"]}))}
    ncol = min(3, len(cells))
    nrow = (len(cells) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow), squeeze=False)
    fig2, axes2 = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow), squeeze=False)
    for i, c in enumerate(cells):
        ax, ax2 = axes[i // ncol][i % ncol], axes2[i // ncol][i % ncol]
        for ns in c["noise"]:
            names = summary[(summary["cell"] == c["name"]) & (summary["noise"] == ns)]["name"]
            if not len(names):
                continue
            tr = pd.concat([logs[n]["train"] for n in names]).groupby("step")["loss"].mean()
            ax.plot(tr.index, tr.values, color=colour[ns], lw=1,
                    label="noise %s (%d)" % (noise_label(ns), len(names)))
            cl = pd.concat([logs[n]["clusters"] for n in names])
            first, last = cl["step"].min(), cl["step"].max()
            for step, style in ((first, ":"), (last, "-")):
                per = cl[cl["step"] == step].groupby("layer")["mean_cos"].mean()
                ax2.plot(per.index, per.values, style, color=colour[ns],
                         label="noise %s %s" % (noise_label(ns), "init" if step == first else "trained"))
        for a, ylab in ((ax, "training loss"), (ax2, "mean cos between tokens")):
            a.set_title(c["name"])
            a.set_ylabel(ylab)
            if a.lines:
                a.legend(fontsize=7)
            else:
                a.text(0.5, 0.5, "no recorded run yet", ha="center", transform=a.transAxes)
        ax.set_xlabel("update")
        ax.set_yscale("log") if ax.lines else None
        ax2.set_xlabel("layer (0 = embedding)")
    for k in range(len(cells), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
        axes2[k // ncol][k % ncol].axis("off")
    for f, name, title in ((fig, "loss_curves.png", "Training loss, mean over seeds (runs)"),
                           (fig2, "layers.png", "Mean cosine per layer: dotted at initialization, solid trained")):
        f.suptitle(title)
        f.tight_layout()
        f.savefig(os.path.join(out, name), dpi=100)
        plt.close(f)


def layers_table(summary, logs, plan):
    """First, middle and last layer's mean cos and stable rank at init and trained, mean
    over the recorded seeds of each cell and noise scale."""
    rows = []
    for c in plan["cells"]:
        for ns in c["noise"]:
            names = summary[(summary["cell"] == c["name"]) & (summary["noise"] == ns)]["name"]
            if not len(names):
                continue
            cl = pd.concat([logs[n]["clusters"] for n in names])
            L = int(cl["layer"].max())
            for layer in sorted({1, L // 2, L}):
                at = cl[cl["layer"] == layer]
                init, trained = at[at["step"] == at["step"].min()], at[at["step"] == at["step"].max()]
                rows.append({"cell": c["name"], "noise": ns, "runs": len(names), "layer": layer,
                             "mean_cos_init": init["mean_cos"].mean(), "mean_cos_trained": trained["mean_cos"].mean(),
                             "stable_rank_init": init["stable_rank"].mean(),
                             "stable_rank_trained": trained["stable_rank"].mean()})
    return pd.DataFrame(rows)


def gap_by_step(summary, logs, plan):
    """The paired accuracy difference to the reference at every evaluation (a quarter of
    the updates each): how the gap opens or closes during training. Pairs: the seeds
    whose two runs were both evaluated at that update."""
    ref = plan["reference_noise"]
    rows = []
    for c in plan["cells"]:
        s = summary[summary["cell"] == c["name"]]
        base = {r["seed"]: logs[r["name"]]["eval"].set_index("step")["test_acc"]
                for _, r in s[s["noise"] == ref].iterrows()}
        for ns in [x for x in c["noise"] if x != ref]:
            cur = {r["seed"]: logs[r["name"]]["eval"].set_index("step")["test_acc"]
                   for _, r in s[s["noise"] == ns].iterrows()}
            seeds = sorted(set(cur) & set(base))
            steps = sorted({st for sd in seeds for st in cur[sd].index})
            for st in steps:
                both = [sd for sd in seeds if st in cur[sd].index and st in base[sd].index]
                if not both:
                    continue
                d = stats.paired([100 * (cur[sd][st] - base[sd][st]) for sd in both])
                rows.append({"cell": c["name"], "noise": ns, "step": st, "pairs": len(both),
                             "diff": d["mean"], "ci_lo": d["lo"], "ci_hi": d["hi"]})
    return pd.DataFrame(rows, columns=["cell", "noise", "step", "pairs", "diff", "ci_lo", "ci_hi"])


def gap_plot(gap, plan, path, plt):
    """gap.png: the paired difference with its interval against the fraction of the run's
    updates, a line per cell and noise scale (noise 0 solid, others dashed)."""
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    steps = {c["name"]: c.get("steps", plan["steps"]) for c in plan["cells"]}
    for i, ((cell, ns), g) in enumerate(gap[gap["pairs"] >= 2].groupby(["cell", "noise"], sort=False)):
        g = g.sort_values("step")
        x = g["step"] / steps[cell] + 0.006 * (i - 3)   # apart a little, so the bars do not hide each other
        ax.errorbar(x, g["diff"], yerr=[g["diff"] - g["ci_lo"], g["ci_hi"] - g["diff"]], capsize=2,
                    ls="-" if ns == 0 else "--", marker="o", ms=3, lw=1,
                    label="%s noise %s (%d updates)" % (cell, noise_label(ns), steps[cell]))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("fraction of the run's updates")
    ax.set_ylabel("test accuracy minus noise %s (points)" % noise_label(plan["reference_noise"]))
    ax.set_title("The gap during training: paired difference and 95% t interval at each evaluation")
    if ax.lines:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gap_lines(gap):
    """map.md's table of the gap at each evaluation, a row per cell and noise scale."""
    if not len(gap):
        return []
    lines = ["", "The gap during training: the same paired difference (points, 95% t interval) at each "
             "evaluation, a quarter of the run's updates apart (with the learning rate still high "
             "at the first three).", "",
             "| cell | noise | 1/4 | 2/4 | 3/4 | end |", "|---|---|---|---|---|---|"]
    for (cell, ns), g in gap.groupby(["cell", "noise"], sort=False):
        g = g.sort_values("step")
        cells = ["%s %s (%d, at %d)" % (fmt(r["diff"], "%+.2f"), interval(r["ci_lo"], r["ci_hi"], "%+.2f"),
                                        r["pairs"], r["step"]) for _, r in g.iterrows()]
        cells = [""] * (4 - len(cells)) + cells[-4:]
        lines.append("| %s | %s | %s |" % (cell, noise_label(ns), " | ".join(cells)))
    return lines


def paired_legacy(path):
    """The paired analysis of a summary.csv of the first sweep's shell version (columns
    dataset,depth,noise,seed,test_acc,train_loss_end): per dataset, depth and noise scale,
    the differences to noise 1 by seed. Writes paired.csv and paired.md beside it."""
    s = read_csv(path, ["dataset", "depth", "noise", "seed", "test_acc", "train_loss_end"]).dropna()
    rows = []
    for (ds, L), g in s.groupby(["dataset", "depth"], sort=False):
        base = g[g["noise"] == 1].set_index("seed")
        for ns in sorted(set(g["noise"]) - {1}):
            cur = g[g["noise"] == ns].set_index("seed")
            seeds = sorted(set(cur.index) & set(base.index))
            a = stats.paired(100 * (cur.loc[seeds, "test_acc"] - base.loc[seeds, "test_acc"]))
            l = stats.paired(cur.loc[seeds, "train_loss_end"] - base.loc[seeds, "train_loss_end"])
            rows.append({"dataset": ds, "depth": L, "noise": ns, "pairs": len(seeds), "diff": a["mean"],
                         "ci_lo": a["lo"], "ci_hi": a["hi"], "sd_diff": a["sd"], "p_wilcoxon": a["p_wilcoxon"],
                         "loss_diff": l["mean"], "loss_lo": l["lo"], "loss_hi": l["hi"]})
    t = pd.DataFrame(rows)
    out = os.path.dirname(path)
    t.to_csv(os.path.join(out, "paired.csv"), index=False, float_format="%.4f")
    lines = ["| dataset | L | noise | pairs | diff to noise 1 (pts) | 95% t interval | sd of diffs | p (Wilcoxon) "
             "| train loss diff [95%] |", "|---|---|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        lines.append("| %s | %d | %s | %d | %+.2f | %s | %.2f | %s | %+.4f %s |" % (
            r["dataset"], r["depth"], noise_label(r["noise"]), r["pairs"], r["diff"],
            interval(r["ci_lo"], r["ci_hi"], "%+.2f"), r["sd_diff"], fmt(r["p_wilcoxon"], "%.3g"),
            r["loss_diff"], interval(r["loss_lo"], r["loss_hi"], "%+.4f")))
    with open(os.path.join(out, "paired.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv):
    p = cli.Parser(prog="experiments/analyze.py", description=__doc__.split("\n")[0])
    p.add_argument("--paired-legacy", metavar="SUMMARY_CSV",
                   help="instead: the paired analysis of the first sweep's summary.csv (results/full), "
                        "into paired.csv/md beside it")
    p.add_argument("--plan", default="map", help="plan name or file, as for sweep.py [map]")
    p.add_argument("--out", help="results directory [results/PLAN]")
    p.add_argument("--seeds", help="seeds, as for sweep.py [the plan's]")
    a = p.parse_args(argv)
    if a.paired_legacy:
        try:
            return paired_legacy(a.paired_legacy)
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as e:
            print("analyze.py: --paired-legacy %s: %s" % (a.paired_legacy, e), file=sys.stderr)
            return 2
    try:
        plan = load_plan(a.plan)
        seeds = parse_seeds(a.seeds) if a.seeds else plan["seeds"]
    except UsageError as e:
        print("analyze.py: %s" % e, file=sys.stderr)
        return 2
    out = a.out or os.path.join(ROOT, "results", plan["name"])
    # records of seeds beyond the plan's (a sweep run with --seeds) count too
    found = os.listdir(os.path.join(out, "runs")) if os.path.isdir(os.path.join(out, "runs")) else []
    extra = seeds_of_names(found)
    try:
        summary, logs = load_records(out, runs_of(plan, sorted(set(seeds) | extra)))
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as e:   # a record's CSV or JSON
        print("analyze.py: %s: a record cannot be read: %s" % (out, e), file=sys.stderr)
        return 2
    if not len(summary):
        print("analyze.py: no run recorded in %s" % out, file=sys.stderr)
        return 1
    write_runs_csv(summary, os.path.join(out, "summary.csv"))
    m = cell_map(summary, plan)
    write_map_csv(m, os.path.join(out, "map.csv"))
    gap = gap_by_step(summary, logs, plan)
    gap.to_csv(os.path.join(out, "gap.csv"), index=False, float_format="%.4f")
    write_map_md(m, plan, os.path.join(out, "map.md"), summary, gap)
    layers_table(summary, logs, plan).to_csv(os.path.join(out, "layers.csv"), index=False, float_format="%.5g")
    plots(m, summary, logs, plan, out, gap)
    print("analyze: %d runs recorded; wrote %s/{summary,map,layers,gap}.csv, map.md, forest.png, "
          "loss_curves.png, layers.png, gap.png" % (len(summary), out))
    with open(os.path.join(out, "map.md")) as f:
        print(f.read(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
