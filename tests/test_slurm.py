#!/usr/bin/python3
"""The Slurm engine of experiments/sweep.py against a real Slurm: a single-node cluster of
this machine (munged, slurmctld and slurmd from Debian's munge and slurm-wlm, started here
in a temporary directory with free ports and stopped at the end) runs a sweep of 4 runs as
a job array; every run must finish and its model, logs and map must be byte-identical to
the same sweep through the local engine (one thread per run). Then one record is removed
and the resubmitted array has one task. Exit 77 (skip) only where the packages are absent.
Run from the repository root with ./train built (tests/test_experiment.c runs it)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = 77
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
PLAN = {"about": "the Slurm test: 1 cell x noise 0, 1 x seeds 1, 2", "reference_noise": 1, "seeds": [1, 2],
        "flags": ["--dataset", "repeat", "--seq-len", "8", "--vocab", "4", "--train-size", "256",
                  "--test-size", "64", "--d", "8", "--probe-size", "16", "--batch", "16", "--log-every", "1",
                  "--lr", "0.03", "--warmup", "2"],
        "steps": 12, "cells": [{"name": "L2", "flags": ["--layers", "2"], "noise": [0, 1]}]}
RUNS = ["L2-ns1-s1", "L2-ns0-s1", "L2-ns1-s2", "L2-ns0-s2"]


def which(name):
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def memory_mb():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) // 1024


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    """munged + slurmctld + slurmd of this host, all files under one temporary directory."""

    def __init__(self, d):
        self.d, self.host = d, socket.gethostname().split(".")[0]
        for sub in ("state", "spool", "log"):
            os.makedirs(os.path.join(d, sub))
        ctld_port, d_port = free_ports(2)
        self.conf = os.path.join(d, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "ClusterName=sweeptest", "SlurmctldHost=%s(127.0.0.1)" % self.host,
                "SlurmctldPort=%d" % ctld_port, "SlurmdPort=%d" % d_port,
                "AuthType=auth/munge", "CredType=cred/munge", "AuthInfo=socket=%s/munge.sock" % d,
                "SlurmUser=root", "SlurmdUser=root",
                "StateSaveLocation=%s/state" % d, "SlurmdSpoolDir=%s/spool" % d,
                "SlurmctldPidFile=%s/slurmctld.pid" % d, "SlurmdPidFile=%s/slurmd.pid" % d,
                "SlurmctldLogFile=%s/log/slurmctld.log" % d, "SlurmdLogFile=%s/log/slurmd.log" % d,
                "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
                "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
                "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
                "MpiDefault=none", "ReturnToService=2", "SchedulerType=sched/backfill",
                "NodeName=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d State=UNKNOWN"
                % (self.host, os.cpu_count(), memory_mb() // 2),
                "PartitionName=test Nodes=%s Default=YES MaxTime=INFINITE State=UP" % self.host]) + "\n")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def start(self):
        d = self.d
        subprocess.run([which("munged"), "--force", "--socket=%s/munge.sock" % d,
                        "--key-file=%s" % self.munge_key(), "--pid-file=%s/munged.pid" % d,
                        "--log-file=%s/log/munged.log" % d, "--seed-file=%s/munge.seed" % d], check=True)
        subprocess.run([which("slurmctld"), "-f", self.conf], check=True, env=self.env)
        subprocess.run([which("slurmd"), "-f", self.conf], check=True, env=self.env)
        for _ in range(120):
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=self.env)
            if r.stdout.strip() == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError("the node did not come up: sinfo says %r %r\n%s" % (r.stdout, r.stderr, self.logs()))

    def munge_key(self):
        """A fresh key of our own (0600, owned by us, as munged wants): the system one stays untouched."""
        key = os.path.join(self.d, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(128))
        os.chmod(key, 0o600)
        return key

    def logs(self):
        out = []
        for f in ("slurmctld.log", "slurmd.log", "munged.log"):
            p = os.path.join(self.d, "log", f)
            if os.path.exists(p):
                with open(p) as fh:
                    out.append("--- %s\n%s" % (f, "".join(fh.readlines()[-15:])))
        return "\n".join(out)

    def stop(self):
        subprocess.run(["scontrol", "shutdown"], capture_output=True, env=self.env)
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = os.path.join(self.d, name + ".pid")
            for _ in range(50):
                try:
                    with open(pid_file) as f:
                        pid = int(f.read().strip())
                    os.kill(pid, 0)
                except (OSError, ValueError):
                    break
                if name == "munged" or _ == 20:
                    try:
                        os.kill(pid, 15)
                    except OSError:
                        pass
                time.sleep(0.1)


def sweep(env, *args):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "sweep.py")] + list(args),
                       cwd=ROOT, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout + r.stderr


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def main():
    missing = [n for n in NEEDED if not which(n)]
    if missing:
        print("skipped: %s not installed (Debian's slurm-wlm and munge; make deps installs them)"
              % ", ".join(missing))
        return SKIP
    d = tempfile.mkdtemp(prefix="slurm-test-")
    os.chmod(d, 0o755)   # munged wants its socket's directories open to all
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAILED: " + what)

    cluster = Cluster(os.path.join(d, "cluster"))
    try:
        plan = os.path.join(d, "plan.json")
        with open(plan, "w") as f:
            json.dump(PLAN, f)
        t0 = time.time()
        cluster.start()
        print("slurm: single-node cluster up in %.1f s" % (time.time() - t0))
        a, b = os.path.join(d, "local"), os.path.join(d, "slurm")
        rc, out = sweep(os.environ, "--plan", plan, "--out", a, "--work", a + "w", "--jobs", "2")
        check(rc == 0, "local sweep exits 0 (%d): %s" % (rc, out))

        rc, out = sweep(cluster.env, "--plan", plan, "--out", b, "--work", b + "w", "--engine", "slurm",
                        "--dry-run", "--max-concurrent", "2")
        check(rc == 0 and "--array=0-3%2" in out and "--only" in out, "--dry-run prints the array: %s" % out)
        check(not os.path.exists(b + "w"), "--dry-run submits and writes nothing")

        t0 = time.time()
        rc, out = sweep(cluster.env, "--plan", plan, "--out", b, "--work", b + "w", "--engine", "slurm",
                        "--wait", "--max-concurrent", "2", "--time", "0:05:00", "--mem", "500M")
        print("slurm: the array of 4 runs took %.1f s" % (time.time() - t0))
        check(rc == 0, "slurm sweep exits 0 (%d): %s\n%s" % (rc, out, cluster.logs()))
        check("submitted job" in out and ": 4 tasks" in out and "4 of 4 runs recorded" in out,
              "submits 4 tasks and follows them to the end: %s" % out)
        for run in RUNS:
            for f in ("eval.csv", "clusters.csv", "config.json"):
                ra, rb = (os.path.join(x, "runs", run, f) for x in (a, b))
                check(os.path.exists(rb) and same_bytes(ra, rb), "%s/%s identical to the local engine's" % (run, f))
            ma, mb = (os.path.join(x + "w", run, "model.safetensors") for x in (a, b))
            check(os.path.exists(mb) and same_bytes(ma, mb), "%s: model.safetensors byte-identical" % run)
        for f in ("map.csv", "layers.csv"):
            check(os.path.exists(os.path.join(b, f)) and same_bytes(os.path.join(a, f), os.path.join(b, f)),
                  "%s identical" % f)

        if failures:
            return 1
        # a lost record: the resubmitted array has one task, the others are not run again
        shutil.rmtree(os.path.join(b, "runs", RUNS[2]))
        shutil.rmtree(os.path.join(b + "w", RUNS[2]))
        rc, out = sweep(cluster.env, "--plan", plan, "--out", b, "--work", b + "w", "--engine", "slurm", "--wait")
        check(rc == 0 and ": 1 tasks" in out and "3 recorded, 1 to run" in out,
              "resubmission runs only the missing run: %s" % out)
        check(same_bytes(os.path.join(a + "w", RUNS[2], "model.safetensors"),
                         os.path.join(b + "w", RUNS[2], "model.safetensors")), "the rerun is byte-identical")
    finally:
        cluster.stop()
        shutil.rmtree(d, ignore_errors=True)
        print("slurm test: %s" % ("failed" if failures else "every check passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
