#!/usr/bin/python3
"""PyTorch reference of the model in MODEL.md (image classification, Fashion-MNIST).

Exactly the contract's model: RMSNorm without gain, attention with beta/sqrt(dh), value
matrices only (no output projection), X = rmsnorm(X + alpha * O), optional tanh-GELU MLP,
mean pooling, linear head, cross-entropy. Parameters carry the MODEL.md names and layouts
(`x @ W`, W stored (in, out)), so state_dict() matches a C checkpoint tensor for tensor.

As a module (tools/parity.py): Model.from_meta(meta) builds the model a C checkpoint's
metadata describes, for image patches or token sequences.

Usage:
  /usr/bin/python3 tools/torch_model.py --noise-scale 1 --steps 6000 --threads 1
  /usr/bin/python3 tools/torch_model.py --noise-scale 0 --steps 6000 --save /tmp/m.safetensors
  /usr/bin/python3 tools/torch_model.py --load /tmp/m.safetensors --steps 0   # evaluate only
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time


def _limit_blas_threads_from_argv():
    """Debian's torch calls OpenBLAS (pthreads build), which ignores torch.set_num_threads and
    spins a worker per core. Its thread count is read from the environment at load time, so
    set it from --threads before importing torch."""
    n = "1"
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            n = sys.argv[i + 1]
        elif arg.startswith("--threads="):
            n = arg.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)


def _keep_freed_memory():
    """glibc returns every freed block above 128 KiB to the kernel, so each (128, 16, 64)
    activation costs fresh zeroed pages: ~4000 page faults and a third of the time per
    step. Raise the mmap and trim thresholds so freed blocks are reused."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
        libc.mallopt(M_TOP_PAD, 64 << 20)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    _limit_blas_threads_from_argv()
    _keep_freed_memory()

import numpy as np  # noqa: E402
import torch  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


# ----------------------------------------------------------------------------- data
def read_idx(path):
    """IDX file (optionally .gz) -> numpy array (uint8 data, big-endian header)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values, found {data.size}")
    return data.reshape(dims)


def load_fashion_mnist(root=DEFAULT_DATA, split="train"):
    """Returns images (N, 28, 28, 1) uint8 and labels (N,) int64."""
    prefix = "train" if split == "train" else "t10k"
    def find(name):
        for cand in (name + ".gz", name):
            p = os.path.join(root, cand)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(os.path.join(root, name + "[.gz]"))
    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError("image and label counts differ")
    return images[..., None], labels.astype(np.int64)


def patchify(images, p):
    """(N, H, W, c) uint8 -> (N, n, P) float32: p x p patches in row-major patch order,
    each flattened (row, col, channel), pixel/255. 28x28 with p=7 gives n=16, P=49."""
    N, H, W, c = images.shape
    assert H % p == 0 and W % p == 0
    x = images.reshape(N, H // p, p, W // p, p, c)      # (N, pr, row, pc, col, ch)
    x = x.transpose(0, 1, 3, 2, 4, 5)                   # (N, pr, pc, row, col, ch)
    x = x.reshape(N, (H // p) * (W // p), p * p * c)
    return x.astype(np.float32) / 255.0


# ----------------------------------------------------------------------------- model
def rmsnorm(y, eps=1e-6):
    """Per token, no gain: y / sqrt(mean(y^2) + eps), so |x| = sqrt(d)."""
    return y * torch.rsqrt(y.pow(2).mean(dim=-1, keepdim=True) + eps)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def alpha_value(rule, L):
    return {"sqrt": 1.0 / math.sqrt(L), "linear": 1.0 / L, "one": 1.0}[rule]


class Layer(torch.nn.Module):
    def __init__(self, d, M):
        super().__init__()
        self.q = torch.nn.Parameter(torch.empty(d, d))
        self.k = torch.nn.Parameter(torch.empty(d, d))
        self.v = torch.nn.Parameter(torch.empty(d, d))
        if M > 0:
            self.w1 = torch.nn.Parameter(torch.empty(d, M))
            self.w2 = torch.nn.Parameter(torch.empty(M, d))


class Head(torch.nn.Module):
    """logits = pooled @ weight + bias, weight stored (d, C) (not nn.Linear's (C, d))."""
    def __init__(self, d, C):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(d, C))
        self.bias = torch.nn.Parameter(torch.empty(C))


class Model(torch.nn.Module):
    """P is the patch size P, or the vocabulary when tokens=True (embed is then the lookup
    table E (vocab, d) and forward takes int64 tokens (B, n) instead of patches)."""
    def __init__(self, P, n, d=64, L=16, H=1, C=10, M=0, beta=1.0, alpha=None, tokens=False):
        super().__init__()
        assert d % H == 0
        self.P, self.n, self.d, self.L, self.H, self.C, self.M = P, n, d, L, H, C, M
        self.beta = beta
        self.alpha = 1.0 / math.sqrt(L) if alpha is None else alpha
        self.tokens = tokens
        self.embed = torch.nn.Parameter(torch.empty(P, d))
        self.pos = torch.nn.Parameter(torch.empty(n, d))
        self.layers = torch.nn.ModuleList([Layer(d, M) for _ in range(L)])
        self.head = Head(d, C)

    @classmethod
    def from_meta(cls, meta):
        """The model described by the __metadata__ of a C checkpoint (all values strings).
        alpha is taken as stored (the C value as %.9g), not recomputed from the rule, so
        both sides multiply by the same float32."""
        return cls(P=int(meta["input_dim"]), n=int(meta["n"]), d=int(meta["d"]),
                   L=int(meta["L"]), H=int(meta["H"]), C=int(meta["classes"]),
                   M=int(meta["mlp"]), beta=float(meta["beta"]), alpha=float(meta["alpha"]),
                   tokens=meta.get("input") == "tokens")

    @torch.no_grad()
    def init(self, seed, noise_scale=1.0, value_mean=0.0):
        """MODEL.md initialization; one seed fixes every draw (torch's generator, so the
        draws are not the C trainer's draws: same distribution, different numbers)."""
        g = torch.Generator().manual_seed(seed)
        d, P, M = self.d, self.P, self.M
        def normal(shape, var):
            return torch.randn(*shape, generator=g) * math.sqrt(var)
        self.embed.copy_(normal((P, d), 1.0 if self.tokens else 1.0 / P))
        self.pos.copy_(normal((self.n, d), 1.0))
        for layer in self.layers:
            layer.q.copy_(normal((d, d), 1.0 / d))
            layer.k.copy_(normal((d, d), 1.0 / d))
            G = normal((d, d), 1.0 / d)
            layer.v.copy_(value_mean * torch.eye(d) + noise_scale * G)
            if M > 0:
                layer.w1.copy_(normal((d, M), 1.0 / d))
                layer.w2.copy_(normal((M, d), 1.0 / M))
        self.head.weight.zero_()
        self.head.bias.zero_()
        return self

    def attention(self, X, layer):
        """X (B, n, d) -> O (B, n, d): per head softmax(beta q k^T / sqrt(dh)) v, concatenated."""
        B, n, d = X.shape
        H, dh = self.H, d // self.H
        def heads(t):                                    # (B, n, d) -> (B, H, n, dh)
            return t.view(B, n, H, dh).transpose(1, 2)
        q, k, v = heads(X @ layer.q), heads(X @ layer.k), heads(X @ layer.v)
        S = (self.beta / math.sqrt(dh)) * (q @ k.transpose(-1, -2))   # (B, H, n, n)
        A = torch.softmax(S, dim=-1)                                    # over keys
        O = A @ v                                                       # (B, H, n, dh)
        return O.transpose(1, 2).reshape(B, n, d)

    def forward(self, inputs, return_states=False):
        """inputs: patches (B, n, P) float, or tokens (B, n) int64 when self.tokens
        -> logits (B, C); optionally the token states of layers 0..L."""
        e = self.embed[inputs] if self.tokens else inputs @ self.embed
        X = rmsnorm(e + self.pos)
        states = [X] if return_states else None
        for layer in self.layers:
            X = rmsnorm(X + self.alpha * self.attention(X, layer))
            if self.M > 0:
                X = rmsnorm(X + self.alpha * (gelu_tanh(X @ layer.w1) @ layer.w2))
            if return_states:
                states.append(X)
        logits = X.mean(dim=1) @ self.head.weight + self.head.bias
        return (logits, states) if return_states else logits


def loss_fn(logits, labels):
    return torch.nn.functional.cross_entropy(logits, labels)   # mean over batch


# ----------------------------------------------------------------------------- safetensors
def save_safetensors(path, model, meta):
    tensors = {k: v.detach().float().contiguous().cpu().numpy() for k, v in model.state_dict().items()}
    header, off = {"__metadata__": {k: str(v) for k, v in meta.items()}}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for a in tensors.values():
            f.write(a.astype("<f4").tobytes())
    os.replace(tmp, path)


def load_safetensors(path):
    """-> (dict name -> float32 tensor, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    meta = header.pop("__metadata__", {})
    base, out = 8 + hlen, {}
    for name, e in header.items():
        assert e["dtype"] == "F32", f"{name}: only F32 supported"
        b, t = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[base + b:base + t], dtype="<f4")
                                     .reshape(e["shape"]).copy())
    return out, meta


# ----------------------------------------------------------------------------- training
def lr_at(step, total, base, warmup):
    """Linear warmup over `warmup` steps, then cosine decay to 0 at step `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


@torch.no_grad()
def evaluate(model, X, Y, batch=1000):
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, X.shape[0], batch):
        logits = model(X[i:i + batch])
        loss += loss_fn(logits, Y[i:i + batch]).item() * logits.shape[0]
        correct += (logits.argmax(1) == Y[i:i + batch]).sum().item()
    model.train()
    return correct / X.shape[0], loss / X.shape[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--patch", type=int, default=7)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--mlp", type=int, default=0, help="MLP width M (0 = no MLP)")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--alpha", default="sqrt", help="sqrt | linear | one | a number")
    ap.add_argument("--noise-scale", type=float, default=1.0)
    ap.add_argument("--value-mean", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep-denormals", action="store_true",
                    help="do not flush denormals to zero (flushed by default, for speed)")
    ap.add_argument("--eval-every", type=int, default=0, help="test-set eval every k steps (0 = end only)")
    ap.add_argument("--save", default="", help="write a safetensors checkpoint at the end")
    ap.add_argument("--load", default="", help="start from a safetensors checkpoint")
    ap.add_argument("--json", default="", help="append a JSON result line to this file")
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    if not a.keep_denormals:
        torch.set_flush_denormal(True)
    torch.manual_seed(a.seed)
    t0 = time.time()
    Xtr, Ytr = load_fashion_mnist(a.data, "train")
    Xte, Yte = load_fashion_mnist(a.data, "test")
    Xtr = torch.from_numpy(patchify(Xtr, a.patch)); Ytr = torch.from_numpy(Ytr)
    Xte = torch.from_numpy(patchify(Xte, a.patch)); Yte = torch.from_numpy(Yte)
    N, n, P = Xtr.shape
    alpha = alpha_value(a.alpha, a.layers) if a.alpha in ("sqrt", "linear", "one") else float(a.alpha)
    model = Model(P, n, a.d, a.layers, a.heads, 10, a.mlp, a.beta, alpha)
    if a.load:
        sd, meta = load_safetensors(a.load)
        model.load_state_dict(sd)
        print(f"loaded {a.load} meta={meta}", flush=True)
    else:
        model.init(a.seed, a.noise_scale, a.value_mean)
    cfg = dict(d=a.d, L=a.layers, H=a.heads, n=n, patch=a.patch, beta=a.beta, alpha=alpha,
               mlp=a.mlp, noise_scale=a.noise_scale, value_mean=a.value_mean, seed=a.seed,
               dataset="fashion-mnist", steps=a.steps, lr=a.lr, warmup=a.warmup, batch=a.batch)
    print(f"config {json.dumps(cfg)}  (data load {time.time() - t0:.1f}s)", flush=True)

    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(a.seed + 1)        # data order
    perm, pos_in_epoch, run_loss, run_acc = torch.randperm(N, generator=g), 0, 0.0, 0.0
    t_train = time.time()
    history = []
    for step in range(a.steps):
        if pos_in_epoch + a.batch > N:                   # reshuffle each epoch (drop the tail)
            perm, pos_in_epoch = torch.randperm(N, generator=g), 0
        idx = perm[pos_in_epoch:pos_in_epoch + a.batch]
        pos_in_epoch += a.batch
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.steps, a.lr, a.warmup)
        logits = model(Xtr[idx])
        loss = loss_fn(logits, Ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run_loss += loss.item()
        run_acc += (logits.argmax(1) == Ytr[idx]).float().mean().item()
        last = step + 1 == a.steps
        if (step + 1) % 200 == 0 or last:
            k = (step % 200) + 1
            el = time.time() - t_train
            print(f"step {step + 1:6d} lr {group['lr']:.2e} train_loss {run_loss / k:.4f} "
                  f"train_acc {run_acc / k:.4f} {1000 * el / (step + 1):.1f} ms/step", flush=True)
            run_loss = run_acc = 0.0
        if a.eval_every and (step + 1) % a.eval_every == 0 and not last:
            t_ev = time.time()
            acc, tl = evaluate(model, Xte, Yte)
            t_train += time.time() - t_ev                # keep eval out of ms/step
            history.append((step + 1, acc))
            print(f"eval step {step + 1} test_acc {acc:.4f} test_loss {tl:.4f}", flush=True)
    train_s = time.time() - t_train
    acc, tl = evaluate(model, Xte, Yte)
    ms = 1000 * train_s / max(1, a.steps)
    print(f"final steps {a.steps} test_acc {acc:.4f} test_loss {tl:.4f} "
          f"train_time {train_s:.1f}s {ms:.2f} ms/step", flush=True)
    if a.save:
        save_safetensors(a.save, model, cfg)
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(dict(cfg, test_acc=acc, test_loss=tl, ms_per_step=ms,
                                    history=history)) + "\n")
    return acc


if __name__ == "__main__":
    main()
