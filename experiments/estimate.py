"""How long the runs still to do will take: from the records of their cell, else a model of
the cost per layer."""
import json
import os
import re

from plan import UsageError
from records import record_done

# ms per update and layer of the default model, --threads 1, the other core busy (2.75 ms
# measured on this project's 2-core machine, 2026-11-23); the estimate before any record
MS_PER_LAYER = 2.75


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
