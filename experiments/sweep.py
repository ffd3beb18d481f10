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
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import cli
import slurm_engine as slurm
from records import (RECORD_FILES, record_done, record_exists, record_problem,  # noqa: F401
                     stray_temporaries, work_dir_problem)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANS = os.path.join(ROOT, "experiments", "plans")
# --seeds names at most this many seeds (checked before the list is made)
MAX_SEEDS = 10000
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
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError("plan %s: not valid JSON (%s)" % (path, e))
    if not isinstance(plan, dict):
        raise UsageError("plan %s: not a JSON object" % path)
    plan.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    plan.setdefault("flags", [])
    plan["path"] = os.path.abspath(path)
    for key in ("seeds", "cells", "steps", "reference_noise"):
        if key not in plan:
            raise UsageError("plan %s: no '%s'" % (path, key))
    check_plan(plan, path)
    return plan


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_count(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1


def check_flags(flags, where):
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise UsageError("%s: 'flags' must be a list of strings (./train flags and values)" % where)
    if flags and not flags[0].startswith("--"):
        raise UsageError("%s: flags must start with a --flag, not %r" % (where, flags[0]))


def check_cell(c, plan, path):
    """One cell: a plain name, its flags, its noise scales (numbers >= 0, the reference
    among them, no two alike: 1 and 1.0 name the same run), its steps if it has its own."""
    if not isinstance(c, dict):
        raise UsageError("plan %s: a cell is not a JSON object: %r" % (path, c))
    # cell names become directory names and words of a Slurm script: plain ones only
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", str(c.get("name", ""))):
        raise UsageError("plan %s: cell name %r: use letters, digits, '.', '_', '-'" % (path, c.get("name")))
    where = "plan %s: cell %s" % (path, c["name"])
    c.setdefault("flags", [])
    check_flags(c["flags"], where)
    noise = c.get("noise")
    if not isinstance(noise, list) or not noise or not all(is_number(x) and x >= 0 for x in noise):
        raise UsageError("%s: 'noise' must be a list of numbers >= 0" % where)
    labels = [noise_label(x) for x in noise]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise UsageError("%s: noise %s appears twice (as %s): one run name, one run" % (
            where, dup[0], " and ".join(repr(x) for x, lab in zip(noise, labels) if lab == dup[0])))
    if "steps" in c and not is_count(c["steps"]):
        raise UsageError("%s: 'steps' must be a whole number >= 1" % where)
    if "seeds" in c and (not isinstance(c["seeds"], list) or not c["seeds"] or
                         not all(is_count(x) for x in c["seeds"])):
        raise UsageError("%s: 'seeds' must be a list of whole numbers >= 1" % where)
    if "seeds" in c and not set(c["seeds"]) <= set(plan["seeds"]):
        raise UsageError("%s: its seeds must be among the plan's" % where)


def check_reference(c, plan, path):
    """A cell holds the reference noise, or its group's cell of that name does (a cell that
    adds arms to another, e.g. V = I beside the V = G runs of its group, needs no own
    reference), and then it runs no seed its group's cell does not."""
    by_name = {x["name"]: x for x in plan["cells"]}
    base = by_name.get(c.get("group", c["name"]))
    where = "plan %s: cell %s" % (path, c["name"])
    if "group" in c and base is None:
        raise UsageError("%s: its group %r is no cell of the plan" % (where, c["group"]))
    if plan["reference_noise"] in c["noise"]:
        return
    if base is c or plan["reference_noise"] not in base["noise"]:
        raise UsageError("%s lacks the reference noise %g (nor has its group's cell)" % (where, plan["reference_noise"]))
    if not set(cell_seeds(c, plan["seeds"])) <= set(cell_seeds(base, plan["seeds"])):
        raise UsageError("%s runs seeds its group's cell %s does not: they would have no reference" % (where, base["name"]))


def cell_seeds(c, seeds):
    """The seeds of `seeds` that a cell runs: all of them, or those in the cell's own list."""
    return [s for s in seeds if s in c["seeds"]] if "seeds" in c else list(seeds)


def check_plan(plan, path):
    """A plan's fields, each of the type the sweep uses, before anything is run or written."""
    if not isinstance(plan["seeds"], list) or not plan["seeds"] or not all(is_count(x) for x in plan["seeds"]):
        raise UsageError("plan %s: 'seeds' must be a list of whole numbers >= 1" % path)
    if not is_count(plan["steps"]):
        raise UsageError("plan %s: 'steps' must be a whole number >= 1" % path)
    if not is_number(plan["reference_noise"]):
        raise UsageError("plan %s: 'reference_noise' must be a number" % path)
    check_flags(plan["flags"], "plan %s" % path)
    if not isinstance(plan["cells"], list) or not plan["cells"]:
        raise UsageError("plan %s: 'cells' must be a non-empty list" % path)
    for c in plan["cells"]:
        check_cell(c, plan, path)
    names = [c["name"] for c in plan["cells"]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError("plan %s: cell name %s appears twice: its runs would share records" % (path, dup[0]))
    for c in plan["cells"]:
        check_reference(c, plan, path)


def parse_seeds(text):
    """'1-16' or '1,2,5' -> [1, ..]; positive integers only."""
    seeds, count = [], 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise UsageError("--seeds: '%s' is not a list of positive integers (e.g. 1-16 or 1,2,3)" % text)
        count += max(int(hi or lo) - int(lo) + 1, 0)
        if count > MAX_SEEDS:   # counted before any list is made: 1-100000000 allocates nothing
            raise UsageError("--seeds: '%s' names more than %d seeds" % (text, MAX_SEEDS))
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
            for s in cell_seeds(c, seeds):
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


def seeds_of_names(names):
    """The seeds named by run names (CELL-nsNOISE-sSEED; other names are passed over)."""
    tails = (n.rsplit("-s", 1)[-1] for n in names)
    return {int(t) for t in tails if t.isdigit()}


def flag_value(flags, name, default):
    for i, f in enumerate(flags[:-1]):
        if f == name:
            return float(flags[i + 1])
    return default


def layers_of(flags):
    return int(flag_value(flags, "--layers", 16))


def train_args(run):
    """./train's flags for a fresh run: the plan's and the cell's, then what the sweep sets:
    an evaluation and a checkpoint every quarter of the updates (a run cut off by a time
    limit or a reboot resumes from there; the first 4 map records evaluated only at their end, which
    changes no trained number), clustering metrics every tenth, one thread."""
    st = run["steps"]
    return run["flags"] + [
        "--noise-scale", noise_label(run["noise"]), "--seed", str(run["seed"]),
        "--steps", str(st), "--eval-every", str(max(st // 4, 1)),
        "--cluster-every", str(max(st // 10, 1)), "--threads", "1"]


def finished(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f).get("status") == "finished"
    except (OSError, ValueError):
        return False


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def origin(fingerprint):
    """Where a run ran: the machine (SWEEP_ORIGIN names it, e.g. "16-core AVX-512 host"), its
    processor, cores and OpenBLAS kernel choice, and the numbers of the ./train that ran it."""
    return {"machine": os.environ.get("SWEEP_ORIGIN") or platform.node(),
            "cpu": cpu_model(), "cores": os.cpu_count(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "numerics_fingerprint": fingerprint}


def save_record(out, work, run, where=None):
    """Copy the run's small files into OUT/runs/NAME atomically (a temporary folder of a
    name no other process uses, renamed), so a record is either whole or absent; with
    `where`, an origin.json saying where it ran. A record that appeared meanwhile (another
    sweep's, records unpacked from another machine) is kept: returns False then."""
    src = os.path.join(work, run["name"])
    dst = os.path.join(out, "runs", run["name"])
    if os.path.exists(dst):
        return False
    tmp = tempfile.mkdtemp(prefix=run["name"] + ".tmp-%d-" % os.getpid(), dir=os.path.join(out, "runs"))
    try:
        for f in RECORD_FILES:
            shutil.copyfile(os.path.join(src, f), os.path.join(tmp, f))
        if where:
            with open(os.path.join(tmp, "origin.json"), "w") as f:
                json.dump(where, f, indent=2)
                f.write("\n")
        os.rename(tmp, dst)
    except OSError:   # made by someone else between the check and the rename, or a failed copy
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.exists(dst):
            raise
        return False
    return True


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


def run_seconds(out, run, runs):
    # each of the 4 evaluations (10,000 test images) costs about 30 updates' time
    return ms_per_update(out, run, runs) * (run["steps"] + 4 * 30) / 1000


def seconds_left(out, todo, runs, jobs):
    return sum(run_seconds(out, r, runs) for r in todo) / jobs


def parse_duration(text):
    """'90', '90s', '9m', '2h30m' -> seconds."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or not m:
        raise UsageError("--time-limit: '%s' is not a duration (e.g. 540, 9m, 2h30m)" % text)
    h, mi, se = (int(x) if x else 0 for x in m.groups())
    return h * 3600 + mi * 60 + se


def hms(s):
    s = int(s + 0.5)
    return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60)


class Sweep:
    def __init__(self, args, plan, runs):
        self.args, self.plan, self.runs = args, plan, runs
        self.out, self.work, self.jobs = args.out, args.work, args.jobs
        self.log = None
        self.estimates = {}   # cell -> estimated seconds of a run, until the next record

    def say(self, text):
        print(text, flush=True)
        if self.log:
            self.log.write(text + "\n")
            self.log.flush()

    def start(self, run, binary):
        """Start one run (resuming its checkpoint if it has one) as a child process. A run
        is resumed only by a program with the same numbers as the one that began it (a
        rebuild may change them; see numerics_fingerprint): a checkpoint from a build with
        other numbers is dropped and the run starts over. (A run begun outside a sweep has
        no stamp and is resumed as it is.)"""
        rd = os.path.join(self.work, run["name"])
        stamp = os.path.join(self.work, "logs", run["name"] + ".binary")
        digest = numerics_fingerprint(binary, self.work)
        other = work_dir_problem(rd, run)   # a run of another plan of the same name
        if other:
            self.say("dropped  %s: its run directory is not this run (%s)" % (run["name"], other))
        resumable = os.path.isfile(os.path.join(rd, "optimizer.safetensors")) and not finished(rd) and not other
        if resumable and read_text(stamp) not in (None, digest):
            self.say("dropped  %s: its checkpoint is from a build of ./train with other numbers" % run["name"])
            resumable = False
        if resumable:
            cmd, how = [binary, "--resume", "--run-dir", rd], "resumed"
        elif finished(rd) and not other:
            cmd, how = None, "recorded"   # finished earlier, its record was not yet saved
        else:
            cmd = [binary] + train_args(run) + ["--run-dir", rd]
            if os.path.isdir(rd):
                cmd.append("--force")    # killed before its first checkpoint: start over
            how = "started"
        if cmd is None:
            return None, how
        with open(stamp, "w") as f:
            f.write(digest)
        logf = open(os.path.join(self.work, "logs", run["name"] + ".log"), "a")
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        nice = ["nice", "-n", str(self.args.nice)] if self.args.nice else []   # --nice 0: no nice(1) needed
        proc = subprocess.Popen(nice + cmd, stdout=logf,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        logf.close()
        return proc, how

    def finish(self, run, rc):
        rd = os.path.join(self.work, run["name"])
        other = work_dir_problem(rd, run) if rc == 0 else None
        if other:   # changed under us: never record it as this run
            self.say("FAILED   %s: its run directory is not this run (%s)" % (run["name"], other))
            return False
        if rc != 0 or not finished(rd):
            self.say("FAILED   %s (exit %s, log %s)" % (run["name"], rc,
                     os.path.join(self.work, "logs", run["name"] + ".log")))
            return False
        if not save_record(self.out, self.work, run, origin(read_text(
                os.path.join(self.work, "logs", run["name"] + ".binary")))):
            self.say("kept     %s: the record made meanwhile elsewhere (this run's is not saved)" % run["name"])
        self.estimates.clear()   # a new record: the estimates may change
        return True

    def progress(self, run, t0):
        done = sum(record_done(self.out, r) for r in self.runs)
        left = [r for r in self.runs if not record_done(self.out, r)]
        with open(os.path.join(self.out, "runs", run["name"], "eval.csv")) as f:
            acc = f.read().strip().splitlines()[-1].split(",")[2]
        self.say("finished %s (test acc %s) [%d/%d, %s so far, about %s left]" % (
            run["name"], acc, done, len(self.runs), hms(time.time() - t0),
            hms(seconds_left(self.out, left, self.runs, self.jobs))))

    def next_run(self, queue, deadline):
        """The first run of the queue (taken out of it), or with a time limit the first
        whose estimated time fits into what is left of it; None if none does."""
        for run in [r for r in queue if record_exists(self.out, r)]:
            queue.remove(run)
            problem = record_problem(self.out, run)
            self.say("skipped  %s: recorded meanwhile elsewhere%s" % (
                run["name"], " (but not as this run: %s)" % problem if problem else ""))
        for i, run in enumerate(queue):
            if deadline is None or time.time() + self.estimate(run) <= deadline:
                return queue.pop(i)
        return None

    def estimate(self, run):
        """run_seconds times --slowdown, read from the records once per cell and record."""
        key = (run["cell"], run["steps"])
        if key not in self.estimates:
            self.estimates[key] = self.args.slowdown * run_seconds(self.out, run, self.runs)
        return self.estimates[key]

    def stop_all(self, running):
        """SIGTERM to every run (./train saves a checkpoint on it), then wait for them."""
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in running:
            proc.wait()

    def run(self, todo, binary):
        """Run `todo`, JOBS at a time; Ctrl-C lets the runs save a checkpoint (./train
        does on SIGINT) and stops. With --time-limit, only runs whose estimated time fits
        into the time left start, and at the limit the running ones save a checkpoint and
        stop. Returns the exit status."""
        os.makedirs(os.path.join(self.work, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.out, "runs"), exist_ok=True)
        self.log = open(os.path.join(self.out, "sweep.log"), "a")
        t0, failed, running, queue = time.time(), 0, {}, list(todo)
        deadline = t0 + self.args.time_limit if self.args.time_limit is not None else None
        if self.args.max_runs:
            queue = queue[:self.args.max_runs]
        try:
            while queue or running:
                if deadline is not None and time.time() >= deadline and running:
                    self.say("sweep: time limit reached: stopping %d runs (each saves a checkpoint)"
                             % len(running))
                    self.stop_all(running)
                    running = {}
                while queue and len(running) < self.jobs:
                    run = self.next_run(queue, deadline)
                    if run is None:
                        if not running:
                            self.say("sweep: no run left that fits into the time limit")
                            queue = []
                        break
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
            # Ctrl-C reaches the children too, a SIGTERM of the sweep does not: tell each
            # (./train saves a checkpoint on either signal) and wait for the checkpoints
            self.stop_all(running)
            self.say("sweep: interrupted; %d runs of %d recorded. Run the same command to continue."
                     % (sum(record_done(self.out, r) for r in self.runs), len(self.runs)))
            return 130
        self.say("sweep: this invocation took %s; %d runs of %d recorded" % (
            hms(time.time() - t0), sum(record_done(self.out, r) for r in self.runs), len(self.runs)))
        return 1 if failed else 0


_FINGERPRINTS = {}


def numerics_fingerprint(binary, work):
    """sha256 of the weights a tiny fixed training (attention with 2 heads, MLP, Adam,
    5 updates, 1 thread) ends with: the same for two builds whose arithmetic agrees,
    whatever else differs between them (the commit compiled in, the code around)."""
    if binary not in _FINGERPRINTS:
        rd = os.path.join(work, "fingerprint-%d" % os.getpid())   # tasks may run at once
        flags = ["--dataset", "repeat", "--seq-len", "8", "--vocab", "8", "--train-size", "64",
                 "--test-size", "16", "--d", "16", "--heads", "2", "--mlp", "32", "--layers", "2",
                 "--steps", "5", "--batch", "16", "--eval-every", "5", "--cluster-every", "5",
                 "--threads", "1", "--run-dir", rd, "--force"]
        subprocess.run([binary] + flags, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        h = hashlib.sha256()
        with open(os.path.join(rd, "model.safetensors"), "rb") as f:
            h.update(f.read())
        shutil.rmtree(rd, ignore_errors=True)
        _FINGERPRINTS[binary] = h.hexdigest()
    return _FINGERPRINTS[binary]


def read_text(path):
    """A file's text, or None if it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


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


def report_unusable(out, runs):
    """One line per record that is not counted (not this plan's run, incomplete, truncated,
    numbers not finite) and per stray temporary folder; the number of records not counted.
    Neither is run over nor deleted: a person decides what they are."""
    bad = 0
    for r in runs:
        problem = record_exists(out, r) and record_problem(out, r)
        if problem:
            print("sweep: record %s is not counted: %s (move it away to run it again)" % (r["name"], problem))
            bad += 1
    for name in stray_temporaries(out):
        print("sweep: %s in %s is the temporary folder of a save that was cut off: skipped "
              "(delete it)" % (name, os.path.join(out, "runs")))
    return bad


def run_only(args, plan, runs):
    """One run of the plan, by name (a Slurm task): skipped if it has a record."""
    run = [r for r in runs if r["name"] == args.only]
    if not run:
        print("sweep.py: --only %s: no such run in plan %s" % (args.only, plan["name"]), file=sys.stderr)
        return 2
    if record_exists(args.out, run[0]):
        problem = record_problem(args.out, run[0])
        print("recorded %s%s" % (args.only, " (not counted: %s)" % problem if problem else ""))
        return 1 if problem else 0
    args.jobs, args.max_runs = 1, 0
    try:
        binary = args.binary or snapshot_binary(args.work)
    except RuntimeError as e:
        print("sweep.py: %s" % e, file=sys.stderr)
        return 1
    return Sweep(args, plan, runs).run(run, binary)


def run_slurm(args, plan, runs, todo, binary):
    """Submit the missing runs as one job array; with --wait, follow it to its end."""
    d = os.path.join(args.work, "slurm")
    os.makedirs(d, exist_ok=True)
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    path = os.path.join(d, "sweep-%s.sbatch" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        f.write(slurm.script(args, plan["path"], [r["name"] for r in todo], binary, ROOT))
    job = slurm.submit(slurm.options(args, plan["path"], len(todo)), path)
    print("slurm: submitted job %s: %d tasks (%s); task output in %s" % (job, len(todo), path, d), flush=True)
    if not args.wait:
        print("slurm: follow it with squeue -j %s; rerun this command to resubmit what is missing "
              "(add --wait to follow it and write the report)" % job)
        return 0

    def count():
        return "%d of %d runs recorded" % (sum(record_done(args.out, r) for r in runs), len(runs))
    slurm.wait(job, count, lambda t: print(t, flush=True))
    missing = [r["name"] for r in todo if not record_done(args.out, r)]
    if missing:
        print("slurm: %d runs of the array left no record (see %s): %s" % (len(missing), d, " ".join(missing)))
        return 1
    return 0


def parse_args(argv):
    p = cli.Parser(
        prog="experiments/sweep.py",
        description="Runs (or continues) a sweep of ./train from a plan; each finished run "
                    "leaves its record in OUT/runs/NAME/; then writes the report "
                    "(experiments/analyze.py) of every run recorded so far.",
        epilog="Exit status: 0 done, 1 a run or the report failed, 2 bad arguments, "
               "130 interrupted (rerun the same command to continue).")
    p.add_argument("--plan", default="map",
                   help="a plan name in experiments/plans/ (map, full, quick, tiny) or a path to a plan file [map]")
    p.add_argument("--seeds", help="seeds to run instead of the plan's, e.g. 1-16 or 11,12")
    p.add_argument("--cells", metavar="NAME,..",
                   help="run only the runs of these cells of the plan (the report still covers all of it)")
    p.add_argument("--out", help="results directory of the records and report [results/PLAN]")
    p.add_argument("--work", help="directory of the run directories, checkpoints and logs [runs/PLAN]")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, each single-threaded [2]")
    p.add_argument("--nice", type=int, default=10,
                   help="niceness of the runs, so that other work on the machine comes first [10]")
    p.add_argument("--max-runs", type=int, default=0,
                   help="start at most N runs in this invocation (0 = all that are missing) [0]")
    p.add_argument("--time-limit", metavar="DURATION",
                   help="stop by then (e.g. 540, 9m, 2h30m): start only runs whose estimated time "
                        "(from the records of their cell) fits into the time left; at the limit the "
                        "running ones save a checkpoint and stop")
    p.add_argument("--slowdown", type=float, default=1.0, metavar="F",
                   help="with --time-limit: runs here take F times the estimate from the records [1]")
    p.add_argument("--binary", help="the ./train to run instead of a fresh copy of the build "
                                    "(e.g. a static one on a machine without our packages)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan and the time left (with --engine slurm: the sbatch script); run nothing")
    p.add_argument("--report", action="store_true", help="run nothing: the report of the runs recorded so far")
    p.add_argument("--no-report", action="store_true",
                   help="run the runs, write no report (e.g. where numpy and matplotlib are missing or slow)")
    p.add_argument("--engine", choices=("local", "slurm"), default="local",
                   help="local: JOBS runs at a time here; slurm: a job array, one task per missing run [local]")
    s = p.add_argument_group("Slurm (--engine slurm)")
    s.add_argument("--wait", action="store_true", help="follow the array until it ends, then write the report")
    s.add_argument("--max-concurrent", type=int, default=0, metavar="K",
                   help="at most K tasks at a time (--array=0-N%%K; 0 = no limit) [0]")
    s.add_argument("--partition", help="sbatch --partition")
    s.add_argument("--time", help="sbatch --time, per task (e.g. 0:30:00)")
    s.add_argument("--cpus-per-task", type=int, default=1, help="sbatch --cpus-per-task (each run uses one thread) [1]")
    s.add_argument("--mem", help="sbatch --mem, per task (e.g. 1G)")
    s.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                   help="another sbatch option, passed as it is (repeat for more), e.g. --sbatch-arg=--account=lab")
    i = p.add_argument_group("inside a Slurm task (written into the script; not for direct use)")
    i.add_argument("--only", metavar="NAME", help="run this one run of the plan (if it has no record) and no report")
    a = p.parse_args(argv)
    a.time_limit = parse_duration(a.time_limit) if a.time_limit is not None else None
    a.binary = os.path.abspath(a.binary) if a.binary else None
    if a.report and a.no_report:
        raise UsageError("--report and --no-report: choose one")
    if a.slowdown <= 0:
        raise UsageError("--slowdown must be > 0")
    if a.jobs < 1 or a.max_runs < 0 or not 0 <= a.nice <= 19 or a.max_concurrent < 0 or a.cpus_per_task < 1:
        raise UsageError("--jobs and --cpus-per-task must be >= 1, --max-runs and --max-concurrent >= 0, --nice 0..19")
    return a


def chosen_cells(plan, text):
    """--cells 'A,B' -> {'A', 'B'}, each a cell of the plan; None -> every cell."""
    names = [c["name"] for c in plan["cells"]]
    if text is None:
        return set(names)
    chosen = [x for x in text.split(",") if x]
    unknown = [x for x in chosen if x not in names]
    if unknown or not chosen:
        raise UsageError("--cells: %s is no cell of plan %s (its cells: %s)"
                         % (unknown[0] if unknown else repr(text), plan["name"], ", ".join(names)))
    return set(chosen)


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
    if args.only:
        return run_only(args, plan, runs)
    try:
        cells = chosen_cells(plan, args.cells)
    except UsageError as e:
        print("sweep.py: %s" % e, file=sys.stderr)
        return 2
    todo = [r for r in runs if not record_exists(args.out, r) and r["cell"] in cells]
    conflicts = report_unusable(args.out, runs)
    print("sweep: plan %s (%s) -> %s" % (plan["name"], plan.get("about", ""), args.out))
    recorded = sum(record_exists(args.out, r) for r in runs) - conflicts
    print("sweep: %d runs (%d cells, seeds %s), %d recorded, %d to run%s, %d at a time; about %s left"
          % (len(runs), len(plan["cells"]), ",".join(map(str, seeds)), recorded, len(todo),
             " (cells %s)" % args.cells if args.cells else "", args.jobs,
             hms(seconds_left(args.out, todo, runs, args.jobs))))
    if args.dry_run:
        if args.engine == "slurm" and todo:
            print(slurm.script(args, plan["path"], [r["name"] for r in todo],
                               os.path.join(args.work, "train.bin"), ROOT), end="")
            return 0
        for r in todo:
            print("  %-24s %s" % (r["name"], " ".join(train_args(r))))
        return 0
    rc = 0
    if not args.report and todo:
        try:
            binary = args.binary or snapshot_binary(args.work)
            if args.engine == "slurm":
                rc = run_slurm(args, plan, runs, todo, binary)
            else:
                rc = Sweep(args, plan, runs).run(todo, binary)
        except RuntimeError as e:
            print("sweep.py: %s" % e, file=sys.stderr)
            return 1
        if rc == 130 or (args.engine == "slurm" and not args.wait):
            return rc
    if args.no_report:
        return rc
    if not any(record_done(args.out, r) for r in runs):
        print("sweep.py: no run recorded in %s yet" % args.out, file=sys.stderr)
        return 1
    rc = rc or (1 if conflicts else 0)
    report = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "analyze.py"),
                             "--plan", args.plan, "--out", args.out] +
                            (["--seeds", args.seeds] if args.seeds else []))
    return rc or (1 if report.returncode else 0)


def interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # a sweep started in the background (nohup, &) inherits SIGINT ignored: take it back,
    # and stop on SIGTERM (a job scheduler's, a shutdown) the same way
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    sys.exit(main(sys.argv[1:]))
