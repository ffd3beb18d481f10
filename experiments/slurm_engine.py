"""The Slurm engine of experiments/sweep.py: the runs still missing become one job array,
a task per run, each task running `sweep.py --only NAME` so that a task leaves the same run
directory and record as the local engine. The cluster needs the repository (with ./train
built for its compute nodes) and the OUT and WORK directories on a filesystem that every
node shares.

Every path and name goes into the script through shlex.quote: nothing a user typed
becomes shell text.
"""
import os
import shlex
import subprocess
import sys
import time

from plan import ROOT
from records import record_done


def options(args, plan_path, n):
    """sbatch's options for an array of n tasks: passed as arguments, never as script text."""
    array = "0-%d" % (n - 1)
    if args.max_concurrent:
        array += "%%%d" % args.max_concurrent
    opts = ["--parsable", "--job-name=sweep-%s" % os.path.basename(plan_path).rsplit(".", 1)[0],
            "--array=%s" % array, "--cpus-per-task=%d" % args.cpus_per_task,
            "--output=%s" % os.path.join(args.work, "slurm", "%A_%a.out")]
    for flag in ("partition", "time", "mem"):
        if getattr(args, flag):
            opts.append("--%s=%s" % (flag, getattr(args, flag)))
    return opts + args.sbatch_arg


def script(args, plan_path, names, binary, root):
    """The batch script of the array: task i runs names[i] through sweep.py --only."""
    q = shlex.quote
    lines = ["#!/bin/bash",
             # escaped: a newline in a path must not end the comment
             "# submitted as: sbatch %s THIS_FILE" % " ".join(q(o) for o in options(args, plan_path, len(names)))
             .encode("unicode_escape").decode("ascii"),
             "# one task per run of the plan that had no record when this was written;",
             "# each leaves OUT/runs/NAME like the local engine (experiments/sweep.py --only)",
             "set -euo pipefail",
             "names=(%s)" % " ".join(q(n) for n in names),
             "export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1",
             "cd %s" % q(root),
             "exec %s %s --plan %s --out %s --work %s --binary %s --nice 0 --only \"${names[$SLURM_ARRAY_TASK_ID]}\"" % (
                 q(sys.executable), q(os.path.join(root, "experiments", "sweep.py")), q(plan_path),
                 q(args.out), q(args.work), q(binary))]
    return "\n".join(lines) + "\n"


def submit(opts, path):
    """sbatch the script; returns the job id."""
    try:
        r = subprocess.run(["sbatch"] + opts + [path], capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError("sbatch not found: the Slurm engine needs Slurm's client commands")
    if r.returncode != 0:
        raise RuntimeError("sbatch refused the job: %s" % r.stderr.strip())
    return r.stdout.strip().split(";")[0]


def wait(job, count_done, say, poll=2.0):
    """Follow the array until no task of it is queued or running, saying each change of
    the number of recorded runs."""
    last = None
    while True:
        r = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i %T"], capture_output=True, text=True)
        tasks = [l for l in r.stdout.splitlines() if l.strip()]
        done = count_done()
        if done != last:
            say("slurm: job %s: %d tasks queued or running; %s" % (job, len(tasks), done))
            last = done
        if r.returncode == 0 and not tasks:
            return
        if r.returncode != 0 and "Invalid job id" not in r.stderr:
            raise RuntimeError("squeue failed: %s" % r.stderr.strip())
        if r.returncode != 0:
            return
        time.sleep(poll)


def run_slurm(args, plan, runs, todo, binary):
    """Submit the missing runs as one job array; with --wait, follow it to its end."""
    d = os.path.join(args.work, "slurm")
    os.makedirs(d, exist_ok=True)
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    path = os.path.join(d, "sweep-%s.sbatch" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        f.write(script(args, plan["path"], [r["name"] for r in todo], binary, ROOT))
    job = submit(options(args, plan["path"], len(todo)), path)
    print("slurm: submitted job %s: %d tasks (%s); task output in %s" % (job, len(todo), path, d), flush=True)
    if not args.wait:
        print("slurm: follow it with squeue -j %s; rerun this command to resubmit what is missing "
              "(add --wait to follow it and write the report)" % job)
        return 0

    def count():
        return "%d of %d runs recorded" % (sum(record_done(args.out, r) for r in runs), len(runs))
    wait(job, count, lambda t: print(t, flush=True))
    missing = [r["name"] for r in todo if not record_done(args.out, r)]
    if missing:
        print("slurm: %d runs of the array left no record (see %s): %s" % (len(missing), d, " ".join(missing)))
        return 1
    return 0
