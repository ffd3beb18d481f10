#!/usr/bin/python3
"""The pilot of the contrast map: clustering at initialization, before any training, of the
arms the map could compare. Per depth L, attention at initialization (random Q, K, or
Q = K = I at several beta) and value matrices V (0, 0.01 G, G, I, I + G, m I and m I + G
for drifts m in the depth limit's units: value_mean = m / (L alpha)), one ./simulate depth
run on Fashion-MNIST tokens; the table keeps the last layer's clustering and the first layer
where the tokens are one cluster.

Every run is a directory under --work named by its settings; one that has depth.csv is not
run again, so an interrupted pilot continues where it stopped.

Usage: experiments/pilot.py [--draws 50] [--work runs/pilot] [--out results/contrast]
"""
import csv
import json
import os
import subprocess
import sys

import cli
from plan import ROOT

DEPTHS = (16, 64)
# attention: (label, ./simulate flags, beta of the network); with Q = K = I and d 64 the
# depth limit's beta is beta_net * sqrt(d) = 8 beta_net: 1, 4 and 8
ATTENTION = (("QK=random", [], 1.0),
             ("QK=I", ["--qk", "identity"], 0.125),
             ("QK=I", ["--qk", "identity"], 0.5),
             ("QK=I", ["--qk", "identity"], 1.0))
DRIFTS = (0.5, 1, 2)
D = 64
COLUMNS = ("mean_cos", "n_clusters", "frac_antipodal", "stable_rank", "energy")


def arms(L):
    """(label, value_mean, noise) of every V arm at depth L; V = I is m = sqrt(L) at alpha 1/sqrt(L)."""
    depth_time = L ** 0.5
    out = [("V=0", 0.0, 0.0), ("V=0.01G", 0.0, 0.01), ("V=G", 0.0, 1.0),
           ("V=I", 1.0, 0.0), ("V=I+G", 1.0, 1.0)]
    for m in DRIFTS:
        out += [("V=mI,m=%g" % m, m / depth_time, 0.0),
                ("V=mI+G,m=%g" % m, m / depth_time, 1.0)]
    return out


def runs(draws):
    for L in DEPTHS:
        for att, flags, beta in ATTENTION:
            for arm, vmean, noise in arms(L):
                name = "L%d-%s-beta%g-%s" % (L, att, beta, arm)
                name = name.replace("=", "").replace(",", "-").replace("+", "p")
                yield {"L": L, "attention": att, "beta": beta, "arm": arm, "value_mean": vmean,
                       "noise": noise, "name": name,
                       "flags": ["--tokens", "fashion-mnist", "--layers", str(L), "--d", str(D),
                                 "--beta", "%g" % beta, "--value-mean", "%.17g" % vmean,
                                 "--noise-scale", "%g" % noise, "--draws", str(draws),
                                 "--threads", "1"] + flags}


def read_depth(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def summarize(run, rows):
    last = rows[-1]
    one = [int(r["layer"]) for r in rows if r["n_clusters"] <= 1.5]
    out = {"L": run["L"], "attention": run["attention"], "beta": run["beta"],
           "beta_limit": run["beta"] * D ** 0.5 if run["attention"] == "QK=I" else "",
           "arm": run["arm"], "value_mean": "%.6g" % run["value_mean"],
           "drift": "%.4g" % (run["value_mean"] * run["L"] ** 0.5), "noise": run["noise"]}
    for c in COLUMNS:
        out[c] = "%.4g" % last[c]
        out[c + "_se"] = "%.2g" % last[c + "_se"]
    out["first_one_cluster_layer"] = one[0] if one else ""
    return out


def main(argv):
    p = cli.Parser(prog="experiments/pilot.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=50, help="draws per run [50]")
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "pilot"), help="run directories [runs/pilot]")
    p.add_argument("--out", default=os.path.join(ROOT, "results", "contrast"),
                   help="where pilot.csv and pilot.md go [results/contrast]")
    a = p.parse_args(argv)
    if not 2 <= a.draws <= 100000:
        print("pilot.py: --draws must be in [2, 100000]", file=sys.stderr)
        return 2
    todo = list(runs(a.draws))
    table = []
    for i, run in enumerate(todo):
        rd = os.path.join(a.work, run["name"])
        if not os.path.isfile(os.path.join(rd, "depth.csv")):
            print("[%d/%d] %s" % (i + 1, len(todo), run["name"]), flush=True)
            subprocess.run([os.path.join(ROOT, "simulate"), "depth"] + run["flags"] +
                           ["--run-dir", rd, "--force"], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(rd, "config.json")) as f:
            cfg = json.load(f)
        if cfg.get("draws") != a.draws:
            print("pilot.py: %s was made with %s draws, not %d: remove it or pass --draws %s"
                  % (rd, cfg.get("draws"), a.draws, cfg.get("draws")), file=sys.stderr)
            return 2
        table.append(summarize(run, read_depth(os.path.join(rd, "depth.csv"))))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "pilot.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    print("wrote %s" % os.path.join(a.out, "pilot.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
