#!/usr/bin/python3
"""The contrast report (experiments/contrast.py) and its statistics: the tie-aware Wilcoxon
and Holm's correction against values computed by hand, arms read from config.json, and
records whose settings are not the plan's never counted. Run by make test."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "experiments"))
import contrast  # noqa: E402
import stats  # noqa: E402


class TiedWilcoxon(unittest.TestCase):
    def test_ties_after_rounding(self):
        # differences 1, 2, 3, -1 in units of 0.01 once rounded: |d| ranks 1.5, 3, 4, 1.5,
        # W+ = 8.5, mean n(n+1)/4 = 5, variance n(n+1)(2n+1)/24 = 7.5 less the tie
        # correction (2^3 - 2)/48 = 0.125; z = 3.5 / sqrt(7.375), p = 2 (1 - Phi(z))
        p = stats.wilcoxon_tied([0.0100000001, 0.02, 0.03, -0.0099999], 0.01)
        self.assertAlmostEqual(p, 0.1974660733580187, places=12)

    def test_zero_dropped_then_normal(self):
        # 0 is dropped: n 3, W+ 6, mean 3, variance 3.5: z = 3 / sqrt(3.5)
        self.assertAlmostEqual(stats.wilcoxon_tied([0, 0.01, 0.02, 0.03], 0.01), 0.10880943004054568, places=12)

    def test_exact_without_ties(self):
        # all 5 positive and distinct: exact p = 2 / 2^5
        self.assertEqual(stats.wilcoxon_tied([0.01, 0.02, 0.03, 0.04, 0.05], 0.01), 0.0625)

    def test_all_zero_is_no_test(self):
        self.assertTrue(math.isnan(stats.wilcoxon_tied([0.001, -0.002, 0], 0.01)))


class BestLearningRate(unittest.TestCase):
    def test_each_arm_at_its_best_rate(self):
        # V=G is best at lr 1e-3 (mean 80 over seeds 1, 2), V=I at 2e-3 (mean 78); seed 3
        # ran only at 1e-3 and is left out of the choice and of the pairs
        acc = {("L", 1e-3, "V=G"): [80, 80, 99], ("L", 1e-3, "V=I"): [70, 72, 99],
               ("L-lr2e-3", 2e-3, "V=G"): [75, 77], ("L-lr2e-3", 2e-3, "V=I"): [77, 79],
               ("L-lr5e-4", 5e-4, "V=G"): [79, 79], ("L-lr5e-4", 5e-4, "V=I"): [60, 61]}
        rows = [{"cell": c, "lr": lr, "arm": a, "seed": i + 1, "test_acc": x, "test_loss": 0.5,
                 "train_loss_end": 0.4} for (c, lr, a), v in acc.items() for i, x in enumerate(v)]
        t, choice = contrast.contrast_rows(contrast.pd.DataFrame(rows))
        self.assertEqual(choice, {"L-best-lr": {"V=G": (1e-3, 2), "V=I": (2e-3, 2)}})
        best = t[t["cell"] == "L-best-lr"].iloc[0]
        self.assertEqual((best["arm"], best["ref"], best["pairs"]), ("V=I", "V=G", 2))
        self.assertAlmostEqual(best["diff"], -2.0)   # 77 - 80, 79 - 80
        self.assertEqual(len(t), 4)   # V=I against V=G in each of the three cells, and the best
        self.assertEqual(len(t["p_holm"]), 4)


class Rows(unittest.TestCase):
    def test_collapsed_against_spread_without_noise(self):
        # V=I (collapsed) against V=0 (spread), both noise-free, paired by seed: +1, +2, +3
        acc = {"V=G": [90, 90, 90], "V=I": [88, 89, 90], "V=0": [87, 87, 87]}
        rows = [{"cell": "L", "lr": 1e-3, "arm": a, "seed": i + 1, "test_acc": x, "test_loss": 0.5,
                 "train_loss_end": 0.4} for a, v in acc.items() for i, x in enumerate(v)]
        t, _ = contrast.contrast_rows(contrast.pd.DataFrame(rows))
        self.assertEqual(sorted(zip(t["arm"], t["ref"])), [("V=0", "V=G"), ("V=I", "V=0"), ("V=I", "V=G")])
        r = t[(t["arm"] == "V=I") & (t["ref"] == "V=0")].iloc[0]
        self.assertAlmostEqual(r["diff"], 2.0)
        self.assertEqual(r["pairs"], 3)


class Mechanism(unittest.TestCase):
    def test_per_cell_never_pooled_across_cells_of_one_depth(self):
        # L (3 arms) and L-long (2 arms) have one depth: L-long's runs, whose accuracy would
        # make mean cos look predictive, must neither join L's rho nor get a row of their own
        rows = []
        for seed in (1, 2, 3, 4):
            for arm, cos, acc in (("V=G", 0.2, 88 + seed), ("V=I", 0.99, 87 + seed), ("V=0", 0.08, 87 + seed)):
                rows.append({"cell": "L", "arm": arm, "seed": seed, "layers": 16,
                             "init_mean_cos": cos, "test_acc": acc})
            for arm, cos, acc in (("V=G", 0.2, 70), ("V=I", 0.99, 99)):
                rows.append({"cell": "L-long", "arm": arm, "seed": seed, "layers": 16,
                             "init_mean_cos": cos, "test_acc": acc})
        mech = contrast.mechanism(contrast.pd.DataFrame(rows))
        self.assertEqual(contrast.mechanism_cells(mech), ["L"])
        contrast.INIT_METRICS, saved = ["mean_cos"], contrast.INIT_METRICS
        try:
            sp = contrast.spearman_rows(mech)
        finally:
            contrast.INIT_METRICS = saved
        self.assertEqual(sorted(set(sp["cell"])), ["L"])
        acc = sp[sp["against"] == "test_acc"].iloc[0]
        self.assertEqual(acc["runs"], 12)
        # by hand: ranks of cos (V=0 < V=G < V=I, tied in fours) against accuracy
        self.assertAlmostEqual(acc["rho"], contrast.stats.spearman(
            [r["init_mean_cos"] for r in rows if r["cell"] == "L"],
            [r["test_acc"] for r in rows if r["cell"] == "L"])[0])
        gap = sp[sp["against"] == "gap"].iloc[0]
        self.assertEqual(gap["runs"], 8)   # V=I and V=0 against V=G of their seed


class Holm(unittest.TestCase):
    def test_step_down(self):
        # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> 0.06 (monotone)
        self.assertEqual(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])

    def test_nan_is_no_test(self):
        out = stats.holm([0.01, math.nan, 0.04])
        self.assertEqual(out[0], 0.02)
        self.assertTrue(math.isnan(out[1]))
        self.assertEqual(out[2], 0.04)

    def test_capped_at_one(self):
        self.assertEqual(stats.holm([0.6, 0.7]), [1.0, 1.0])


class Arms(unittest.TestCase):
    def conf(self, vm, ns, qk="random", layers=16, alpha=0.25):
        return {"value_mean": vm, "noise_scale": ns, "qk": qk, "layers": layers, "alpha": alpha}

    def test_labels(self):
        cases = [((0, 1), "V=G"), ((0, 0), "V=0"), ((0, 0.01), "V=0.01G"), ((1, 0), "V=I"),
                 ((1, 1), "V=I+G"), ((0.5, 0), "V=mI(m=2)"), ((0.5, 1), "V=mI+G(m=2)")]
        for (vm, ns), want in cases:
            self.assertEqual(contrast.arm_label(self.conf(vm, ns)), want)
        self.assertEqual(contrast.arm_label(self.conf(1, 1, "identity")), "QK=I,V=I+G")
        self.assertEqual(contrast.arm_label({"value_mean": 0, "noise_scale": 1, "layers": 16, "alpha": 0.25}),
                         "V=G", "a config.json from before --qk is random attention")

    def test_twins(self):
        self.assertEqual(contrast.noise_free_twin("V=I+G"), "V=I")
        self.assertEqual(contrast.noise_free_twin("QK=I,V=mI+G(m=2)"), "QK=I,V=mI(m=2)")
        self.assertEqual(contrast.noise_free_twin("V=0.01G"), "V=0")
        self.assertIsNone(contrast.noise_free_twin("V=I"))
        self.assertIsNone(contrast.noise_free_twin("V=0"))


def write_record(out, name, conf, accs, steps, last_step=None):
    """A hand-made record: eval.csv at steps/2 and last_step (default steps)."""
    d = os.path.join(out, "runs", name)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(conf, f)
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"status": "finished", "ms_per_step": 1.0}, f)
    with open(os.path.join(d, "eval.csv"), "w") as f:
        f.write("step,test_loss,test_acc\n%d,0.9,%.4f\n%d,%.4f,%.4f\n" % (
            steps // 2, accs - 0.1, last_step or steps, 1 - accs, accs))
    with open(os.path.join(d, "train.csv"), "w") as f:
        f.write("step,epoch,loss,acc,lr,grad_norm,ms\n")
        for s in range(1, steps + 1):
            f.write("%d,0,%.4f,0.5,0.001,1,1\n" % (s, 1 - accs))
    with open(os.path.join(d, "clusters.csv"), "w") as f:
        f.write("step,layer,mean_cos,mean_abs_cos,frac_clustered,frac_antipodal,order,n_clusters,stable_rank,energy\n")
        for layer in (0, 1, 2):
            f.write("0,%d,%.3f,0.5,0,0,0.5,4,2,0.5\n" % (layer, 0.9 if conf["value_mean"] else 0.1))


class Report(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.plan = os.path.join(self.tmp, "plan.json")
        with open(self.plan, "w") as f:
            json.dump({"reference_noise": 1, "seeds": [1, 2, 3], "flags": ["--layers", "2"], "steps": 8,
                       "cells": [{"name": "A", "flags": [], "noise": [1]},
                                 {"name": "A-VI", "group": "A", "flags": ["--value-mean", "1"], "noise": [0, 1]}]},
                      f)
        self.out = os.path.join(self.tmp, "out")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def conf(self, vm, ns, seed, steps=8):
        return {"value_mean": vm, "noise_scale": ns, "seed": seed, "total_steps": steps, "layers": 2,
                "alpha": 0.7071, "qk": "random"}

    def run_report(self):
        r = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "contrast.py"), "--plan", self.plan,
                            "--out", self.out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.out, "contrast.csv")) as f:
            rows = [line.split(",") for line in f.read().splitlines()]
        return rows[0], {(row[0], row[1], row[2]): dict(zip(rows[0], row)) for row in rows[1:]}, r.stderr

    def test_paired_rows_and_foreign_records_left_out(self):
        acc = {1: (0.80, 0.78, 0.79), 2: (0.82, 0.81, 0.83), 3: (0.84, 0.81, 0.84)}   # V=G, V=I, V=I+G
        for s, (g, i, ig) in acc.items():
            write_record(self.out, "A-ns1-s%d" % s, self.conf(0, 1, s), g, 8)
            write_record(self.out, "A-VI-ns0-s%d" % s, self.conf(1, 0, s), i, 8)
            write_record(self.out, "A-VI-ns1-s%d" % s, self.conf(1, 1, s), ig, 8)
        header, rows, _ = self.run_report()
        self.assertEqual(header, contrast.COLUMNS)
        r = rows[("A", "V=I", "V=G")]
        # V=I - V=G per seed: -2, -1, -3 points: mean -2, sd 1, t(0.975, 2) = 4.302652729911275
        self.assertEqual(r["pairs"], "3")
        self.assertAlmostEqual(float(r["diff"]), -2.0, places=4)
        self.assertAlmostEqual(float(r["ci_hi"]), -2 + 4.302652729911275 / math.sqrt(3), places=4)
        self.assertAlmostEqual(float(r["test_loss_diff"]), 0.02, places=5)
        twin = rows[("A", "V=I+G", "V=I")]   # +1, +2, +3 points
        self.assertAlmostEqual(float(twin["diff"]), 2.0, places=4)
        self.assertEqual(set(rows), {("A", "V=I", "V=G"), ("A", "V=I+G", "V=G"), ("A", "V=I+G", "V=I")})
        # Holm over the 3 rows: the smallest p times 3
        ps = sorted(float(x["p_wilcoxon"]) for x in rows.values())
        self.assertAlmostEqual(min(float(x["p_holm"]) for x in rows.values()), min(1, 3 * ps[0]), places=4)

        # records that are not what the plan says are never counted: another seed, value mean
        # or number of updates under a plan's name, and a run whose last evaluation is not at
        # its last update
        shutil.rmtree(os.path.join(self.out, "runs", "A-VI-ns0-s1"))
        write_record(self.out, "A-VI-ns0-s1", self.conf(0, 0, 1), 0.5, 8)          # value mean 0
        shutil.rmtree(os.path.join(self.out, "runs", "A-VI-ns0-s2"))
        write_record(self.out, "A-VI-ns0-s2", self.conf(1, 0, 2, steps=4), 0.5, 4)   # 4 updates
        shutil.rmtree(os.path.join(self.out, "runs", "A-VI-ns0-s3"))
        write_record(self.out, "A-VI-ns0-s3", self.conf(1, 0, 3), 0.5, 8, last_step=6)   # truncated
        shutil.rmtree(os.path.join(self.out, "runs", "A-ns1-s3"))
        write_record(self.out, "A-ns1-s3", self.conf(0, 1, 2), 0.5, 8)              # seed 2's run
        _, rows, err = self.run_report()
        self.assertNotIn(("A", "V=I", "V=G"), rows, "no V=I record is what the plan asks")
        self.assertEqual(rows[("A", "V=I+G", "V=G")]["pairs"], "2", "seed 3's V=G is another seed's run")
        for what in ("value_mean", "total_steps", "truncated", "seed"):
            self.assertIn(what, err)

    def test_bad_plan_is_one_line(self):
        r = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "contrast.py"), "--plan",
                            os.path.join(self.tmp, "none.json")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class BadArguments(unittest.TestCase):
    def test_every_tool_one_line_exit_2(self):
        for tool in ("analyze", "contrast", "escape", "pilot", "rates", "reproduce", "sweep"):
            r = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", tool + ".py"), "--no-such-flag", "NAME"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, tool)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, "%s: %s" % (tool, r.stderr))
            self.assertIn("--no-such-flag", r.stderr, tool)


if __name__ == "__main__":
    unittest.main()
