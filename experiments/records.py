"""What a record of a sweep is, and whether it is the run a plan asks for.

A record (OUT/runs/NAME/) is identified by its flags, not by its name: its config.json must
hold every flag the plan and the cell set, the noise scale, the seed and the number of
updates of the run (docs/RECORDS.md). A run directory of the sweep's work folder is checked
the same way before it is resumed or recorded. A record must also be whole (the five files,
summary.json saying finished) and its numbers usable: the last evaluation at its last update,
every accuracy and loss finite.
"""
import csv
import fcntl
import json
import math
import os
import shutil
import tempfile

# the small files of a run that make its record (everything but checkpoints and PNGs)
RECORD_FILES = ("config.json", "summary.json", "eval.csv", "train.csv", "clusters.csv")


def flag_pairs(flags):
    """['--lr', '0.1', '--x'] -> [('lr', '0.1'), ('x', None)]: config.json's names."""
    pairs, i = [], 0
    while i < len(flags):
        key = flags[i][2:].replace("-", "_")
        if i + 1 < len(flags) and not flags[i + 1].startswith("--"):
            pairs.append((key, flags[i + 1]))
            i += 2
        else:
            pairs.append((key, None))
            i += 1
    return pairs


def same_value(recorded, asked):
    """config.json's value against a flag's text: numbers as numbers (1 == 1.0), text as text."""
    if isinstance(recorded, bool) or recorded is None:
        return False
    if isinstance(recorded, (int, float)):
        try:
            return float(asked) == float(recorded)
        except ValueError:
            return False
    return str(recorded) == asked


def settings_problem(conf, run):
    """None if config.json (a dict) holds the run's settings, else which one differs."""
    steps = conf.get("total_steps", conf.get("steps"))
    asked = flag_pairs(run["flags"]) + [("noise_scale", repr(float(run["noise"]))),
                                         ("seed", str(run["seed"])), ("total_steps", str(run["steps"]))]
    for key, value in asked:
        have = steps if key == "total_steps" else conf.get(key)
        if key not in conf and key != "total_steps":
            return "config.json has no '%s' (the plan sets it to %s)" % (key, value)
        if not same_value(have, "1" if value is None else value):
            return "config.json has %s %s, the plan asks %s" % (key, json.dumps(have), value)
    return None


def read_json(path):
    """A JSON object from path; ValueError naming the file if it is not one."""
    try:
        with open(path) as f:
            value = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError("%s: %s" % (os.path.basename(path), getattr(e, "strerror", None) or "not valid JSON"))
    if not isinstance(value, dict):
        raise ValueError("%s: not a JSON object" % os.path.basename(path))
    return value


def eval_problem(path, steps):
    """None if eval.csv's last evaluation is at update `steps` and every number is finite."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        last = int(rows[-1]["step"]) if rows else None
        values = [float(r[c]) for r in rows for c in ("test_loss", "test_acc")]
    except (OSError, ValueError, KeyError, TypeError, csv.Error):
        return "eval.csv cannot be read as step,test_loss,test_acc rows"
    if last != steps:
        return "eval.csv ends at step %s, the run has %d updates (a truncated record)" % (last, steps)
    if not all(math.isfinite(v) for v in values):
        return "eval.csv holds a number that is not finite"
    return None


def work_dir_problem(run_dir, run):
    """None if the run directory's config.json holds the run's settings (or it has none)."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return None
    try:
        return settings_problem(read_json(path), run)
    except ValueError as e:
        return str(e)


_CHECKED = {}   # record path -> its problem (None: good); a record never changes once made


def record_problem(out, run):
    """None if OUT/runs/NAME is a whole record of this run, else one line saying why not.
    Only for a record that exists."""
    d = os.path.join(out, "runs", run["name"])
    key = (d, run["steps"], run["seed"], run["noise"], tuple(run["flags"]))
    if key not in _CHECKED:
        _CHECKED[key] = check_record(d, run)
    return _CHECKED[key]


def check_record(d, run):
    missing = [f for f in RECORD_FILES if not os.path.isfile(os.path.join(d, f))]
    if missing:
        return "incomplete: no %s" % ", ".join(missing)
    try:
        conf, summ = read_json(os.path.join(d, "config.json")), read_json(os.path.join(d, "summary.json"))
    except ValueError as e:
        return str(e)
    problem = settings_problem(conf, run)
    if problem:
        return problem
    if summ.get("status") != "finished":
        return "summary.json says %s, not finished" % json.dumps(summ.get("status"))
    return eval_problem(os.path.join(d, "eval.csv"), run["steps"])


def record_exists(out, run):
    return os.path.exists(os.path.join(out, "runs", run["name"]))


def record_done(out, run):
    """A whole record of exactly this run."""
    return record_exists(out, run) and record_problem(out, run) is None


def stray_temporaries(out):
    """Folders in OUT/runs/ left by a save that was cut off (NAME.tmp...): never records."""
    d = os.path.join(out, "runs")
    names = os.listdir(d) if os.path.isdir(d) else []
    return sorted(n for n in names if ".tmp" in n)


def in_use(run_dir):
    """Whether a ./train holds the run directory's lock (run.lock, flock) now: a run of
    another sweep over the same work directory. Probed by taking the lock and letting it
    go at once; a ./train that starts within that instant refuses the directory with an
    error rather than sharing it, so the probe never lets two runs into one directory."""
    try:
        fd = os.open(os.path.join(run_dir, "run.lock"), os.O_RDONLY)
    except OSError:
        return False   # never run, or not yet
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def finished(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f).get("status") == "finished"
    except (OSError, ValueError):
        return False


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
