#!/usr/bin/python3
"""The edges between runs, records and the analysis (docs/RECORDS.md): plans are checked
before anything runs, a record counts only as the run its config.json describes, saves of
records never meet, a record cut short or with numbers that are not finite is never taken
as a result. Run from the repository root (tests/test_experiment.c runs it; ./train must
be built)."""
import io
import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import warnings
from contextlib import redirect_stderr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import analyze  # noqa: E402
import reproduce  # noqa: E402
from plan import load_plan, runs_of  # noqa: E402
import records  # noqa: E402
from test_sweep import sweep_cmd, write_record  # noqa: E402


def tiny_plan(**change):
    """The tiny plan as a dict, with some fields changed."""
    with open(os.path.join(ROOT, "experiments", "plans", "tiny.json")) as f:
        plan = json.load(f)
    plan.update(change)
    return plan


class Case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.out, self.work = os.path.join(self.dir, "o"), os.path.join(self.dir, "w")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def plan_file(self, plan, name="p.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(plan if isinstance(plan, str) else json.dumps(plan))
        return path

    def refused(self, *args, says):
        """The sweep refuses: exit 2, one line naming the problem, nothing created."""
        r = sweep_cmd(*args, "--out", self.out, "--work", self.work)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        self.assertIn(says, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertFalse(os.path.exists(self.out) or os.path.exists(self.work), args)


class Plans(Case):
    def test_duplicate_cells_and_noise_values_refused(self):
        # two cells of one name, or noise 1 and 1.0 (one run name): a whole cell would never run
        cells = tiny_plan()["cells"]
        p = self.plan_file(tiny_plan(cells=[cells[0], dict(cells[1], name="L2")]))
        self.refused("--plan", p, says="cell name L2 appears twice")
        p = self.plan_file(tiny_plan(cells=[dict(cells[0], noise=[0, 1, 1.0])]))
        self.refused("--plan", p, says="noise 1 appears twice")

    def test_malformed_plans_one_line(self):
        cell = tiny_plan()["cells"][0]
        for plan, says in (("[1, 2]", "not a JSON object"), ("{", "not valid JSON"),
                           (tiny_plan(cells="L2"), "'cells' must be a non-empty list"),
                           (tiny_plan(cells=[3]), "a cell is not a JSON object"),
                           (tiny_plan(seeds=["1"]), "'seeds' must be"),
                           (tiny_plan(steps="12"), "'steps' must be"),
                           (tiny_plan(flags=["--lr", 0.1]), "'flags' must be a list of strings"),
                           (tiny_plan(cells=[dict(cell, noise="0,1")]), "'noise' must be"),
                           (tiny_plan(cells=[dict(cell, noise=[0, "x", 1])]), "'noise' must be"),
                           (tiny_plan(reference_noise="1"), "'reference_noise' must be")):
            self.refused("--plan", self.plan_file(plan), says=says)
            r = sweep_cmd("--plan", self.plan_file(plan), "--report", "--out", self.out)
            self.assertNotIn("Traceback", r.stderr)

    def test_seed_span_checked_before_allocation(self):
        t0 = time.time()
        self.refused("--plan", "tiny", "--seeds", "1-100000000", says="names more than 10000 seeds")
        self.assertLess(time.time() - t0, 10)


class Identity(Case):
    def run_of(self, plan, name):
        return [r for r in runs_of(plan, plan["seeds"]) if r["name"] == name][0]

    def test_record_of_another_plan_is_not_counted(self):
        # a record named L2-ns1-s1 made by a 12-update plan is not the run of a 300-update plan
        # of the same names: reported, naming the field, and not counted; the same record
        # counts for the plan it was made by
        plan12 = load_plan("tiny")
        write_record(os.path.join(self.out, "runs", "L2-ns1-s1"), False, self.run_of(plan12, "L2-ns1-s1"))
        p = self.plan_file(tiny_plan(steps=300))
        r = sweep_cmd("--plan", p, "--dry-run", "--out", self.out, "--work", self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("record L2-ns1-s1 is not counted: config.json has total_steps 12, the plan asks 300", r.stdout)
        self.assertIn(", 0 recorded, 14 to run", r.stdout)
        r = sweep_cmd("--plan", "tiny", "--dry-run", "--out", self.out, "--work", self.work)
        self.assertIn(", 1 recorded, 14 to run", r.stdout)
        # and a flag of the cell: the record says --layers 3
        with open(os.path.join(self.out, "runs", "L2-ns1-s1", "config.json")) as f:
            conf = json.load(f)
        with open(os.path.join(self.out, "runs", "L2-ns1-s1", "config.json"), "w") as f:
            json.dump(dict(conf, layers=3), f)
        r = sweep_cmd("--plan", "tiny", "--dry-run", "--out", self.out, "--work", self.work)
        self.assertIn("not counted: config.json has layers 3, the plan asks 2", r.stdout)

    def test_finished_run_directory_of_another_plan_is_run_again(self):
        # the work folder holds L2-ns1-s1 finished with 12 updates; a plan of 30 updates must
        # not record it as its run but start it over
        r = sweep_cmd("--plan", "tiny", "--seeds", "1", "--max-runs", "1", "--no-report",
                      "--out", self.out, "--work", self.work)
        self.assertIn("finished L2-ns1-s1", r.stdout, r.stderr)
        shutil.rmtree(os.path.join(self.out, "runs", "L2-ns1-s1"))
        p = self.plan_file(tiny_plan(steps=30))
        r = sweep_cmd("--plan", p, "--seeds", "1", "--max-runs", "1", "--no-report",
                      "--out", self.out, "--work", self.work)
        self.assertIn("dropped  L2-ns1-s1: its run directory is not this run (config.json has total_steps 12, "
                      "the plan asks 30)", r.stdout, r.stderr)
        with open(os.path.join(self.out, "runs", "L2-ns1-s1", "config.json")) as f:
            self.assertEqual(json.load(f)["total_steps"], 30)


class Saves(Case):
    def test_saves_never_share_a_temporary_folder(self):
        # another sweep's save of the same run is under way in its temporary folder: this
        # save must neither delete nor fill it, and ends whole or not at all
        plan = load_plan("tiny")
        run = runs_of(plan, [1])[0]
        write_record(os.path.join(self.work, run["name"]), False, run)
        other = os.path.join(self.out, "runs", run["name"] + ".tmp")
        os.makedirs(other)
        with open(os.path.join(other, "config.json"), "w") as f:
            f.write("{}")
        self.assertTrue(records.save_record(self.out, self.work, run))
        self.assertEqual(os.listdir(other), ["config.json"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.out, "runs", run["name"]))),
                         sorted(records.RECORD_FILES))

    def test_partial_record_and_stray_temporary_are_reported_not_fatal(self):
        # a record committed with only config.json and origin.json, and a stray temporary
        # folder: every later sweep goes on, says what they are, and counts neither
        plan = load_plan("tiny")
        runs = runs_of(plan, [1])
        partial = os.path.join(self.out, "runs", runs[0]["name"])
        write_record(os.path.join(self.out, "runs", runs[1]["name"]), False, runs[1])
        os.makedirs(partial)
        for name in ("config.json", "origin.json"):
            with open(os.path.join(partial, name), "w") as f:
                f.write("{}")
        os.makedirs(os.path.join(self.out, "runs", runs[2]["name"] + ".tmp-17-abc"))
        r = sweep_cmd("--plan", "tiny", "--seeds", "1", "--dry-run", "--out", self.out, "--work", self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("record %s is not counted: incomplete: no summary.json" % runs[0]["name"], r.stdout)
        self.assertIn("%s.tmp-17-abc in" % runs[2]["name"], r.stdout)
        self.assertIn(", 1 recorded, 3 to run", r.stdout)
        r = sweep_cmd("--plan", "tiny", "--seeds", "1", "--report", "--out", self.out, "--work", self.work)
        self.assertNotIn("Traceback", r.stderr)


class Results(Case):
    def test_truncated_or_non_finite_record_left_out(self):
        plan = load_plan("tiny")
        runs = {r["name"]: r for r in runs_of(plan, [1])}
        good, cut, nan = runs["L2-ns1-s1"], runs["L2-ns0-s1"], runs["L3-ns1-s1"]
        for r in (good, cut, nan):
            write_record(os.path.join(self.out, "runs", r["name"]), False, r)
        with open(os.path.join(self.out, "runs", cut["name"], "eval.csv"), "w") as f:
            f.write("step,test_loss,test_acc\n6,0.5,0.7\n")   # the last evaluation before the end
        with open(os.path.join(self.out, "runs", nan["name"], "eval.csv"), "w") as f:
            f.write("step,test_loss,test_acc\n12,0.5,nan\n")
        err = io.StringIO()
        with redirect_stderr(err):
            summary, _ = analyze.load_records(self.out, [good, cut, nan])
        self.assertEqual(list(summary["name"]), ["L2-ns1-s1"])
        self.assertIn("record L2-ns0-s1 left out: eval.csv ends at step 6, the run has 12 updates", err.getvalue())
        self.assertIn("record L3-ns1-s1 left out: eval.csv holds a number that is not finite", err.getvalue())

    def test_reproduce_compares_rows_both_ways(self):
        # a record cut short holds a subset of the new run's rows: it is not identical
        plan = load_plan("tiny")
        run = runs_of(plan, [1])[0]
        rec, now = os.path.join(self.dir, "rec"), os.path.join(self.dir, "now")
        write_record(rec, False, run)
        write_record(now, False, run)
        self.assertEqual(reproduce.first_difference(rec, now), "")
        with open(os.path.join(rec, "train.csv")) as f:
            lines = f.readlines()
        with open(os.path.join(rec, "train.csv"), "w") as f:
            f.writelines(lines[:-2])
        self.assertIn("train.csv step 7: logged by the new run, not in the record",
                      reproduce.first_difference(rec, now))
        self.assertIn("train.csv step 7: not logged by the new run", reproduce.first_difference(now, rec))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    unittest.main(verbosity=2)
