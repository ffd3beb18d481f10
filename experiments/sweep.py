#!/usr/bin/python3
"""A sweep of ./train that accumulates: every finished run leaves a small record (its
config, summary and CSV logs, no checkpoints) under OUT/runs/NAME/, so a later invocation,
here or on another machine with the same code, runs only what is still missing, and the
report (experiments/analyze.py) always covers what is done.

A plan (experiments/plans/*.json) is a list of cells, each a set of ./train flags and the
noise scales to run; every cell runs the same seeds at every noise scale, so runs pair by
seed. Runs go in an order that makes a partial sweep useful: first the contrast of every
cell's noise scale 0 against the reference, seed after seed across the cells, then the
other noise scales.

Usage: experiments/sweep.py [--plan map] [--jobs 2] [--dry-run | --report] ...  (--help)
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANS = os.path.join(ROOT, "experiments", "plans")
# the small files of a run that make its record (everything but checkpoints and PNGs)
RECORD_FILES = ("config.json", "summary.json", "eval.csv", "train.csv", "clusters.csv")
# ms per update and layer of the default model, --threads 1, the other core busy (2.75 ms
# measured on this project's 2-core machine, 2026-11-23); the estimate before any record
MS_PER_LAYER = 2.75


class UsageError(Exception):
    pass


def noise_label(x):
    """0.5 -> '0.5', 1.0 -> '1': the noise scale as it appears in run names."""
    return ("%g" % x)


def load_plan(name_or_path):
    path = name_or_path if os.sep in name_or_path or name_or_path.endswith(".json") \
        else os.path.join(PLANS, name_or_path + ".json")
    try:
        with open(path) as f:
            plan = json.load(f)
    except OSError as e:
        raise UsageError("plan %s: %s" % (path, e.strerror))
    except json.JSONDecodeError as e:
        raise UsageError("plan %s: not valid JSON (%s)" % (path, e))
    plan.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    for key in ("seeds", "cells", "steps", "reference_noise"):
        if key not in plan:
            raise UsageError("plan %s: no '%s'" % (path, key))
    for c in plan["cells"]:
        if plan["reference_noise"] not in c["noise"]:
            raise UsageError("plan %s: cell %s lacks the reference noise %g"
                             % (path, c["name"], plan["reference_noise"]))
    return plan


def parse_seeds(text):
    """'1-16' or '1,2,5' -> [1, ..]; positive integers only."""
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise UsageError("--seeds: '%s' is not a list of positive integers (e.g. 1-16 or 1,2,3)" % text)
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    if not seeds or min(seeds) < 1:
        raise UsageError("--seeds: '%s' names no positive seed" % text)
    return sorted(set(seeds))


def runs_of(plan, seeds):
    """Every run of the plan, in the order they should run (see the module's comment)."""
    ref = plan["reference_noise"]
    runs = []
    for ci, c in enumerate(plan["cells"]):
        steps = c.get("steps", plan["steps"])
        for ns in c["noise"]:
            for s in seeds:
                contrast = ns == ref or ns == 0
                runs.append({
                    "name": "%s-ns%s-s%d" % (c["name"], noise_label(ns), s),
                    "cell": c["name"], "noise": ns, "seed": s, "steps": steps,
                    "layers": layers_of(plan["flags"] + c["flags"]),
                    "mlp": flag_value(plan["flags"] + c["flags"], "--mlp", 0),
                    "flags": plan["flags"] + c["flags"],
                    "order": (0 if contrast else 1, s, ci, 0 if ns == ref else 1, ns),
                })
    return sorted(runs, key=lambda r: r["order"])


def flag_value(flags, name, default):
    for i, f in enumerate(flags[:-1]):
        if f == name:
            return float(flags[i + 1])
    return default


def layers_of(flags):
    return int(flag_value(flags, "--layers", 16))


def train_args(run):
    """./train's flags for a fresh run: the plan's and the cell's, then what the sweep sets."""
    st = run["steps"]
    return run["flags"] + [
        "--noise-scale", noise_label(run["noise"]), "--seed", str(run["seed"]),
        "--steps", str(st), "--eval-every", str(st),
        "--cluster-every", str(max(st // 10, 1)), "--threads", "1"]


def record_done(out, run):
    return os.path.isfile(os.path.join(out, "runs", run["name"], "summary.json"))


def finished(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f).get("status") == "finished"
    except (OSError, ValueError):
        return False


def save_record(out, work, run):
    """Copy the run's small files into OUT/runs/NAME atomically (a temporary folder renamed),
    so a record is either whole or absent."""
    src = os.path.join(work, run["name"])
    dst = os.path.join(out, "runs", run["name"])
    tmp = dst + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for f in RECORD_FILES:
        if os.path.exists(os.path.join(src, f)):
            shutil.copyfile(os.path.join(src, f), os.path.join(tmp, f))
    os.rename(tmp, dst)


def ms_per_update(out, run, runs):
    """Measured ms per update of the run's cell (median over its records), else the model."""
    measured = []
    for r in runs:
        if r["cell"] == run["cell"] and record_done(out, r):
            try:
                with open(os.path.join(out, "runs", r["name"], "summary.json")) as f:
                    measured.append(float(json.load(f)["ms_per_step"]))
            except (OSError, ValueError, KeyError, TypeError):
                pass
    if measured:
        measured.sort()
        return measured[len(measured) // 2]
    mlp_factor = 1 + 2.0 * run["mlp"] / 128   # an MLP of 128 costs about 2 attention layers
    return MS_PER_LAYER * run["layers"] * mlp_factor


def seconds_left(out, todo, runs, jobs):
    # the final evaluation (10,000 test images) costs about 30 updates' time
    return sum(ms_per_update(out, r, runs) * (r["steps"] + 30) / 1000 for r in todo) / jobs


def hms(s):
    s = int(s + 0.5)
    return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60)


class Sweep:
    def __init__(self, args, plan, runs):
        self.args, self.plan, self.runs = args, plan, runs
        self.out, self.work, self.jobs = args.out, args.work, args.jobs
        self.log = None

    def say(self, text):
        print(text, flush=True)
        if self.log:
            self.log.write(text + "\n")
            self.log.flush()

    def start(self, run, binary):
        """Start one run (resuming its checkpoint if it has one) as a child process."""
        rd = os.path.join(self.work, run["name"])
        if os.path.isfile(os.path.join(rd, "optimizer.safetensors")) and not finished(rd):
            cmd, how = [binary, "--resume", "--run-dir", rd], "resumed"
        elif finished(rd):
            cmd, how = None, "recorded"   # finished earlier, its record was not yet saved
        else:
            cmd = [binary] + train_args(run) + ["--run-dir", rd]
            if os.path.isdir(rd):
                cmd.append("--force")    # killed before its first checkpoint: start over
            how = "started"
        if cmd is None:
            return None, how
        logf = open(os.path.join(self.work, "logs", run["name"] + ".log"), "a")
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        proc = subprocess.Popen(["nice", "-n", str(self.args.nice)] + cmd, stdout=logf,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        logf.close()
        return proc, how

    def finish(self, run, rc):
        rd = os.path.join(self.work, run["name"])
        if rc != 0 or not finished(rd):
            self.say("FAILED   %s (exit %s, log %s)" % (run["name"], rc,
                     os.path.join(self.work, "logs", run["name"] + ".log")))
            return False
        save_record(self.out, self.work, run)
        return True

    def progress(self, run, t0):
        done = sum(record_done(self.out, r) for r in self.runs)
        left = [r for r in self.runs if not record_done(self.out, r)]
        with open(os.path.join(self.out, "runs", run["name"], "eval.csv")) as f:
            acc = f.read().strip().splitlines()[-1].split(",")[2]
        self.say("finished %s (test acc %s) [%d/%d, %s so far, about %s left]" % (
            run["name"], acc, done, len(self.runs), hms(time.time() - t0),
            hms(seconds_left(self.out, left, self.runs, self.jobs))))

    def run(self, todo, binary):
        """Run `todo`, JOBS at a time; Ctrl-C lets the runs save a checkpoint (./train
        does on SIGINT) and stops. Returns the exit status."""
        os.makedirs(os.path.join(self.work, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.out, "runs"), exist_ok=True)
        self.log = open(os.path.join(self.out, "sweep.log"), "a")
        t0, failed, running, queue = time.time(), 0, {}, list(todo)
        if self.args.max_runs:
            queue = queue[:self.args.max_runs]
        try:
            while queue or running:
                while queue and len(running) < self.jobs:
                    run = queue.pop(0)
                    proc, how = self.start(run, binary)
                    self.say("%-8s %s" % (how, run["name"]))
                    if proc is None:
                        self.finish(run, 0) and self.progress(run, t0)
                    else:
                        running[proc] = run
                for proc in list(running):
                    if proc.poll() is not None:
                        run = running.pop(proc)
                        if self.finish(run, proc.returncode):
                            self.progress(run, t0)
                        else:
                            failed += 1
                time.sleep(0.05 if running else 0)
        except KeyboardInterrupt:
            # the children got the same SIGINT: wait for their checkpoints
            for proc in running:
                proc.wait()
            self.say("sweep: interrupted; %d runs of %d recorded. Run the same command to continue."
                     % (sum(record_done(self.out, r) for r in self.runs), len(self.runs)))
            return 130
        self.say("sweep: this invocation took %s; %d runs of %d recorded" % (
            hms(time.time() - t0), sum(record_done(self.out, r) for r in self.runs), len(self.runs)))
        return 1 if failed else 0


def snapshot_binary(work):
    """A private copy of ./train, so that rebuilding while a sweep runs does not change the
    program of the runs still to come (a new invocation takes the current build)."""
    src = os.path.join(ROOT, "train")
    if not os.access(src, os.X_OK):
        raise RuntimeError("./train is missing: run make train first")
    os.makedirs(work, exist_ok=True)
    dst = os.path.join(work, "train.bin")
    shutil.copyfile(src, dst + ".tmp")
    os.chmod(dst + ".tmp", 0o755)
    os.rename(dst + ".tmp", dst)
    return dst


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="experiments/sweep.py",
        description="Runs (or continues) a sweep of ./train from a plan; each finished run "
                    "leaves its record in OUT/runs/NAME/; then writes the report "
                    "(experiments/analyze.py) of every run recorded so far.",
        epilog="Exit status: 0 done, 1 a run or the report failed, 2 bad arguments, "
               "130 interrupted (rerun the same command to continue).")
    p.add_argument("--plan", default="map",
                   help="a plan name in experiments/plans/ (map, full, quick, tiny) or a path to a plan file [map]")
    p.add_argument("--seeds", help="seeds to run instead of the plan's, e.g. 1-16 or 11,12")
    p.add_argument("--out", help="results directory of the records and report [results/PLAN]")
    p.add_argument("--work", help="directory of the run directories, checkpoints and logs [runs/PLAN]")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, each single-threaded [2]")
    p.add_argument("--nice", type=int, default=10,
                   help="niceness of the runs, so that other work on the machine comes first [10]")
    p.add_argument("--max-runs", type=int, default=0,
                   help="start at most N runs in this invocation (0 = all that are missing) [0]")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the time left; run nothing")
    p.add_argument("--report", action="store_true", help="run nothing: the report of the runs recorded so far")
    a = p.parse_args(argv)
    if a.jobs < 1 or a.max_runs < 0 or not 0 <= a.nice <= 19:
        raise UsageError("--jobs must be >= 1, --max-runs >= 0, --nice 0..19")
    return a


def main(argv):
    try:
        args = parse_args(argv)
        plan = load_plan(args.plan)
        seeds = parse_seeds(args.seeds) if args.seeds else plan["seeds"]
    except UsageError as e:
        print("sweep.py: %s" % e, file=sys.stderr)
        return 2
    args.out = os.path.abspath(args.out or os.path.join(ROOT, "results", plan["name"]))
    args.work = os.path.abspath(args.work or os.path.join(ROOT, "runs", plan["name"]))
    runs = runs_of(plan, seeds)
    todo = [r for r in runs if not record_done(args.out, r)]
    print("sweep: plan %s (%s) -> %s" % (plan["name"], plan.get("about", ""), args.out))
    print("sweep: %d runs (%d cells, seeds %s), %d recorded, %d to run, %d at a time; about %s left"
          % (len(runs), len(plan["cells"]), ",".join(map(str, seeds)), len(runs) - len(todo),
             len(todo), args.jobs, hms(seconds_left(args.out, todo, runs, args.jobs))))
    if args.dry_run:
        for r in todo:
            print("  %-24s %s" % (r["name"], " ".join(train_args(r))))
        return 0
    rc = 0
    if not args.report and todo:
        try:
            binary = snapshot_binary(args.work)
        except RuntimeError as e:
            print("sweep.py: %s" % e, file=sys.stderr)
            return 1
        rc = Sweep(args, plan, runs).run(todo, binary)
        if rc == 130:
            return rc
    if not any(record_done(args.out, r) for r in runs):
        print("sweep.py: no run recorded in %s yet" % args.out, file=sys.stderr)
        return 1
    report = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "analyze.py"),
                             "--plan", args.plan, "--out", args.out] +
                            (["--seeds", args.seeds] if args.seeds else []))
    return rc or (1 if report.returncode else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv[1:]))
