#!/usr/bin/python3
"""Does a recorded run come out the same with today's ./train? Runs each named record of a
sweep again (the plan's flags, one thread, from scratch) and compares what it logs with
the record, number for number: train.csv (all but the wall time `ms`), eval.csv and
clusters.csv, every row of either (a row only one of them has is a difference: a record
cut short is not identical).

Why: runs are bit-exact for one build, thread count and OpenBLAS kernel, and only then.
The sweep pairs runs by seed, and a pair whose two runs were made by builds with other
arithmetic carries a rounding-level difference besides the effect. A record reproduced
bit for bit by a build is a record of that build's arithmetic (its numerics fingerprint,
see sweep.numerics_fingerprint), which is how experiments/analyze.py tells the pairs made
by one arithmetic from the others.

Each comparison appends a row to OUT/reproduced.csv:
  name,recorded_commit,recorded_core,commit,blas_core,numerics_fingerprint,machine,
  identical,first_difference,test_acc_recorded,test_acc_now

Usage: experiments/reproduce.py [--plan map] NAME [NAME ...]
Exit status: 0 every run identical, 1 a run differs or failed, 2 bad arguments.
"""
import csv
import json
import os
import subprocess
import sys

import cli
from records import read_json, settings_problem
from build import numerics_fingerprint, origin, snapshot_binary
from local_engine import train_args
from plan import ROOT, UsageError, load_plan, runs_of, seeds_of_names

COLUMNS = ["name", "recorded_commit", "recorded_core", "commit", "blas_core", "numerics_fingerprint",
           "machine", "identical", "first_difference", "test_acc_recorded", "test_acc_now"]
# what identifies a row of each log, and the columns that are not numbers of the model
LOGS = {"train.csv": (("step",), ("ms",)), "eval.csv": (("step",), ()),
        "clusters.csv": (("step", "layer"), ())}


def read_rows(path, key):
    """A CSV's rows as dicts of strings, by the values of the `key` columns."""
    with open(path, newline="") as f:
        return {tuple(r[k] for k in key): r for r in csv.DictReader(f)}


def first_difference(recorded, now):
    """'' if the recorded run's logs and the new run's have the same rows with the same
    text, else where the first difference is (file, row, column, both values; or a row that
    only one of them has)."""
    for name, (key, skip) in LOGS.items():
        old, new = read_rows(os.path.join(recorded, name), key), read_rows(os.path.join(now, name), key)
        for k in list(old) + [k for k in new if k not in old]:
            where = "%s %s" % (name, ",".join("%s %s" % kv for kv in zip(key, k)))
            if k not in new:
                return "%s: not logged by the new run" % where
            if k not in old:
                return "%s: logged by the new run, not in the record (a record cut short?)" % where
            for col in list(old[k]) + [c for c in new[k] if c not in old[k]]:
                if col not in skip and new[k].get(col) != old[k].get(col):
                    return "%s, %s: recorded %s, now %s" % (where, col, old[k].get(col), new[k].get(col))
    return ""


def json_of(path):
    with open(path) as f:
        return json.load(f)


def final_acc(run_dir):
    rows = list(read_rows(os.path.join(run_dir, "eval.csv"), ("step",)).values())
    return rows[-1]["test_acc"] if rows else ""


def reproduce(run, binary, out, work):
    """Run it again into WORK/reproduce/NAME; its row of reproduced.csv."""
    recorded = os.path.join(out, "runs", run["name"])
    rd = os.path.join(work, "reproduce", run["name"])
    os.makedirs(os.path.dirname(rd), exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with open(rd + ".log", "w") as log:
        rc = subprocess.run([binary] + train_args(run) + ["--run-dir", rd, "--force"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if rc != 0:
        raise RuntimeError("%s: ./train failed (exit %d, log %s.log)" % (run["name"], rc, rd))
    conf_old, conf_new = json_of(os.path.join(recorded, "config.json")), json_of(os.path.join(rd, "config.json"))
    where = origin(numerics_fingerprint(binary, work))
    diff = first_difference(recorded, rd)
    return {"name": run["name"], "recorded_commit": conf_old.get("git_commit", ""),
            "recorded_core": conf_old.get("blas_core", ""), "commit": conf_new.get("git_commit", ""),
            "blas_core": conf_new.get("blas_core", ""), "numerics_fingerprint": where["numerics_fingerprint"],
            "machine": where["machine"], "identical": "no" if diff else "yes", "first_difference": diff,
            "test_acc_recorded": final_acc(recorded), "test_acc_now": final_acc(rd)}


def append_row(path, row):
    new = not os.path.isfile(path)
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerow(row)


def recorded_runs(plan, out, names):
    """The plan's runs of these names, each with a record; UsageError otherwise."""
    by_name = {r["name"]: r for r in runs_of(plan, sorted(set(plan["seeds"]) | seeds_of_names(names)))}
    for n in names:
        if n not in by_name:
            raise UsageError("%s: no such run in plan %s" % (n, plan["name"]))
        if not os.path.isfile(os.path.join(out, "runs", n, "summary.json")):
            raise UsageError("%s: no record in %s" % (n, os.path.join(out, "runs")))
        try:   # run again with the plan's flags, it must be the plan's run
            other = settings_problem(read_json(os.path.join(out, "runs", n, "config.json")), by_name[n])
        except ValueError as e:
            other = str(e)
        if other:
            raise UsageError("%s: the record is not this plan's run: %s" % (n, other))
    return [by_name[n] for n in names]


def main(argv):
    p = cli.Parser(prog="experiments/reproduce.py", description=__doc__.split("\n")[0],
                                epilog="Exit status: 0 every run identical, 1 a run differs or failed, "
                                       "2 bad arguments.")
    p.add_argument("names", nargs="+", metavar="NAME", help="recorded runs, e.g. L16-ns1-s3")
    p.add_argument("--plan", default="map", help="plan name or file, as for sweep.py [map]")
    p.add_argument("--out", help="results directory of the records [results/PLAN]")
    p.add_argument("--work", help="where the new runs go [runs/PLAN], under reproduce/")
    p.add_argument("--binary", help="the ./train to run instead of a fresh copy of the build")
    a = p.parse_args(argv)
    try:
        plan = load_plan(a.plan)
        out = os.path.abspath(a.out or os.path.join(ROOT, "results", plan["name"]))
        work = os.path.abspath(a.work or os.path.join(ROOT, "runs", plan["name"]))
        runs = recorded_runs(plan, out, a.names)
    except UsageError as e:
        print("reproduce.py: %s" % e, file=sys.stderr)
        return 2
    try:
        # its own copy: the sweep's (WORK/train.bin) may be running a build of other numbers
        binary = a.binary or snapshot_binary(os.path.join(work, "reproduce"))
        differ = 0
        for run in runs:
            row = reproduce(run, binary, out, work)
            append_row(os.path.join(out, "reproduced.csv"), row)
            differ += row["identical"] != "yes"
            print("%-24s %s (recorded by %s, %s; now %s, %s; test acc %s -> %s)" % (
                run["name"], "identical" if row["identical"] == "yes" else "DIFFERS: " + row["first_difference"],
                row["recorded_commit"], row["recorded_core"] or "core unrecorded", row["commit"],
                row["blas_core"], row["test_acc_recorded"], row["test_acc_now"]), flush=True)
    except (RuntimeError, OSError) as e:
        print("reproduce.py: %s" % e, file=sys.stderr)
        return 1
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
