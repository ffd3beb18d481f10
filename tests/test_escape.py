#!/usr/bin/python3
"""experiments/escape.py's report on constructed records whose answers are known: the
per-seed means and 95% t intervals of the last layers (worked out in the comments), the
paired difference, the depth profile, CSVs read by column name (reordered, with extra
columns, with and without an `energy` column), and the command's bad arguments."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import escape  # noqa: E402
from test_sweep import settings_of  # noqa: E402

L = escape.LAYERS
T975_2 = 4.302652729911275   # t(0.975, df 2), from published tables


def temp_dir(test):
    d = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, d, ignore_errors=True)
    return d


def write_record(out, run, trained_cos, energy):
    """A finished run: at update 0 mean cos 0.999 at layers >= 21 (0.5 below), at update 10
    `trained_cos` at every layer >= 1; n_clusters 1 where mean cos > 0.99, else 16."""
    d = os.path.join(out, "runs", run["name"])
    os.makedirs(d)
    rows = []
    for step in (0, 10):
        for layer in range(L + 1):
            c = (0.999 if layer >= 21 else 0.5) if step == 0 else (trained_cos if layer else 0.5)
            row = {"layer": layer, "order": 0.3, "n_clusters": 1.0 if c > 0.99 else 16.0,
                   "stable_rank": 2 - c, "step": step, "mean_cos": c}
            if energy:
                row["energy"] = c * c
            rows.append(row)
    pd.DataFrame(rows).to_csv(os.path.join(d, "clusters.csv"), index=False)   # reordered columns
    pd.DataFrame([{"test_loss": 1.0, "step": 10, "test_acc": 0.5}]).to_csv(os.path.join(d, "eval.csv"), index=False)
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"status": "finished", "train_seconds": 3.0, "ms_per_step": 300.0}, f)
    with open(os.path.join(d, "config.json"), "w") as f:   # the settings that make it the run
        json.dump(settings_of(run), f)
    pd.DataFrame([{"step": 10, "loss": 1.0}]).to_csv(os.path.join(d, "train.csv"), index=False)


class Report(unittest.TestCase):
    def make(self, energy):
        out = temp_dir(self)
        runs = escape.escape_runs([1, 2, 3], 10)
        for r in runs:
            # paper's setting, no weight decay: 0.90, 0.92, 0.94 over seeds; others stay
            cos = 0.88 + 0.02 * r["seed"] if (r["cell"], r["wd"]) == ("rf", 0.0) else 0.999
            write_record(out, r, cos, energy)
        self.assertEqual(escape.report(out, runs), 0)
        return out

    def test_last_layer_intervals(self):
        out = self.make(energy=True)
        t = pd.read_csv(os.path.join(out, "last_layers.csv"))
        row = t[(t["cell"] == "rf") & (t["wd"] == 0) & (t["where"] == "layer %d" % L) & (t["metric"] == "mean_cos")].iloc[0]
        # trained 0.90, 0.92, 0.94: mean 0.92, sd 0.02, half width 4.3027 * 0.02 / sqrt(3) = 0.049683
        self.assertAlmostEqual(row["trained"], 0.92, places=9)
        self.assertAlmostEqual(row["trained_hi"] - row["trained"], T975_2 * 0.02 / math.sqrt(3), places=6)
        self.assertAlmostEqual(row["init"], 0.999, places=9)
        self.assertAlmostEqual(row["init_lo"], 0.999, places=9)          # no spread: a zero-width interval
        self.assertAlmostEqual(row["diff"], 0.92 - 0.999, places=9)       # paired by seed
        self.assertAlmostEqual(row["diff_lo"], 0.92 - 0.999 - T975_2 * 0.02 / math.sqrt(3), places=6)
        self.assertEqual(row["seeds"], 3)
        nc = t[(t["cell"] == "rf") & (t["wd"] == 0) & (t["where"] == "layer %d" % L) & (t["metric"] == "n_clusters")].iloc[0]
        self.assertEqual((nc["init"], nc["trained"]), (1.0, 16.0))
        self.assertIn("energy", set(t["metric"]), "the energy column is used when clusters.csv has it")
        # the contrast did not move: difference 0 with a zero-width interval
        c = t[(t["cell"] == "all") & (t["wd"] == 0) & (t["where"] == "layer %d" % L) & (t["metric"] == "mean_cos")].iloc[0]
        self.assertAlmostEqual(c["diff"], 0.0, places=12)
        self.assertTrue(os.path.isfile(os.path.join(out, "layers.png")))
        self.assertTrue(os.path.isfile(os.path.join(out, "heatmaps_energy.png")))

    def test_profile_and_without_energy(self):
        out = self.make(energy=False)
        t = pd.read_csv(os.path.join(out, "last_layers.csv"))
        self.assertNotIn("energy", set(t["metric"]))
        p = pd.read_csv(os.path.join(out, "profile.csv"), dtype={"onset_init": str, "onset_trained": str})
        rf = p[(p["cell"] == "rf") & (p["wd"] == 0)].iloc[0]
        self.assertEqual(rf["onset_init"], "21 21 21")       # one cluster from layer 21 at update 0
        self.assertEqual(rf["onset_trained"], "- - -")        # never after training
        # (1 - 0.92) / (1 - 0.999) etc.: geometric mean of 100, 80, 60
        self.assertAlmostEqual(rf["ratio"], (100 * 80 * 60) ** (1 / 3), places=3)
        with open(os.path.join(out, "last_layers.md")) as f:
            md = f.read()
        self.assertIn("| paper: W2 + head trained | 0 | layer 24 | mean_cos | 3 | 0.9990 [0.9990, 0.9990] | 0.9200 [0.8703, 0.9697] |", md)


class Command(unittest.TestCase):
    def run_escape(self, *args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "escape.py")] + list(args),
                              capture_output=True, text=True)

    def test_bad_arguments(self):
        out = temp_dir(self)
        for args, why in ((["--seeds", "x"], "--seeds"), (["--steps", "0"], "at least 1")):
            r = self.run_escape(*args, "--out", os.path.join(out, "o"), "--work", os.path.join(out, "w"))
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(why, r.stderr)
        self.assertEqual(os.listdir(out), [], "nothing created")

    def test_dry_run_lists_the_missing_runs(self):
        out = temp_dir(self)
        r = self.run_escape("--dry-run", "--seeds", "1", "--out", os.path.join(out, "o"), "--work", os.path.join(out, "w"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("6 runs", r.stdout)
        self.assertIn("rf-wd0-s1: ./train", r.stdout)
        self.assertIn("--freeze embed,pos,q,k,v,w1 --weight-decay 0", r.stdout)
        self.assertEqual(os.listdir(out), [], "a dry run creates nothing")


if __name__ == "__main__":
    unittest.main(verbosity=1)
