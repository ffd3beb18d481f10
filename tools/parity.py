#!/usr/bin/python3
"""PyTorch side of the parity test: does the C model compute what PyTorch computes?

  build/parity RUN_DIR OUT.safetensors [--batch B] [--adam-steps K] [--lr LR]
  /usr/bin/python3 tools/parity.py RUN_DIR OUT.safetensors

Builds tools/torch_model.py's Model from RUN_DIR/model.safetensors (weights and the
config in its metadata), runs it on the batch that build/parity stored in OUT, and compares
the loss, the logits and the gradient of every parameter tensor with the C values, then the
losses of K torch.optim.Adam steps with C's. One line per tensor; exit 0 if all are within
tolerance, 1 if not (2 on bad input).
"""
import json
import os
import struct
import sys

# Debian's torch runs its matmuls through OpenBLAS, whose thread count is read from the
# environment when the library loads: one thread for reproducible sums, set before import.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_model  # noqa: E402

# Tolerances: |c - torch| <= ATOL_FRAC * max|torch| + RTOL * |torch|, per tensor.
# Both sides compute in fp32 (unit roundoff 6e-8) but sum in different orders (C: OpenBLAS
# sgemm plus double-precision norms, softmax sums and loss; torch: its own kernels, fp32
# reductions), and rounding differences compound through the L layers and the backward pass.
# Measured against torch in float64 on the test's models, C and torch fp32 are equally far
# off: up to ~5e-6 of a tensor's largest value, so they differ from each other by about
# that much, and by 1e-5..1e-3 relative to single elements that are small. ATOL_FRAC 1e-4
# leaves a margin of 20x or more over the first; RTOL 1e-3 accepts the second only where
# the element is large enough to be measured. Any real bug (a missing term, a wrong scale, a
# transposed matrix) moves a whole tensor by O(1) relative and fails by orders of magnitude.
# The absolute floor is scaled to each tensor's magnitude because gradients differ in scale
# by decades between tensors (head vs first layer), and elements that nearly cancel have no
# meaningful relative precision.
RTOL = 1e-3
ATOL_FRAC = 1e-4
# The Adam trajectory: K updates on one batch amplify the fp32 differences (Adam divides
# by sqrt(v), so tiny gradient elements take full-size steps), and the losses are scalars
# near O(1): compare them relative to the first loss.
ADAM_RTOL = 1e-4


def read_safetensors(path):
    """-> ({name: float32 ndarray}, metadata dict), with torch_model's reader."""
    tensors, meta = torch_model.load_safetensors(path)
    return {name: t.numpy() for name, t in tensors.items()}, meta


def build_model(weights, meta):
    model = torch_model.Model.from_meta(meta)
    state = {k: torch.from_numpy(v) for k, v in weights.items()}
    model.load_state_dict(state, strict=True)   # every MODEL.md name, no more, no less
    return model


def batch_inputs(out, model):
    """The batch build/parity used: patches (B*n, P) -> (B, n, P), or tokens as floats."""
    x = out["input"]
    if model.tokens:
        inputs = torch.from_numpy(x.astype(np.int64))
    else:
        inputs = torch.from_numpy(x.reshape(-1, model.n, model.P))
    return inputs, torch.from_numpy(out["labels"].astype(np.int64))


class Report:
    """Prints one line per compared tensor and keeps, per group (loss, logits, grads, adam),
    the worst difference relative to the reference's largest value for the summary."""
    def __init__(self):
        self.ok, self.worst = True, {}

    def note(self, group, name, ok, normwise):
        self.ok &= ok
        if group not in self.worst or normwise > self.worst[group][0]:
            self.worst[group] = (normwise, name)

    def compare(self, group, name, got, ref):
        if got is None or np.shape(got) != np.shape(ref):
            print(f"{name:<18} missing or shape {np.shape(got) if got is not None else None} "
                  f"vs torch {np.shape(ref)}  FAIL")
            return self.note(group, name, False, float("inf"))
        got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        atol = ATOL_FRAC * scale
        diff = np.abs(got - ref)
        ok = bool(np.all(diff <= atol + RTOL * np.abs(ref))) and bool(np.all(np.isfinite(got)))
        # relative difference where the reference is not lost in the absolute floor, and
        # the worst share of the tolerance used (> 1 fails)
        rel = diff / np.maximum(np.abs(ref), max(atol, 1e-30))
        used = diff / np.maximum(atol + RTOL * np.abs(ref), 1e-30)
        shape = "x".join(str(s) for s in ref.shape)
        print(f"{name:<18} {shape:>6}  max|ref| {scale:9.3e}  max abs diff {diff.max():9.3e}  "
              f"max rel diff {rel.max():9.3e}  of tol {used.max():6.3f}  {'OK' if ok else 'FAIL'}")
        self.note(group, name, ok, float(diff.max()) / max(scale, 1e-30))

    def summary(self):
        parts = [f"{g} {w:.1e}" + (f" ({n})" if g == "grads" else "")
                 for g, (w, n) in self.worst.items()]
        return (f"parity: {'OK' if self.ok else 'FAIL'}  worst |C - torch| / max|torch|: "
                + ", ".join(parts))


def check_gradients(report, model, inputs, labels, out):
    model.zero_grad(set_to_none=True)
    logits = model(inputs)
    loss = torch_model.loss_fn(logits, labels)
    loss.backward()
    report.compare("loss", "loss", out.get("loss"), loss.detach().numpy().reshape(1))
    report.compare("logits", "logits", out.get("logits"), logits.detach().numpy())
    for name, p in model.named_parameters():
        report.compare("grads", "grad." + name, out.get("grad." + name), p.grad.numpy())


def check_adam(report, model, inputs, labels, c_losses, lr):
    """K Adam steps (betas .9/.999, eps 1e-8, constant lr) on the same batch; the loss
    before each step against C's."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    losses = []
    for _ in range(len(c_losses)):
        opt.zero_grad(set_to_none=True)
        loss = torch_model.loss_fn(model(inputs), labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    losses = np.array(losses)
    diff = np.abs(c_losses.astype(np.float64) - losses)
    scale = max(1.0, abs(losses[0]))
    ok = bool(np.all(diff <= ADAM_RTOL * scale))
    print(f"{'adam_losses':<18} {len(losses):>6}  torch {losses[0]:.6f} -> {losses[-1]:.6f}  "
          f"C {c_losses[0]:.6f} -> {c_losses[-1]:.6f}  max abs diff {diff.max():9.3e}  "
          f"of tol {diff.max() / (ADAM_RTOL * scale):6.3f}  {'OK' if ok else 'FAIL'}")
    report.note("adam", "adam_losses", ok, float(diff.max()) / scale)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir, out_path = argv[1], argv[2]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    weights, meta = read_safetensors(os.path.join(run_dir, "model.safetensors"))
    out, out_meta = read_safetensors(out_path)
    model = build_model(weights, meta)
    inputs, labels = batch_inputs(out, model)
    print(f"parity: {run_dir}: {meta.get('dataset')} d {meta['d']} L {meta['L']} H {meta['H']} "
          f"mlp {meta['mlp']} beta {meta['beta']} alpha {meta['alpha']} ({meta.get('residual_scale')}) "
          f"noise_scale {meta.get('noise_scale')} value_mean {meta.get('value_mean')}, "
          f"batch {labels.shape[0]}; tolerance {ATOL_FRAC:g}*max|ref| + {RTOL:g}*|ref|")
    report = Report()
    check_gradients(report, model, inputs, labels, out)
    if "adam_losses" in out:
        check_adam(report, model, inputs, labels, out["adam_losses"], float(out_meta["parity_lr"]))
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
