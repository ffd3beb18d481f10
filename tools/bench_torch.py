#!/usr/bin/env python3
"""PyTorch side of `make bench`: the same model, batch and data as build/bench.

  bench_torch.py CONFIG THREADS  ->  one line: config threads samples/s gflops ms/step rss_mb

Thread counts are fixed through the environment before torch is imported (Debian's torch
calls OpenBLAS, which reads OPENBLAS_NUM_THREADS at load time) and torch.set_num_threads.
"""
import os
import sys

CONFIGS = {   # name: (d, L, H, patch, M), as in tools/bench.c
    "default": (64, 16, 1, 7, 0),
    "deep": (64, 64, 1, 7, 0),
    "wide": (256, 16, 4, 4, 512),
}
BATCH = 128


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CONFIGS:
        sys.exit("usage: bench_torch.py default|deep|wide THREADS")
    name, threads = sys.argv[1], int(sys.argv[2])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import resource
    import time
    import torch
    import torch_model as tm
    tm._keep_freed_memory()   # PyTorch at its best: reuse freed activation memory
    torch.set_num_threads(threads)

    d, L, H, p, M = CONFIGS[name]
    images, labels = tm.load_fashion_mnist(split="train")
    n, P = (28 // p) ** 2, p * p
    model = tm.Model(P=P, n=n, d=d, L=L, H=H, C=10, M=M).init(seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    warmup, steps = 2, (4 if d > 128 else 12 if L > 32 else 40)   # as in tools/bench.c
    t0 = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            t0 = time.perf_counter()
        idx = [(step * BATCH + b) % len(labels) for b in range(BATCH)]
        x = torch.from_numpy(tm.patchify(images[idx], p))     # part of a real step
        y = torch.from_numpy(labels[idx])
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    sec = (time.perf_counter() - t0) / steps
    fwd = 2.0 * n * P * d + L * (3 * 2.0 * n * d * d + 2 * 2.0 * n * n * d + 2 * 2.0 * n * d * M) + 2.0 * d * 10
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{name} {threads} {BATCH / sec:.1f} {3 * fwd * BATCH / sec * 1e-9:.2f} {sec * 1e3:.2f} {rss:.1f}")


if __name__ == "__main__":
    main()
