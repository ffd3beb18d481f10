#!/usr/bin/python3
"""The report of the contrast map (plan experiments/plans/contrast.json): the paper's
contrast of the deterministic initialization (V = I: tokens collapse at initialization)
against the noise of random value matrices, paired by seed.

Only records that experiments/records.py counts enter (whole, made with the settings the
plan asks, last evaluation at the last update, finite numbers). A run's arm is read from its
config.json, never from its name: the attention at
initialization (qk) and V = value_mean I + noise_scale G, written V=G, V=0, V=0.01G, V=I,
V=I+G, V=mI(m=2), V=mI+G(m=2) (m the drift in the depth limit's units, value_mean L alpha),
prefixed by QK=I, where Q = K = I. A plan cell's "group" (default: its name) is the cell of
the table: the runs of one group differ only in their arm.

Writes into OUT (results/contrast):
  contrast.csv   one row per contrast: every arm against V=G of its cell, and every noisy arm
                 against its noise-free twin (V=I+G against V=I, V=G against V=0, ...), V=I
                 against V=0 (collapsed against spread, both without noise), and where cells BASE-lrX sit beside BASE (the same runs at other learning
                 rates), a row BASE-best-lr: each arm at its best rate against V=G at its own:
                 cell,arm,ref,pairs,acc_mean,diff,ci_lo,ci_hi,p_wilcoxon,p_holm,loss_diff,test_loss_diff
                 accuracy and its differences in percentage points, losses in nats; Holm over
                 every accuracy contrast of the file; Wilcoxon on differences rounded to the
                 accuracy's resolution, ties handled (stats.wilcoxon_tied)
  contrast.md    the same as a table, with the intervals of both losses
  mechanism.csv  per run: cell, arm, seed, clustering of the last layer at initialization
                 (mean_cos, n_clusters, energy), final accuracy (test_acc_pct, %), gap to V=G of its seed
  mechanism.md   Spearman's rho (and p) per cell (cells with at least 3 arms, so never pooling other
                 learning rates or lengths) of the clustering at initialization against the final
                 accuracy and against the paired gap
  mechanism.png  the same as scatter plots
Usage: experiments/contrast.py [--plan contrast] [--out results/contrast]
"""
import json
import math
import os
import re
import sys

import pandas as pd

import cli
import records
import stats
from report import fmt, interval, write_runs_csv
from plan import ROOT, UsageError, load_plan, runs_of

REFERENCE = "V=G"
# the two arms without noise, collapsed at initialization (V=I) and spread (V=0): their
# difference is what collapse costs when the noise is out of the picture
COLLAPSE = ("V=I", "V=0")
COLUMNS = ["cell", "arm", "ref", "pairs", "acc_mean", "diff", "ci_lo", "ci_hi", "p_wilcoxon",
           "p_holm", "loss_diff", "test_loss_diff"]
INIT_METRICS = ["mean_cos", "n_clusters", "energy"]


def arm_label(conf):
    """The arm of a run from its config.json: QK=I prefix, then V."""
    vm, ns = float(conf["value_mean"]), float(conf["noise_scale"])
    drift = vm * int(conf["layers"]) * float(conf["alpha"])
    if vm == 0:
        v = "V=0" if ns == 0 else "V=G" if ns == 1 else "V=%gG" % ns
    elif vm == 1:
        v = "V=I" if ns == 0 else "V=I+G" if ns == 1 else "V=I+%gG" % ns
    else:
        v = ("V=mI(m=%g)" % drift) if ns == 0 else ("V=mI+G(m=%g)" % drift if ns == 1
                                                      else "V=mI+%gG(m=%g)" % (ns, drift))
    return ("QK=I," if conf.get("qk", "random") == "identity" else "") + v


def noise_free_twin(arm):
    """The arm without the noise (V=I+G -> V=I, V=G -> V=0, V=0.01G -> V=0), or None."""
    qk, _, v = arm.rpartition(",")
    prefix = qk + "," if qk else ""
    if v.startswith("V=mI+"):
        return prefix + "V=mI" + v[v.index("("):]
    if v.startswith("V=I+"):
        return prefix + "V=I"
    if v.endswith("G") and v != "V=0":
        return prefix + "V=0"
    return None


def load(out, plan, runs):
    """A row per recorded run of the plan: cell (group), arm, seed, accuracy (%), losses,
    and the last layer's clustering at initialization. Records that disagree with the plan
    are reported on stderr and left out."""
    group = {c["name"]: c.get("group", c["name"]) for c in plan["cells"]}
    rows = []
    for r in runs:
        d = os.path.join(out, "runs", r["name"])
        if not records.record_exists(out, r):
            continue
        problem = records.record_problem(out, r)   # whole, made with the plan's settings, usable
        if problem:
            print("contrast.py: left out: %s: %s" % (r["name"], problem), file=sys.stderr)
            continue
        try:
            with open(os.path.join(d, "config.json")) as f:
                conf = json.load(f)
            ev = pd.read_csv(os.path.join(d, "eval.csv")).iloc[-1]
            tr = pd.read_csv(os.path.join(d, "train.csv"))
            cl = pd.read_csv(os.path.join(d, "clusters.csv"))
        except (OSError, ValueError, KeyError) as e:
            print("contrast.py: left out: %s" % e, file=sys.stderr)
            continue
        init = cl[(cl["step"] == 0) & (cl["layer"] == cl["layer"].max())]
        last = tr[4 * tr["step"] > 3 * r["steps"]]
        row = {"cell": group[r["cell"]], "arm": arm_label(conf), "seed": r["seed"], "name": r["name"],
               "layers": int(conf["layers"]), "lr": float(conf.get("lr", "nan")), "test_acc": 100 * float(ev["test_acc"]),
               "test_loss": float(ev["test_loss"]),
               "train_loss_end": float(last["loss"].mean()) if len(last) else math.nan}
        for m in INIT_METRICS:
            row["init_" + m] = float(init[m].iloc[0]) if len(init) and m in init else math.nan   # older records lack energy
        rows.append(row)
    return pd.DataFrame(rows)


def contrast_rows(runs):
    """Every arm against V=G of its cell, every noisy arm against its noise-free twin, the
    collapsed noise-free arm against the spread one (COLLAPSE), then the best learning rate
    of each arm against the other's; Holm over all of them."""
    rows = []
    for cell, g in runs.groupby("cell", sort=False):
        arms = list(dict.fromkeys(g["arm"]))
        pairs = [(a, REFERENCE) for a in arms if a != REFERENCE and REFERENCE in arms]
        pairs += [(a, noise_free_twin(a)) for a in arms if noise_free_twin(a) in arms and
                  (a, noise_free_twin(a)) not in pairs and (noise_free_twin(a), a) not in pairs]
        pairs += [COLLAPSE] if all(a in arms for a in COLLAPSE) else []
        by_arm = {a: g[g["arm"] == a].set_index("seed") for a in arms}
        rows += [pair_row(cell, arm, ref, by_arm[arm], by_arm[ref]) for arm, ref in pairs]
    best, choice = best_lr_rows(runs)
    t = pd.DataFrame(rows + best)
    if len(t):
        t["p_holm"] = stats.holm(t["p_wilcoxon"].tolist())
    return t, choice


def pair_row(cell, arm, ref, cur, base):
    """One contrast: the runs of arm (cur) against those of ref (base), both indexed by seed,
    over the seeds they share."""
    seeds = sorted(set(cur.index) & set(base.index))
    cur, base = cur.loc[seeds], base.loc[seeds]
    d = cur["test_acc"] - base["test_acc"]
    acc, loss = stats.paired(d), stats.paired(cur["train_loss_end"] - base["train_loss_end"])
    tl = stats.paired(cur["test_loss"] - base["test_loss"])
    return {"cell": cell, "arm": arm, "ref": ref, "pairs": len(seeds),
            "acc_mean": cur["test_acc"].mean() if seeds else math.nan,
            "diff": acc["mean"], "ci_lo": acc["lo"], "ci_hi": acc["hi"], "p_wilcoxon": stats.wilcoxon_tied(d, 0.01),
            "loss_diff": loss["mean"], "loss_lo": loss["lo"], "loss_hi": loss["hi"],
            "test_loss_diff": tl["mean"], "test_loss_lo": tl["lo"], "test_loss_hi": tl["hi"],
            "ahead": int((d > 0).sum()), "resolves": stats.half_width(acc["sd"], len(seeds))}


def lr_families(runs):
    """Cells BASE-lrX beside a cell BASE: {BASE: [BASE, BASE-lrX, ...]} (the same runs at other
    learning rates)."""
    cells = set(runs["cell"])
    fam = {}
    for c in sorted(cells):
        m = re.fullmatch(r"(.+)-lr[0-9][0-9.eE+-]*", c)
        if m and m.group(1) in cells:
            fam.setdefault(m.group(1), [m.group(1)]).append(c)
    return fam


def best_lr_rows(runs):
    """For each learning-rate family: each arm at the learning rate where its mean accuracy
    over the family's common seeds is highest, against V=G at V=G's best. The choice is made
    on the same runs it is tested on, for every arm alike. Returns the rows and the choice."""
    rows, choice = [], {}
    for base, cells in lr_families(runs).items():
        g = runs[runs["cell"].isin(cells)]
        arms = [a for a in dict.fromkeys(g["arm"]) if all(((g["cell"] == c) & (g["arm"] == a)).any() for c in cells)]
        if REFERENCE not in arms:
            continue
        seeds = set.intersection(*[set(g[(g["cell"] == c) & (g["arm"] == a)]["seed"]) for c in cells for a in arms])
        sel = g[g["seed"].isin(seeds)]
        best = {a: sel[sel["arm"] == a].groupby("cell")["test_acc"].mean().idxmax() for a in arms}
        cell = base + "-best-lr"
        choice[cell] = {a: (float(sel[sel["cell"] == best[a]]["lr"].iloc[0]), len(seeds)) for a in arms}
        runs_of_arm = {a: sel[(sel["cell"] == best[a]) & (sel["arm"] == a)].set_index("seed") for a in arms}
        rows += [pair_row(cell, a, REFERENCE, runs_of_arm[a], runs_of_arm[REFERENCE]) for a in arms if a != REFERENCE]
    return rows, choice


def write_csv(t, path):
    forms = {"acc_mean": "%.4f", "diff": "%.4f", "ci_lo": "%.4f", "ci_hi": "%.4f", "p_wilcoxon": "%.4g",
             "p_holm": "%.4g", "loss_diff": "%.5f", "test_loss_diff": "%.5f"}
    with open(path, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for _, r in t.iterrows():
            f.write(",".join(fmt(r[c], forms[c]) if c in forms else str(r[c]) for c in COLUMNS) + "\n")


def write_md(t, choice, runs, path):
    lines = ["Paired by seed (one seed draws the same Q, K, embeddings, G and data order in every arm): "
             "final test accuracy of the arm minus the reference's, in percentage points, 95%% t interval, "
             "Wilcoxon signed-rank p (differences rounded to 0.01 points, ties and zeros handled), Holm's "
             "adjusted p over all %d rows; training loss (last quarter of the updates) and final test loss, "
             "same pairing. 'resolves': the interval's half-width, the smallest effect these pairs tell "
             "from zero." % len(t), "",
             "| cell | arm | ref | pairs | accuracy % | diff (pts) | 95% interval | p | p Holm | ahead "
             "| train loss diff [95%] | test loss diff [95%] | resolves |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        lines.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %d/%d | %s %s | %s %s | %s |" % (
            r["cell"], r["arm"], r["ref"], r["pairs"], fmt(r["acc_mean"]), fmt(r["diff"], "%+.2f"),
            interval(r["ci_lo"], r["ci_hi"], "%+.2f"), fmt(r["p_wilcoxon"], "%.3g"), fmt(r["p_holm"], "%.3g"),
            r["ahead"], r["pairs"], fmt(r["loss_diff"], "%+.3f"), interval(r["loss_lo"], r["loss_hi"], "%+.3f"),
            fmt(r["test_loss_diff"], "%+.3f"), interval(r["test_loss_lo"], r["test_loss_hi"], "%+.3f"),
            fmt(r["resolves"])))
    for cell, arms in choice.items():
        lines += ["", "%s: each arm at its best learning rate (mean accuracy over the %d seeds every rate ran): %s. "
                  "The rate is chosen on the runs it is then compared on, alike for every arm." % (
                      cell, next(iter(arms.values()))[1], ", ".join("%s lr %g" % (a, lr) for a, (lr, _) in arms.items()))]
    counts = runs.groupby(["cell", "arm"]).size()
    lines += ["", "Runs per cell and arm: " + "; ".join("%s %s: %d" % (c, a, n) for (c, a), n in counts.items())]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def mechanism(runs):
    """Per run the clustering at initialization and the gap to V=G of the same seed."""
    ref = runs[runs["arm"] == REFERENCE].set_index(["cell", "seed"])["test_acc"]
    gap = [r["test_acc"] - ref[(r["cell"], r["seed"])]
           if (r["cell"], r["seed"]) in ref.index and r["arm"] != REFERENCE else math.nan
           for _, r in runs.iterrows()]
    return runs.assign(gap=gap)


# a cell enters the mechanism with at least this many arms: fewer say little about collapse
MECHANISM_MIN_ARMS = 3


def mechanism_cells(mech):
    """The cells of the mechanism, in the file's order: per cell, not per depth, so that runs
    of other learning rates or lengths (L16-lr*, L16-long) never pool with L16's."""
    arms = mech.groupby("cell", sort=False)["arm"].nunique()
    return [c for c, n in arms.items() if n >= MECHANISM_MIN_ARMS]


def spearman_rows(mech):
    rows = []
    for cell in mechanism_cells(mech):
        g = mech[mech["cell"] == cell]
        for m in INIT_METRICS:
            for target in ("test_acc", "gap"):
                ok = g[["init_" + m, target]].dropna()
                rho, p = stats.spearman(ok["init_" + m], ok[target])
                rows.append({"cell": cell, "init": m, "against": target, "runs": len(ok), "rho": rho, "p": p})
    return pd.DataFrame(rows)


def write_mechanism(mech, out):
    cols = ["cell", "arm", "seed", "layers"] + ["init_" + m for m in INIT_METRICS] + ["test_acc", "gap"]
    write_runs_csv(mech[cols], os.path.join(out, "mechanism.csv"))
    sp = spearman_rows(mech)
    lines = ["Does clustering at initialization predict the cost? Spearman's rank correlation over the runs "
             "of one cell (every arm and seed; cells with at least %d arms; 'gap': accuracy minus V=G's of the "
             "same seed, runs of the other arms with a V=G partner) of the last layer's clustering at "
             "initialization (step 0 of clusters.csv) against the final test accuracy and the gap." % MECHANISM_MIN_ARMS,
             "", "| cell | at initialization | against | runs | rho | p |", "|---|---|---|---|---|---|"]
    for _, r in sp.iterrows():
        lines.append("| %s | %s | %s | %d | %s | %s |" % (r["cell"], r["init"], r["against"], r["runs"],
                                                          fmt(r["rho"], "%+.2f"), fmt(r["p"], "%.3g")))
    if not len(sp):
        lines.append("| (no cell with %d arms yet) | | | | | |" % MECHANISM_MIN_ARMS)
    with open(os.path.join(out, "mechanism.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    mechanism_plot(mech, sp, os.path.join(out, "mechanism.png"))


def mechanism_plot(mech, sp, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = mechanism_cells(mech)
    if not cells:   # no figure rather than one of earlier records
        if os.path.exists(path):
            os.remove(path)
        return
    fig, axes = plt.subplots(len(cells), 2, figsize=(10, 3.8 * len(cells)), squeeze=False)
    arms = list(dict.fromkeys(mech["arm"]))
    for i, cell in enumerate(cells):
        g = mech[mech["cell"] == cell]
        for j, target in enumerate(("test_acc", "gap")):
            ax = axes[i][j]
            for k, a in enumerate(arms):
                s = g[g["arm"] == a]
                if len(s):
                    ax.plot(s["init_mean_cos"], s[target], "o", ms=4, color="C%d" % (k % 10), label=a)
            r = sp[(sp["cell"] == cell) & (sp["init"] == "mean_cos") & (sp["against"] == target)]
            rho = "rho %s, p %s" % (fmt(r["rho"].iloc[0], "%+.2f"), fmt(r["p"].iloc[0], "%.2g")) if len(r) else ""
            ax.set_title("%s: %s (Spearman %s)" % (cell, "final accuracy" if j == 0 else "gap to V=G, same seed", rho),
                         fontsize=9)
            ax.set_xlabel("mean cos of the last layer at initialization")
            ax.set_ylabel("test accuracy (%)" if j == 0 else "accuracy minus V=G (points)")
            if j == 1:
                ax.axhline(0, color="k", lw=0.8)
            ax.legend(fontsize=7)
    fig.suptitle("Collapse at initialization against accuracy, a point per run")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv):
    p = cli.Parser(prog="experiments/contrast.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", default="contrast", help="plan name or file [contrast]")
    p.add_argument("--out", help="results directory with runs/ [results/PLAN]")
    a = p.parse_args(argv)
    try:
        plan = load_plan(a.plan)
    except UsageError as e:
        print("contrast.py: %s" % e, file=sys.stderr)
        return 2
    out = a.out or os.path.join(ROOT, "results", plan["name"])
    runs = load(out, plan, runs_of(plan, plan["seeds"]))
    if not len(runs):
        print("contrast.py: no run of plan %s recorded in %s" % (plan["name"], out), file=sys.stderr)
        return 1
    t, choice = contrast_rows(runs)
    write_csv(t, os.path.join(out, "contrast.csv"))
    write_md(t, choice, runs, os.path.join(out, "contrast.md"))
    write_mechanism(mechanism(runs), out)
    print("contrast: %d runs, %d contrasts; wrote %s/{contrast.csv,contrast.md,mechanism.csv,mechanism.md,"
          "mechanism.png}" % (len(runs), len(t), out))
    with open(os.path.join(out, "contrast.md")) as f:
        print(f.read(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
