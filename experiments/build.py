"""The program a sweep runs and where it ran: a private copy of ./train, the fingerprint of
its arithmetic (two builds with the same numbers share it), and the machine."""
import hashlib
import os
import platform
import shutil
import subprocess

from plan import ROOT


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
