"""The local engine of experiments/sweep.py: JOBS runs of ./train at a time on this machine,
each single-threaded and niced, resumed from its checkpoint where it has one, recorded as it
finishes; Ctrl-C or a time limit lets every run save a checkpoint first."""
import os
import signal
import subprocess
import sys
import time

from build import numerics_fingerprint, origin, read_text, snapshot_binary
from estimate import hms, run_seconds, seconds_left
from plan import ROOT, noise_label
from records import finished, in_use, record_done, record_exists, record_problem, save_record, work_dir_problem


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
        """Start one run (resuming its checkpoint if it has one) as a child process; (None,
        "busy") for a run that another sweep over the same work directory is running. A run
        is resumed only by a program with the same numbers as the one that began it (a
        rebuild may change them; see numerics_fingerprint): a checkpoint from a build with
        other numbers is dropped and the run starts over. (A run begun outside a sweep has
        no stamp and is resumed as it is.)"""
        rd = os.path.join(self.work, run["name"])
        stamp = os.path.join(self.work, "logs", run["name"] + ".binary")
        digest = numerics_fingerprint(binary, self.work)
        if in_use(rd):   # another sweep over this work directory runs it: leave it be
            return None, "busy"
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
                    if how == "busy":
                        self.say("skipped  %s: running elsewhere (another ./train holds its run.lock);"
                                 " a later invocation records it" % run["name"])
                        continue
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
