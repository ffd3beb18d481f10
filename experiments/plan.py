#!/usr/bin/python3
"""A plan of a sweep (experiments/plans/*.json) and the runs it asks for.

A plan is a list of cells, each a set of ./train flags and the noise scales to run; every
cell runs the same seeds (or its own subset) at every noise scale, so runs pair by seed. A
cell with a "group" adds arms to its group's cell and may lack the reference noise, which
its group's cell then holds. Runs go in an order that makes a partial sweep useful: first
the contrast of every cell's noise scale 0 against the reference, seed after seed across
the cells, then the other noise scales. Every check here runs before anything is run or
written; a bad plan is a UsageError, one line for the user.
"""
import json
import math
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANS = os.path.join(ROOT, "experiments", "plans")
# --seeds names at most this many seeds (checked before the list is made)
MAX_SEEDS = 10000


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


def make_run(name, cell, noise, seed, steps, flags, order, **extra):
    """One run: what every engine and report knows of it (the name of its record, its cell,
    noise scale, seed, updates, ./train flags, its place in the order; layers and MLP width
    read from the flags for the time estimate) and any fields of its experiment's own."""
    return dict({"name": name, "cell": cell, "noise": noise, "seed": seed, "steps": steps,
                 "layers": layers_of(flags), "mlp": flag_value(flags, "--mlp", 0),
                 "flags": flags, "order": order}, **extra)


def runs_of(plan, seeds):
    """Every run of the plan, in the order they should run (see the module's comment)."""
    ref = plan["reference_noise"]
    runs = []
    for ci, c in enumerate(plan["cells"]):
        flags = plan["flags"] + c["flags"]
        for ns in c["noise"]:
            for s in cell_seeds(c, seeds):
                contrast = ns == ref or ns == 0
                runs.append(make_run("%s-ns%s-s%d" % (c["name"], noise_label(ns), s), c["name"], ns, s,
                                     c.get("steps", plan["steps"]), flags,
                                     (0 if contrast else 1, s, ci, 0 if ns == ref else 1, ns)))
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
