#!/usr/bin/python3
"""experiments/stats.py against known values, experiments/analyze.py reading CSVs by column
name, and experiments/sweep.py end to end: a tiny sweep interrupted and continued gives
the same map as one that ran through. Run from the repository root (tests/test_experiment.c
runs it as part of make test; ./train must be built)."""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
import analyze  # noqa: E402
import records  # noqa: E402
import stats  # noqa: E402
import local_engine  # noqa: E402
from plan import UsageError, load_plan, runs_of  # noqa: E402

PY = sys.executable


def sweep_cmd(*args):
    return subprocess.run([PY, os.path.join(ROOT, "experiments", "sweep.py")] + list(args),
                          cwd=ROOT, capture_output=True, text=True)


class Stats(unittest.TestCase):
    def test_t_quantiles_match_published_tables(self):
        # two-sided 95% critical values of Student's t (any statistics table)
        for df, want in ((1, 12.706), (2, 4.303), (5, 2.571), (30, 2.042)):
            self.assertAlmostEqual(stats.t_quantile(0.975, df), want, places=3)

    def test_paired_fixed_input(self):
        # d = 1, 2, -0.5, 3, 4: mean 9.5/5 = 1.9; squared deviations 0.81 + 0.01 + 5.76 +
        # 1.21 + 4.41 = 12.2, sd = sqrt(12.2/4) = 1.746425; half-width t(0.975, 4) sd/sqrt(5)
        # = 2.776445 * 0.781025 = 2.168474. Signed ranks of |d| = 0.5, 1, 2, 3, 4 are 1..5,
        # the only negative one has rank 1: W- = 1, W+ = 14; exactly 2 of the 32 sign
        # patterns have W- <= 1, so the two-sided p = 2 * 2/32 = 0.125.
        r = stats.paired([1, 2, -0.5, 3, 4])
        self.assertEqual(r["n"], 5)
        self.assertAlmostEqual(r["mean"], 1.9, places=12)
        self.assertAlmostEqual(r["sd"], 1.746425, places=6)
        self.assertAlmostEqual(r["lo"], 1.9 - 2.168474, places=5)
        self.assertAlmostEqual(r["hi"], 1.9 + 2.168474, places=5)
        self.assertEqual(r["w_stat"], 1.0)
        self.assertAlmostEqual(r["p_wilcoxon"], 0.125, places=12)

    def test_paired_too_few(self):
        r = stats.paired([0.3])
        self.assertEqual(r["mean"], 0.3)
        self.assertNotEqual(r["lo"], r["lo"])   # NaN: one pair has no interval

    def test_welch_fixed_input(self):
        # a = 1, 2, 3: var 1, /3; b = 2, 4, 6, 8: var 20/3, /4 = 5/3; se^2 = 2;
        # df = 2^2 / ((1/3)^2/2 + (5/3)^2/3) = 4 / (1/18 + 25/27) = 4.075472
        r = stats.welch([1, 2, 3], [2, 4, 6, 8])
        self.assertAlmostEqual(r["diff"], 3.0, places=12)
        self.assertAlmostEqual(r["df"], 4 / (1 / 18 + 25 / 27), places=9)
        half = stats.t_quantile(0.975, r["df"]) * 2 ** 0.5
        self.assertAlmostEqual(r["hi"] - r["lo"], 2 * half, places=9)
        self.assertGreater(half, 2.571)    # between the 5 and the 4 df values
        self.assertLess(half / 2 ** 0.5, 2.776)


def settings_of(run):
    """config.json's settings of a run: what the plan asks of it (records.settings_problem)."""
    def value(v):
        try:
            return 1 if v is None else float(v)
        except ValueError:
            return v
    conf = {k: value(v) for k, v in records.flag_pairs(run["flags"])}
    conf.update(noise_scale=run["noise"], seed=run["seed"], steps=run["steps"], total_steps=run["steps"])
    return conf


def write_record(d, columns_reversed, run):
    """A finished record of `run` with known numbers; columns in file order or reversed."""
    os.makedirs(d)

    def csv(name, header, rows):
        cols = header.split(",")
        order = cols[::-1] if columns_reversed else cols
        with open(os.path.join(d, name), "w") as f:
            f.write(",".join(order) + "\n")
            for r in rows:
                f.write(",".join(str(r[cols.index(c)]) for c in order) + "\n")

    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"status": "finished", "ms_per_step": 2.0}, f)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(dict(settings_of(run), git_commit="abc"), f)
    csv("eval.csv", "step,test_loss,test_acc", [(run["steps"], 0.5, 0.75)])
    csv("train.csv", "step,epoch,loss,acc,lr,grad_norm,ms",
        [(s, 0, l, 0, 0, 0, 0) for s, l in ((2, 9.0), (4, 9.0), (6, 9.0), (7, 1.0), (8, 3.0))])
    csv("clusters.csv", "step,layer,mean_cos,mean_abs_cos,frac_clustered,frac_antipodal,order,n_clusters,stable_rank",
        [(s, l, 0.1 * l + s, 0, 0, 0, 0, 1, 2) for s in (0, 8) for l in (0, 1, 2)])


class Analyze(unittest.TestCase):
    def test_columns_found_by_name(self):
        plan = load_plan("tiny")
        run = [r for r in runs_of(plan, [1]) if r["name"] == "L2-ns1-s1"][0]
        run["steps"] = 8
        got = []
        for rev in (False, True):
            out = tempfile.mkdtemp()
            write_record(os.path.join(out, "runs", run["name"]), rev, run)
            summary, logs = analyze.load_records(out, [run])
            got.append(summary.iloc[0])
            cl = logs[run["name"]]["clusters"]
            self.assertEqual(list(cl.columns), ["step", "layer", "mean_cos", "stable_rank"])
            self.assertAlmostEqual(float(cl[(cl["step"] == 8) & (cl["layer"] == 2)]["mean_cos"].iloc[0]), 8.2)
            shutil.rmtree(out)
        for row in got:
            self.assertAlmostEqual(row["test_acc"], 75.0)
            # the last quarter of 8 updates: steps 7 and 8 (4 * step > 24)
            self.assertAlmostEqual(row["train_loss_end"], 2.0)
        self.assertTrue((got[0][["test_acc", "train_loss_end"]] == got[1][["test_acc", "train_loss_end"]]).all())

    def test_where_the_runs_ran(self):
        s = analyze.pd.DataFrame({"machine": ["", "", "dev (16 cores, X)", "dev (16 cores, X)", "dev (16 cores, X)"],
                                  "blas_core": ["", "Zen", "SkylakeX", "SkylakeX", "SkylakeX"]})
        self.assertEqual(analyze.where_line(s),
                         "Runs: 2 on this project's 2-core machine (records without origin.json, which sweeps write since 2026-12-03) "
                         "(OpenBLAS core: unrecorded 1, Zen 1); 3 on dev (16 cores, X) (OpenBLAS core: SkylakeX 3).")

    def test_gap_by_step(self):
        # seed 1: both runs evaluated at 4 and 8; seed 2: its reference only at 8 (as the
        # map's first records, evaluated only at their end)
        plan = {"reference_noise": 1, "cells": [{"name": "C", "noise": [0, 1]}]}
        acc = {"C-ns0-s1": [(4, 0.50), (8, 0.70)], "C-ns1-s1": [(4, 0.60), (8, 0.75)],
               "C-ns0-s2": [(4, 0.40), (8, 0.80)], "C-ns1-s2": [(8, 0.82)]}
        summary = analyze.pd.DataFrame([{"cell": "C", "noise": int(n[4]), "seed": int(n[-1]), "name": n} for n in acc])
        logs = {n: {"eval": analyze.pd.DataFrame(v, columns=["step", "test_acc"])} for n, v in acc.items()}
        g = analyze.gap_by_step(summary, logs, plan)
        self.assertEqual(list(g["step"]), [4, 8])
        self.assertEqual(list(g["pairs"]), [1, 2])
        self.assertAlmostEqual(g["diff"][0], -10.0)
        self.assertAlmostEqual(g["diff"][1], -3.5)   # -5 and -2 points
        half = stats.t_quantile(0.975, 1) * (1.5 * 2 ** 0.5) / 2 ** 0.5
        self.assertAlmostEqual(g["ci_hi"][1] - g["ci_lo"][1], 2 * half)
        self.assertIn("| C | 0 |  |  | -10.00  (1, at 4) | -3.50 [-22.56, +15.56] (2, at 8) |", analyze.gap_lines(g))

    def test_paired_legacy_rebuilds_the_first_sweeps_table(self):
        # the committed results/full/paired.{csv,md} come from its summary.csv alone
        d = tempfile.mkdtemp()
        shutil.copyfile(os.path.join(ROOT, "results", "full", "summary.csv"), os.path.join(d, "summary.csv"))
        r = subprocess.run([PY, os.path.join(ROOT, "experiments", "analyze.py"), "--paired-legacy",
                            os.path.join(d, "summary.csv")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        for f in ("paired.csv", "paired.md"):
            with open(os.path.join(d, f)) as a, open(os.path.join(ROOT, "results", "full", f)) as b:
                self.assertEqual(a.read(), b.read(), f)
        r = subprocess.run([PY, os.path.join(ROOT, "experiments", "analyze.py"), "--paired-legacy",
                            os.path.join(d, "none.csv")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        shutil.rmtree(d)

    def test_missing_column_is_an_error(self):
        d = tempfile.mkdtemp()
        p = os.path.join(d, "eval.csv")
        with open(p, "w") as f:
            f.write("step,test_loss\n1,2\n")
        with self.assertRaisesRegex(ValueError, "no column test_acc"):
            analyze.read_csv(p, ["step", "test_acc"])
        shutil.rmtree(d)


class Sweep(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_order_puts_the_contrast_first(self):
        runs = runs_of(load_plan("tiny"), [1, 2, 3])
        names = [r["name"] for r in runs]
        self.assertEqual(names[:4], ["L2-ns1-s1", "L2-ns0-s1", "L3-ns1-s1", "L3-ns0-s1"])
        self.assertEqual(names[-3:], ["L3-ns0.5-s1", "L3-ns0.5-s2", "L3-ns0.5-s3"])
        self.assertEqual(len(names), 15)
        self.assertEqual(len(runs_of(load_plan("map"), range(1, 11))), 160)

    def write_plan(self, cells, seeds=(1, 2, 3)):
        path = os.path.join(self.dir, "p.json")
        with open(path, "w") as f:
            json.dump({"reference_noise": 1, "seeds": list(seeds), "steps": 8, "cells": cells}, f)
        return path

    def test_cell_seeds_and_group_reference(self):
        # a cell of extra arms (noise 0 only) on its own seeds, its reference in its group's cell
        path = self.write_plan([{"name": "A", "noise": [0, 1], "seeds": [1, 2]},
                                {"name": "B", "group": "A", "flags": ["--value-mean", "1"], "noise": [0], "seeds": [2]}])
        names = sorted(r["name"] for r in runs_of(load_plan(path), [1, 2, 3]))
        self.assertEqual(names, ["A-ns0-s1", "A-ns0-s2", "A-ns1-s1", "A-ns1-s2", "B-ns0-s2"])
        self.assertEqual([r["name"] for r in runs_of(load_plan(path), [2]) if r["cell"] == "B"], ["B-ns0-s2"])

    def test_plans_without_a_reference_are_refused(self):
        bad = (([{"name": "A", "noise": [0]}], "lacks the reference noise"),
               ([{"name": "A", "noise": [1]}, {"name": "B", "group": "C", "noise": [0]}], "no cell of the plan"),
               ([{"name": "A", "noise": [0]}, {"name": "B", "group": "A", "noise": [0]}], "lacks the reference noise"),
               ([{"name": "A", "noise": [1], "seeds": [1]}, {"name": "B", "group": "A", "noise": [0], "seeds": [1, 2]}],
                "seeds its group's cell A does not"),
               ([{"name": "A", "noise": [1], "seeds": [7]}], "among the plan's"))
        for cells, message in bad:
            with self.assertRaisesRegex(UsageError, message):
                load_plan(self.write_plan(cells))

    def test_a_run_in_use_elsewhere_is_skipped(self):
        # another sweep over the same work folder holds L2-ns1-s1's lock: left to it, no failure
        out, work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")
        rd = os.path.join(work, "L2-ns1-s1")
        os.makedirs(rd)
        fd = os.open(os.path.join(rd, "run.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            r = sweep_cmd("--plan", "tiny", "--out", out, "--work", work, "--max-runs", "2", "--no-report")
        finally:
            os.close(fd)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("skipped  L2-ns1-s1: running elsewhere", r.stdout)
        self.assertNotIn("FAILED", r.stdout)
        self.assertIn("finished L2-ns0-s1", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "runs", "L2-ns1-s1")))
        self.assertEqual(os.listdir(rd), ["run.lock"])   # nothing of the other run touched

    def test_cells_option(self):
        path = self.write_plan([{"name": "A", "noise": [0, 1]}, {"name": "B", "noise": [1]}])
        r = sweep_cmd("--plan", path, "--out", os.path.join(self.dir, "o"), "--dry-run", "--cells", "B")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 recorded, 3 to run (cells B)", r.stdout)
        self.assertEqual(sorted(l.split()[0] for l in r.stdout.splitlines() if l.startswith("  ")),
                         ["B-ns1-s1", "B-ns1-s2", "B-ns1-s3"])
        r = sweep_cmd("--plan", path, "--out", os.path.join(self.dir, "o"), "--dry-run", "--cells", "B,Z")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "sweep.py: --cells: Z is no cell of plan p (its cells: A, B)")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "o")))

    def test_interrupted_and_continued_equals_uninterrupted(self):
        a, b = os.path.join(self.dir, "a"), os.path.join(self.dir, "b")
        r = sweep_cmd("--plan", "tiny", "--out", a, "--work", a + "w")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("started "), 15, r.stdout)
        self.assertIn("[15/15, ", r.stdout)
        for f in ("summary.csv", "map.csv", "map.md", "layers.csv", "gap.csv", "gap.png", "forest.png",
                  "loss_curves.png", "layers.png"):
            self.assertGreater(os.path.getsize(os.path.join(a, f)), 0, f)
        # the report's accuracy is percent and its header says so (records hold fractions)
        head = analyze.pd.read_csv(os.path.join(a, "summary.csv"))
        self.assertNotIn("test_acc", head.columns)
        self.assertTrue((head["test_acc_pct"] > 1).any(), head["test_acc_pct"])

        # b: 4 runs, then a report of those alone, then a run stopped half way by hand,
        # then the rest; the run directories of finished runs are not needed again
        r = sweep_cmd("--plan", "tiny", "--out", b, "--work", b + "w", "--max-runs", "4")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("finished "), 4, r.stdout)
        with open(os.path.join(b, "map.csv")) as f:
            partial = f.read()
        self.assertIn("\nL2,0,1,", partial)      # seed 1 of the contrast of L2 and L3
        self.assertIn("\nL3,0.5,0,", partial)    # none yet
        run = [x for x in runs_of(load_plan("tiny"), [1, 2, 3]) if x["name"] == "L3-ns1-s2"][0]
        stop = subprocess.run([os.path.join(ROOT, "train")] + local_engine.train_args(run) +
                              ["--stop-after", "3", "--run-dir", os.path.join(b + "w", run["name"])],
                              cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(stop.returncode, 0, stop.stderr)
        shutil.rmtree(os.path.join(b + "w", "L2-ns1-s1"))
        r = sweep_cmd("--plan", "tiny", "--out", b, "--work", b + "w")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("resumed "), 1, r.stdout)
        self.assertEqual(r.stdout.count("started "), 10, r.stdout)
        self.assertIn("4 recorded, 11 to run", r.stdout)
        for f in ("map.csv", "layers.csv", "gap.csv"):
            with open(os.path.join(a, f)) as fa, open(os.path.join(b, f)) as fb:
                self.assertEqual(fa.read(), fb.read(), f)
        # summary.csv too, but for the wall time per update
        sa, sb = (analyze.pd.read_csv(os.path.join(x, "summary.csv")).drop(columns="ms_per_step") for x in (a, b))
        self.assertTrue(sa.equals(sb), "summary.csv:\n%s\n%s" % (sa, sb))

        # nothing left: a third invocation runs nothing and rewrites the same report
        r = sweep_cmd("--plan", "tiny", "--out", b, "--work", b + "w")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("15 recorded, 0 to run", r.stdout)
        self.assertNotIn("started ", r.stdout)

    def test_sigterm_checkpoints_and_continues(self):
        # a sweep started in the background (SIGINT ignored, as nohup and & leave it) and
        # stopped with SIGTERM: its running trainings save a checkpoint, and the next
        # invocation resumes those begun by the same build of ./train
        import signal
        import time
        plan = os.path.join(self.dir, "slow.json")
        p = load_plan("tiny")
        p["steps"] = 4000
        p["cells"] = [p["cells"][0]]
        p["seeds"] = [1]
        del p["path"]
        with open(plan, "w") as f:
            json.dump(p, f)
        out, work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")
        args = [PY, os.path.join(ROOT, "experiments", "sweep.py"), "--plan", plan, "--out", out, "--work", work]
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        for _ in range(600):   # until both runs have logged a few updates
            logs = [os.path.join(work, n, "train.csv") for n in ("L2-ns1-s1", "L2-ns0-s1")]
            if all(os.path.exists(l) and os.path.getsize(l) > 200 for l in logs):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        text = proc.communicate(timeout=60)[0]
        self.assertEqual(proc.returncode, 130, text)
        self.assertIn("interrupted", text)
        for n in ("L2-ns1-s1", "L2-ns0-s1"):
            self.assertTrue(os.path.exists(os.path.join(work, n, "model.safetensors")), n + ": " + text)
        # one of them as if begun by a build of ./train with other numbers: it starts over,
        # the other resumes
        with open(os.path.join(work, "logs", "L2-ns0-s1.binary"), "w") as f:
            f.write("another build")
        r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("resumed "), 1, r.stdout)
        self.assertIn("dropped  L2-ns0-s1: its checkpoint is from a build of ./train with other numbers", r.stdout)
        self.assertIn("started  L2-ns0-s1", r.stdout)

    def test_time_limit(self):
        # runs start only if their cell's estimate fits into the time left, and at the limit
        # the running ones save a checkpoint and stop; the next invocation resumes them
        plan = os.path.join(self.dir, "slow.json")
        p = load_plan("tiny")
        p["steps"] = 400000     # minutes: far beyond the limit
        p["cells"] = [p["cells"][0]]
        p["seeds"] = [1, 2]
        del p["path"]
        with open(plan, "w") as f:
            json.dump(p, f)
        out, work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")
        args = ["--plan", plan, "--out", out, "--work", work, "--jobs", "1"]
        # the estimate before any record (2.75 ms a layer and update): 37 minutes a run
        r = sweep_cmd(*args, "--time-limit", "10m")
        self.assertIn("no run left that fits into the time limit", r.stdout)
        self.assertNotIn("started ", r.stdout)
        # a record of the cell that says 0.1 us an update: now a run fits, and is stopped
        write_record(os.path.join(out, "runs", "L2-ns1-s2"), False,
                     [r for r in runs_of(load_plan(plan), [2]) if r["name"] == "L2-ns1-s2"][0])
        with open(os.path.join(out, "runs", "L2-ns1-s2", "summary.json"), "w") as f:
            json.dump({"status": "finished", "ms_per_step": 1e-4}, f)
        t0 = time.time()
        r = sweep_cmd(*args, "--time-limit", "2s", "--no-report")
        self.assertLess(time.time() - t0, 60, r.stdout)
        self.assertIn("started  L2-ns1-s1", r.stdout)
        self.assertIn("time limit reached: stopping 1 runs", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(work, "L2-ns1-s1", "model.safetensors")), r.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "runs", "L2-ns1-s1")), r.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "map.csv")), "--no-report wrote a report")
        r = sweep_cmd(*args, "--time-limit", "2s")
        self.assertIn("resumed  L2-ns1-s1", r.stdout)
        r = sweep_cmd(*args, "--report", "--no-report")
        self.assertEqual(r.returncode, 2)
        r = sweep_cmd(*args, "--time-limit", "2x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a duration", r.stderr)

    def test_record_made_elsewhere_is_kept(self):
        # records unpacked from another machine while a sweep runs: the sweep skips those
        # runs, and a run it finished anyway does not overwrite (or crash on) the record
        import argparse
        out, work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")
        runs = runs_of(load_plan("tiny"), [1])
        first, second = runs[0], runs[1]
        for r in (first, second):
            write_record(os.path.join(work, r["name"]), False, r)
            with open(os.path.join(work, r["name"], "summary.json"), "w") as f:
                f.write('{"status": "finished", "made": "here"}')
        write_record(os.path.join(out, "runs", first["name"]), False, first)   # "elsewhere"
        self.assertFalse(records.save_record(out, work, first))
        with open(os.path.join(out, "runs", first["name"], "summary.json")) as f:
            self.assertNotIn("here", f.read())
        self.assertEqual([n for n in os.listdir(os.path.join(out, "runs")) if ".tmp" in n], [])
        self.assertTrue(records.save_record(out, work, second))
        args = argparse.Namespace(out=out, work=work, jobs=1, slowdown=1.0)
        s = local_engine.Sweep(args, load_plan("tiny"), runs)
        queue = [first, second, runs[2]]
        self.assertEqual(s.next_run(queue, None)["name"], runs[2]["name"])
        self.assertEqual(queue, [])

    def test_record_says_where_it_ran(self):
        out, work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")
        env = dict(os.environ, SWEEP_ORIGIN="a test machine")
        r = subprocess.run([PY, os.path.join(ROOT, "experiments", "sweep.py"), "--plan", "tiny",
                            "--seeds", "1", "--max-runs", "1", "--out", out, "--work", work,
                            "--binary", "./train"],   # relative to the cwd, the root
                           cwd=ROOT, capture_output=True, text=True, env=env)
        self.assertIn("finished L2-ns1-s1", r.stdout, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(work, "train.bin")), "--binary: no copy of ./train")
        with open(os.path.join(out, "runs", "L2-ns1-s1", "origin.json")) as f:
            o = json.load(f)
        self.assertEqual(o["machine"], "a test machine")
        self.assertEqual(o["cores"], os.cpu_count())
        with open(os.path.join(work, "logs", "L2-ns1-s1.binary")) as f:
            self.assertEqual(o["numerics_fingerprint"], f.read())
        self.assertEqual(len(o["numerics_fingerprint"]), 64)

    def test_bad_arguments_create_nothing(self):
        never = os.path.join(self.dir, "never")
        for args, says in ((["--plan", "nope"], "plan"), (["--seeds", "0"], "--seeds"),
                           (["--seeds", "x"], "--seeds"), (["--jobs", "0"], "--jobs"),
                           (["--bogus"], "unrecognized")):
            r = sweep_cmd(*args, "--out", never, "--work", never)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(says, r.stderr)
        r = sweep_cmd("--plan", "map", "--dry-run", "--out", never, "--work", never)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("160 runs", r.stdout)
        self.assertIn("left", r.stdout)
        r = sweep_cmd("--plan", "tiny", "--report", "--out", never, "--work", never)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no run recorded", r.stderr)
        self.assertFalse(os.path.exists(never))


class Reproduce(unittest.TestCase):
    """experiments/reproduce.py: a record made by this build comes out identical, a record
    whose numbers are not this build's is found with the first difference, and the
    analysis counts a pair as made by one build only when it knows."""
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.out, self.work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def reproduce(self, *names):
        return subprocess.run([PY, os.path.join(ROOT, "experiments", "reproduce.py"), "--plan", "tiny",
                               "--out", self.out, "--work", self.work] + list(names),
                              cwd=ROOT, capture_output=True, text=True)

    def test_identical_differs_and_pairs(self):
        r = sweep_cmd("--plan", "tiny", "--out", self.out, "--work", self.work, "--max-runs", "2", "--no-report")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.reproduce("L2-ns1-s1", "L2-ns0-s1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count(" identical "), 2, r.stdout)
        # a record of other numbers, from before origin.json: one loss changed in its
        # train.csv, its columns reordered
        rec = os.path.join(self.out, "runs", "L2-ns0-s1")
        os.remove(os.path.join(rec, "origin.json"))
        tr = analyze.pd.read_csv(os.path.join(rec, "train.csv"), dtype=str)
        tr.loc[tr["step"] == "3", "loss"] = "9.5"
        tr[tr.columns[::-1]].to_csv(os.path.join(rec, "train.csv"), index=False)
        r = self.reproduce("L2-ns0-s1")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DIFFERS: train.csv step 3, loss: recorded 9.5, now ", r.stdout)
        rows = analyze.pd.read_csv(os.path.join(self.out, "reproduced.csv"))
        self.assertEqual(list(rows["identical"]), ["yes", "yes", "no"])
        self.assertEqual(len(set(rows["numerics_fingerprint"])), 1)

        # the pair: the noise 0 record has no origin.json and (made up) another commit, so
        # only its reproduction could say which arithmetic made it; its last one failed
        with open(os.path.join(rec, "config.json")) as f:
            conf = json.load(f)
        conf["git_commit"] = "0000000"
        with open(os.path.join(rec, "config.json"), "w") as f:
            json.dump(conf, f)
        plan = load_plan("tiny")

        def one_build():
            summary, _ = analyze.load_records(self.out, runs_of(plan, [1]))
            m = analyze.cell_map(summary, plan)
            return int(m[(m["cell"] == "L2") & (m["noise"] == 0)]["one_build"].iloc[0])
        self.assertEqual(one_build(), 0)
        with open(os.path.join(self.out, "reproduced.csv"), "a") as f:   # as if it had been identical
            f.write(",".join(["L2-ns0-s1", "x", "", "y", "", rows["numerics_fingerprint"][0], "m", "yes", "",
                              "0.5", "0.5"]) + "\n")
        self.assertEqual(one_build(), 1)

    def test_bad_names(self):
        r = self.reproduce("L9-ns1-s1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such run in plan tiny", r.stderr)
        r = self.reproduce("L2-ns1-s1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no record", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.out, "reproduced.csv")))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    unittest.main(verbosity=2)
