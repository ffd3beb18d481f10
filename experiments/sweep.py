#!/usr/bin/python3
"""A sweep of ./train that accumulates: every finished run leaves a small record (its
config, summary and CSV logs, no checkpoints) under OUT/runs/NAME/, so a later invocation,
here or on another machine with the same code, runs only what is still missing, and the
report (experiments/analyze.py) always covers what is done.

The command line over the parts of experiments/: plan.py (a plan and its runs), records.py
(what a record is, saving one), estimate.py (time left), build.py (the program and where
it ran), local_engine.py and slurm_engine.py (running the runs), analyze.py (the report).

Usage: experiments/sweep.py [--plan map] [--jobs 2] [--dry-run | --report] ...  (--help)
"""
import os
import signal
import subprocess
import sys

import cli
import slurm_engine as slurm
from build import snapshot_binary
from estimate import hms, parse_duration, seconds_left
from local_engine import Sweep, run_only, train_args
from plan import ROOT, UsageError, chosen_cells, load_plan, parse_seeds, runs_of
from records import record_done, record_exists, report_unusable


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
                rc = slurm.run_slurm(args, plan, runs, todo, binary)
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
