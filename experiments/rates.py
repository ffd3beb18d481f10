#!/usr/bin/python3
"""Clustering rates (docs/RATES.md): the laws of docs/MODEL.md ("Clustering rates") against
./simulate over a small grid.

Three parts, each a set of ./simulate runs under runs/rates/ (rerun only when missing):
  sa     the SA flow (Q = K = I, V = v I, no noise) from uniform tokens: per draw the time to
         reach mean cos 1/2, the time to enter the local regime, and the rate of
         1 - mean cos there, against 2 (the flow) and 2 log(1 + tau) / tau (the map, tau the
         drift time per layer); d 3, 8, 32, beta 0.5, 1, 4, n 8, 32, and the network's
         default width d 64 (beta_net 1, i.e. beta 8, and beta_net 1/8, beta 1);
  noise  V = m/(L alpha) I + G near one cluster (--tokens cap): the typical exponent of
         log(1 - mean cos) and the growth rate of E[1 - mean cos], against
         -2 mu - s^2 (d - 1) and -2 mu - s^2 (d - 3) (mu = m / T, s^2 = 1 / d);
  pair   ./simulate pair --lyapunov: the two-token exponents near c = +1 and c = -1.
Writes results/rates/: rates.csv (sa and noise, a row per cell), pair.csv, rates.md (the
tables) and rates.png (log(1 - mean cos) against t with the predicted slopes).

Usage: experiments/rates.py [--threads 2] [--report]   (--report: no new runs)
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd

import cli
from plan import ROOT
from report import fmt

RUNS = os.path.join(ROOT, "runs", "rates")
OUT = os.path.join(ROOT, "results", "rates")

TAU = 0.02            # drift time per layer of the SA runs: the map's rate is 1% under 2
DRIFT = 40.0          # total drift time of the SA runs (L = DRIFT / TAU = 2000 layers)
SA_DRAWS = 30
LOCAL = 1e-3          # the local regime: (1 + beta) (1 - cos) <= LOCAL, the pair law's
                      # relative correction to the rate (docs/MODEL.md)
FLOOR_MARGIN = 1e-9   # fits stop here: 100 times above the fp32 floor at TAU (measured 5e-12)
HALF = 0.5            # mean cos 1/2

NOISE_T, NOISE_H, NOISE_SPREAD, MEAN_WINDOW = 8.0, 0.01, 0.01, 2.0
BOOT = 400

SA_CELLS = [(d, beta, n) for d in (3, 8, 32) for beta in (0.5, 1.0, 4.0) for n in (8, 32)]
SA_CELLS += [(64, 8.0, 8), (64, 8.0, 32), (64, 1.0, 8), (64, 1.0, 32)]
# (d, drift m over the horizon, draws): value mean 0, then drift and noise together
NOISE_CELLS = [(3, 0.0, 400), (8, 0.0, 400), (32, 0.0, 60), (64, 0.0, 40),
               (8, 5.0, 200), (64, 5.0, 40)]
NOISE_BETA, NOISE_N = 1.0, 8


def simulate(args, run_dir, threads):
    """Runs ./simulate with args into run_dir unless it holds a finished run."""
    if os.path.exists(os.path.join(run_dir, "summary.json")):
        return
    cmd = ["nice", os.path.join(ROOT, "simulate")] + args + [
        "--threads", str(threads), "--run-dir", run_dir, "--force"]
    print(" ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sa_dir(d, beta, n):
    return os.path.join(RUNS, f"sa-d{d}-b{beta:g}-n{n}")


def noise_dir(d, m):
    return os.path.join(RUNS, f"noise-d{d}-m{m:g}")


def run_all(threads):
    layers = int(round(DRIFT / TAU))
    for d, beta, n in SA_CELLS:
        simulate(["depth", "--qk", "identity", "--noise-scale", "0", "--value-drift", str(DRIFT),
                  "--layers", str(layers), "--d", str(d), "--n", str(n),
                  "--beta", repr(beta / math.sqrt(d)), "--draws", str(SA_DRAWS), "--batch", "1",
                  "--per-draw"], sa_dir(d, beta, n), threads)
    layers = int(round(NOISE_T / NOISE_H))
    for d, m, draws in NOISE_CELLS:
        simulate(["depth", "--tokens", "cap", "--spread", str(NOISE_SPREAD), "--qk", "identity",
                  "--noise-scale", "1", "--value-drift", str(m), "--horizon", str(NOISE_T),
                  "--layers", str(layers), "--d", str(d), "--n", str(NOISE_N),
                  "--beta", repr(NOISE_BETA / math.sqrt(d)), "--draws", str(draws),
                  "--batch", "1", "--per-draw"], noise_dir(d, m), threads)
    simulate(["pair", "--lyapunov", "--betas", "0.5,1,4", "--ds", "3,8,32", "--runs", "200",
              "--T", "10", "--h", "0.001"], os.path.join(RUNS, "pair"), threads)


def draws_matrix(run_dir):
    """one_minus_cos as an array (draws, L + 1), and config.json."""
    df = pd.read_csv(os.path.join(run_dir, "draws.csv"))
    k = df["draw"].max() + 1
    with open(os.path.join(run_dir, "config.json")) as f:
        cfg = json.load(f)
    return df["one_minus_cos"].to_numpy().reshape(k, -1), cfg


def first_below(y, level):
    """Index of the first entry <= level, or None."""
    hit = np.nonzero(y <= level)[0]
    return int(hit[0]) if hit.size else None


def sa_draw(y, t, beta):
    """One draw: time to mean cos 1/2, time to enter the local regime, and the rate there
    (the endpoint slope of log(1 - cos) from entry to the last point above FLOOR_MARGIN;
    None unless the window spans two decades)."""
    half, enter = first_below(y, HALF), first_below(y, LOCAL / (1 + beta))
    rate = None
    if enter is not None:
        above = np.nonzero(y[enter:] >= FLOOR_MARGIN)[0]
        last = enter + int(above[-1])
        if y[enter] / y[last] >= 100:
            rate = -(math.log(y[last]) - math.log(y[enter])) / (t[last] - t[enter])
    return (t[half] if half is not None else None, t[enter] if enter is not None else None, rate)


def mean_se(values):
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0, v.size


def sa_rows():
    rows = []
    for d, beta, n in SA_CELLS:
        y, cfg = draws_matrix(sa_dir(d, beta, n))
        tau = cfg["alpha"] * cfg["value_mean"]
        t = np.arange(y.shape[1]) * tau
        per = [sa_draw(row, t, beta) for row in y]
        half, half_se, n_half = mean_se([p[0] for p in per])
        enter, enter_se, n_enter = mean_se([p[1] for p in per])
        rate, rate_se, n_rate = mean_se([p[2] for p in per])
        law_map = 2 * math.log1p(tau) / tau
        rows.append(dict(part="sa", d=d, beta=beta, beta_net=beta / math.sqrt(d), n=n,
                         draws=y.shape[0], horizon=t[-1], t_half=half, t_half_se=half_se,
                         share_half=n_half / y.shape[0], t_local=enter, t_local_se=enter_se,
                         share_local=n_enter / y.shape[0], rate=rate, rate_se=rate_se,
                         rated=n_rate, law_flow=2.0, law_map=law_map,
                         z_map=(rate - law_map) / rate_se if rate_se > 0 else float("nan"),
                         rel_map=rate / law_map - 1, floor=float(y[:, -1].min())))
    return rows


def boot_mean_rate(y, i1, t1, rng):
    """Growth rate of the mean over draws from t = 0 to t1, with its bootstrap SE over draws."""
    def rate(sample):
        m = sample.mean(axis=0)
        return (math.log(m[i1]) - math.log(m[0])) / t1
    boots = [rate(y[rng.integers(0, y.shape[0], y.shape[0])]) for _ in range(BOOT)]
    return rate(y), float(np.std(boots, ddof=1))


def noise_rows():
    rows, rng = [], np.random.default_rng(1)
    for d, m, _ in NOISE_CELLS:
        y, cfg = draws_matrix(noise_dir(d, m))
        h = cfg["alpha"] ** 2                      # limit time per layer
        tau = cfg["alpha"] * cfg["value_mean"]     # drift time per layer
        t = np.arange(y.shape[1]) * h
        typical = np.log(y[:, -1] / y[:, 0]) / t[-1]
        i1 = int(round(MEAN_WINDOW / h))
        mean_rate, mean_rate_se = boot_mean_rate(y, i1, t[i1], rng)
        s2, mu = 1.0 / d, m / NOISE_T
        rate, rate_se = -typical.mean(), typical.std(ddof=1) / math.sqrt(typical.size)
        law_typ = 2 * mu + s2 * (d - 1)
        law_mean = 2 * mu + s2 * (d - 3)
        # the same per layer of the map at this h (docs/MODEL.md), per unit limit time
        map_typ = (2 * math.log1p(tau) + h * s2 * (d - 1) / (1 + tau) ** 2) / h
        rows.append(dict(part="noise", d=d, beta=NOISE_BETA, beta_net=NOISE_BETA / math.sqrt(d),
                         n=NOISE_N, drift=m, draws=y.shape[0], horizon=t[-1], h=h, tau=tau,
                         rate=rate, rate_se=rate_se, law_typical=law_typ,
                         z_typical=(rate - law_typ) / rate_se, map_typical=map_typ,
                         z_map_typical=(rate - map_typ) / rate_se,
                         mean_rate=-mean_rate, mean_rate_se=mean_rate_se, law_mean=law_mean,
                         z_mean=(-mean_rate - law_mean) / mean_rate_se,
                         min_gap=float(y.min()), max_gap=float(y.max())))
    return rows


def write_tables(sa, noise, pair):
    lines = ["# Clustering rates: laws against ./simulate", "",
             "Made by `experiments/rates.py`; the design and the reading: docs/RATES.md.", "",
             f"## SA flow from uniform tokens (V = v I, no noise, Q = K = I, tau = {TAU} per layer, "
             f"horizon {DRIFT:g}, {SA_DRAWS} draws)", "",
             "rate: decay rate of 1 - mean cos per unit drift time in the local regime, mean +- SE "
             "over the draws that reach it; law: 2 (flow), 2 log(1 + tau)/tau (map); "
             "z = (rate - map) / SE; t_half: time to mean cos 1/2; t_local: time to "
             f"(1 + beta)(1 - cos) <= {LOCAL:g}; shares: of draws within the horizon.", "",
             "| d | beta | beta_net | n | t_half | share | t_local | share | rate +- SE | flow | map | rel. to map | z |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sa:
        lines.append(f"| {r['d']} | {r['beta']:g} | {r['beta_net']:.4g} | {r['n']} | "
                     f"{fmt(r['t_half'], '%.2f', '-')} | {r['share_half']:.2f} | {fmt(r['t_local'], '%.2f', '-')} | "
                     f"{r['share_local']:.2f} | {fmt(r['rate'], '%.5f', '-')} +- {fmt(r['rate_se'], '%.5f', '-')} | 2 | "
                     f"{r['law_map']:.5f} | {r['rel_map']:+.1e} | {fmt(r['z_map'], '%.1f', '-')} |")
    lines += ["", f"## Noise near one cluster (cap start, 1 - cos about {NOISE_SPREAD ** 2:g}; "
              f"n {NOISE_N}, beta {NOISE_BETA:g}, horizon T {NOISE_T:g}, h {NOISE_H})", "",
              "Rates of decay per unit limit time (positive: contracting). typical: mean over draws "
              "of -(log(1 - cos)(T) - log(1 - cos)(0)) / T, law 2 mu + s^2 (d - 1); mean: decay "
              f"rate of E[1 - cos] over t in [0, {MEAN_WINDOW:g}], bootstrap SE, law "
              "2 mu + s^2 (d - 3); mu = drift / T, s^2 = 1/d; map at h: the typical law per "
              "layer of the map, (2 log(1 + tau) + h s^2 (d - 1) / (1 + tau)^2) / h, tau = mu h.", "",
              "| d | drift m | draws | typical +- SE | law | z | map at h | z | mean +- SE | law | z |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in noise:
        lines.append(f"| {r['d']} | {r['drift']:g} | {r['draws']} | {r['rate']:.3f} +- "
                     f"{r['rate_se']:.3f} | {r['law_typical']:.3f} | {r['z_typical']:+.1f} | "
                     f"{r['map_typical']:.3f} | {r['z_map_typical']:+.1f} | "
                     f"{r['mean_rate']:.3f} +- {r['mean_rate_se']:.3f} | {r['law_mean']:.3f} | "
                     f"{r['z_mean']:+.1f} |")
    lines += ["", "## Two tokens, value mean 0, noise 1 (./simulate pair --lyapunov, T 10, h 0.001)", "",
              "Lyapunov exponent of log(1 - c) near c = +1 and of log(1 + c) near c = -1 "
              "(negative: the end attracts a typical run), and the growth rate of the mean distance.",
              "", "| d | beta | end | runs | exponent +- SE | law | z | mean's rate (law) | cosh(2 beta) > d - 2 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for _, r in pair.iterrows():
        z = (r["lyapunov"] - r["lyapunov_law"]) / r["se"]
        reach = "" if r["end"] > 0 else ("yes" if math.cosh(2 * r["beta"]) > r["d"] - 2 else "no")
        lines.append(f"| {int(r['d'])} | {r['beta']:g} | {int(r['end']):+d} | {int(r['runs'])} | "
                     f"{r['lyapunov']:.3f} +- {r['se']:.3f} | {r['lyapunov_law']:.3f} | {z:+.1f} | "
                     f"{r['mean_rate_law']:.3f} | {reach} |")
    with open(os.path.join(OUT, "rates.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(sa):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, (d, beta, n) in zip(axes, [(8, 1.0, 8), (3, 4.0, 8), (64, 8.0, 8)]):
        y, cfg = draws_matrix(sa_dir(d, beta, n))
        tau = cfg["alpha"] * cfg["value_mean"]
        t = np.arange(y.shape[1]) * tau
        for row in y:
            ax.semilogy(t, row, lw=0.6, color="0.55")
        reached = [row for row in y if first_below(row, LOCAL / (1 + beta)) is not None]
        for row in reached[:1]:   # the predicted slope from where the first such draw enters
            enter = first_below(row, LOCAL / (1 + beta))
            tt = np.linspace(t[enter], t[enter] + 12, 50)
            ax.semilogy(tt, row[enter] * np.exp(-2 * (tt - t[enter])), "r--", lw=1.5,
                        label="slope -2 (SA flow) from the local regime")
        ax.axhline(LOCAL / (1 + beta), color="b", lw=0.8, ls=":", label="local regime")
        ax.axhline(FLOOR_MARGIN, color="k", lw=0.8, ls=":", label="fit stops (fp32 floor x 100)")
        ax.set_title(f"d {d}, beta {beta:g} (beta_net {beta / math.sqrt(d):.3g}), n {n}: "
                     f"{y.shape[0]} draws", fontsize=9)
        ax.set_xlabel("t = layer x drift time per layer")
        ax.set_ylim(1e-13, 3)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("1 - mean cos (per draw)")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "rates.png"), dpi=90)


def main():
    ap = cli.Parser(prog="experiments/rates.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report", action="store_true", help="tables from the runs there are; no new runs")
    a = ap.parse_args()
    os.makedirs(RUNS, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    if not a.report:
        run_all(a.threads)
    sa, noise = sa_rows(), noise_rows()
    pd.DataFrame(sa + noise).to_csv(os.path.join(OUT, "rates.csv"), index=False, float_format="%.6g")
    pair = pd.read_csv(os.path.join(RUNS, "pair", "lyapunov.csv"))
    pair.to_csv(os.path.join(OUT, "pair.csv"), index=False)
    write_tables(sa, noise, pair)
    plot(sa)
    print(f"wrote {OUT}/rates.csv, pair.csv, rates.md, rates.png")


if __name__ == "__main__":
    sys.exit(main())
