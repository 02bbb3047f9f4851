#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures read by tests/pytorch_fixtures.rs.

For each op family (conv2d, conv_transpose2d, max_pool2d, upsample nearest) this runs a
handful of configurations through PyTorch on the CPU in float32 and writes, per case:

    caseK.x   input                      caseK.y   PyTorch's output
    caseK.w   weight (convs only)        caseK.gy  a fixed random upstream gradient
    caseK.b   bias   (convs only)        caseK.dx / caseK.dw / caseK.db
                                                   gradients of sum(y * gy) w.r.t. x, w, b

into tests/fixtures/<family>.safetensors. The safetensors metadata holds, under the key
"caseK", a JSON object with that case's configuration (stride, padding, dilation,
output_padding, kernel, ceil_mode, scale, as applicable), under "cases" the number of
cases, and under "generator" the torch / safetensors / Python versions and the seed.

Layouts follow PyTorch: conv2d weight [OC, C, KH, KW]; conv_transpose2d weight
[CI, CO, KH, KW]; all tensors NCHW, contiguous, little-endian F32.

Max-pool inputs are random permutations of distinct values, so every window has a
unique maximum and the argmax (and so dx) is unambiguous.

CI never runs this script: it only reads the committed .safetensors files. Re-run it
only to add or change cases, then commit the regenerated files:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install -r tools/requirements-fixtures.txt
    /tmp/torchvenv/bin/python tools/make-conv-fixtures.py        # from the repo root

The committed fixtures were made with torch 2.15.0 (PyPI's wheel, which reports itself
as 2.15.0+cu132 and pulls in CUDA libraries that this script never uses) and
safetensors 0.8.0, on Python 3.11.7, x86_64 Linux, everything on the CPU; the pins are
in tools/requirements-fixtures.txt. A re-run with those versions on the same CPU
reproduces the files byte for byte (fixed seed, one thread, deterministic algorithms,
sorted header keys). The inputs are the same on every machine; PyTorch's convolution
kernels differ per CPU, so on another CPU the outputs and gradients may move in their
last bits (2026-12-06, regenerated on an Intel Xeon with AVX-512 after files made on an
AMD Zen 4: 12 of 128 conv tensors moved, by at most 7.2e-7).
"""

import json
import os
import sys

import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save as st_bytes

SEED = 20261101
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def rand(g, *shape):
    """Uniform in [-1, 1), float32."""
    return torch.rand(*shape, generator=g, dtype=torch.float32) * 2 - 1


def distinct(g, *shape):
    """A random permutation of distinct values in (-1, 1): no ties inside any window."""
    n = 1
    for s in shape:
        n *= s
    vals = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1
    return vals[torch.randperm(n, generator=g)].reshape(*shape).contiguous()


def grads(y, gy, *leaves):
    """Gradients of sum(y * gy) w.r.t. each leaf."""
    (y * gy).sum().backward()
    return [leaf.grad.detach().clone() for leaf in leaves]


# name, N, C, H, W, OC, (KH, KW), stride, padding, dilation
CONV2D = [
    ("1ch 5x5 k3 s1 p0", 1, 1, 5, 5, 1, (3, 3), 1, 0, 1),
    ("3->4 7x9 k3 s2 p1 batch2", 2, 3, 7, 9, 4, (3, 3), 2, 1, 1),
    ("2->3 9x8 k3 s1 p1 d2", 1, 2, 9, 8, 3, (3, 3), 1, 1, 2),
    ("3->2 11x7 k2x3 s2 p0 batch2", 2, 3, 11, 7, 2, (2, 3), 2, 0, 1),
    ("1->5 13x11 k3 s2 p1 d2 batch2", 2, 1, 13, 11, 5, (3, 3), 2, 1, 2),
    ("16->8 10x10 k3 s1 p1 (K=144)", 2, 16, 10, 10, 8, (3, 3), 1, 1, 1),
    ("6->7 8x6 k5 s1 p2 (K=150)", 1, 6, 8, 6, 7, (5, 5), 1, 2, 1),
    ("4->3 6x5 k1 s1 p0", 2, 4, 6, 5, 3, (1, 1), 1, 0, 1),
    # Per-axis (h, w) stride, padding and dilation, as PyTorch takes them.
    ("2->3 9x12 k3x5 s(2,3) p(1,2) d(1,2) batch2", 2, 2, 9, 12, 3, (3, 5), (2, 3), (1, 2), (1, 2)),
    ("3->2 10x7 k2x3 s(1,2) p(0,1) d(2,1)", 1, 3, 10, 7, 2, (2, 3), (1, 2), (0, 1), (2, 1)),
    ("1->4 8x13 k1x3 s(3,1) p(0,1) batch2", 2, 1, 8, 13, 4, (1, 3), (3, 1), (0, 1), 1),
]

# name, N, CI, H, W, CO, (KH, KW), stride, padding, output_padding, dilation
CONV_T2D = [
    ("1ch 4x4 k3 s1 p0", 1, 1, 4, 4, 1, (3, 3), 1, 0, 0, 1),
    ("3->2 5x6 k3 s2 p1 op1 batch2", 2, 3, 5, 6, 2, (3, 3), 2, 1, 1, 1),
    ("4->3 3x5 k4 s2 p1 op0", 1, 4, 3, 5, 3, (4, 4), 2, 1, 0, 1),
    ("2->3 4x3 k3 s2 p0 op1 batch2", 2, 2, 4, 3, 3, (3, 3), 2, 0, 1, 1),
    ("8->4 7x7 k2 s2 p0 batch2", 2, 8, 7, 7, 4, (2, 2), 2, 0, 0, 1),
    ("2->2 5x4 k3 s1 p1", 1, 2, 5, 4, 2, (3, 3), 1, 1, 0, 1),
    ("3->2 4x5 k3x2 s2 p1 op1 d2", 1, 3, 4, 5, 2, (3, 2), 2, 1, 1, 2),
    ("16->6 5x5 k3 s2 p1 op1 (K=144 per output)", 2, 16, 5, 5, 6, (3, 3), 2, 1, 1, 1),
    # Per-axis (h, w) stride, padding, output_padding and dilation.
    ("3->2 4x5 k3x2 s(2,3) p(1,0) op(1,2) batch2", 2, 3, 4, 5, 2, (3, 2), (2, 3), (1, 0), (1, 2), 1),
    ("2->3 5x3 k2x3 s(1,2) p(0,1) op(0,1) d(2,1)", 1, 2, 5, 3, 3, (2, 3), (1, 2), (0, 1), (0, 1), (2, 1)),
    ("4->1 3x6 k4x1 s(3,1) p(1,0) op(2,0)", 1, 4, 3, 6, 1, (4, 1), (3, 1), (1, 0), (2, 0), 1),
]

# name, N, C, H, W, kernel, stride, padding, ceil_mode
MAXPOOL = [
    ("6x6 k2 s2", 1, 1, 6, 6, 2, 2, 0, False),
    ("7x7 k2 s2 ceil -> 4x4", 2, 3, 7, 7, 2, 2, 0, True),
    ("7x7 k3 s2 p1 -> 4x4", 2, 2, 7, 7, 3, 2, 1, False),
    ("5x7 k2 s2 floor -> 2x3", 1, 2, 5, 7, 2, 2, 0, False),
    ("9x8 k3 s2 p1 ceil", 1, 2, 9, 8, 3, 2, 1, True),
    ("7x7 k2 s2 p1 ceil (last window dropped)", 1, 1, 7, 7, 2, 2, 1, True),
    ("8x8 k3 s3 ceil -> 3x3", 2, 1, 8, 8, 3, 3, 0, True),
]

# name, N, C, H, W, scale
UPSAMPLE = [
    ("1ch 3x3 x2", 1, 1, 3, 3, 2),
    ("2x3 5x4 x2", 2, 3, 5, 4, 2),
    ("1x2 3x5 x3", 1, 2, 3, 5, 3),
    ("2x1 7x7 x3", 2, 1, 7, 7, 3),
]


def conv2d_cases(g):
    tensors, meta = {}, {}
    for i, (name, n, c, h, w, oc, (kh, kw), s, p, d) in enumerate(CONV2D):
        x = rand(g, n, c, h, w).requires_grad_()
        wt = rand(g, oc, c, kh, kw).requires_grad_()
        b = rand(g, oc).requires_grad_()
        y = F.conv2d(x, wt, b, stride=s, padding=p, dilation=d)
        gy = rand(g, *y.shape)
        dx, dw, db = grads(y, gy, x, wt, b)
        k = f"case{i}"
        tensors.update({f"{k}.x": x, f"{k}.w": wt, f"{k}.b": b, f"{k}.y": y, f"{k}.gy": gy})
        tensors.update({f"{k}.dx": dx, f"{k}.dw": dw, f"{k}.db": db})
        meta[k] = {"name": name, "kernel": [kh, kw], "stride": s, "padding": p, "dilation": d}
    return tensors, meta


def conv_transpose2d_cases(g):
    tensors, meta = {}, {}
    for i, (name, n, ci, h, w, co, (kh, kw), s, p, op, d) in enumerate(CONV_T2D):
        x = rand(g, n, ci, h, w).requires_grad_()
        wt = rand(g, ci, co, kh, kw).requires_grad_()
        b = rand(g, co).requires_grad_()
        y = F.conv_transpose2d(x, wt, b, stride=s, padding=p, output_padding=op, dilation=d)
        gy = rand(g, *y.shape)
        dx, dw, db = grads(y, gy, x, wt, b)
        k = f"case{i}"
        tensors.update({f"{k}.x": x, f"{k}.w": wt, f"{k}.b": b, f"{k}.y": y, f"{k}.gy": gy})
        tensors.update({f"{k}.dx": dx, f"{k}.dw": dw, f"{k}.db": db})
        meta[k] = {
            "name": name,
            "kernel": [kh, kw],
            "stride": s,
            "padding": p,
            "output_padding": op,
            "dilation": d,
        }
    return tensors, meta


def max_pool2d_cases(g):
    tensors, meta = {}, {}
    for i, (name, n, c, h, w, kern, s, p, ceil) in enumerate(MAXPOOL):
        x = distinct(g, n, c, h, w).requires_grad_()
        y = F.max_pool2d(x, kern, stride=s, padding=p, ceil_mode=ceil)
        gy = rand(g, *y.shape)
        (dx,) = grads(y, gy, x)
        k = f"case{i}"
        tensors.update({f"{k}.x": x, f"{k}.y": y, f"{k}.gy": gy, f"{k}.dx": dx})
        meta[k] = {"name": name, "kernel": kern, "stride": s, "padding": p, "ceil_mode": ceil}
    return tensors, meta


def upsample_cases(g):
    tensors, meta = {}, {}
    for i, (name, n, c, h, w, scale) in enumerate(UPSAMPLE):
        x = rand(g, n, c, h, w).requires_grad_()
        y = F.interpolate(x, scale_factor=scale, mode="nearest")
        gy = rand(g, *y.shape)
        (dx,) = grads(y, gy, x)
        k = f"case{i}"
        tensors.update({f"{k}.x": x, f"{k}.y": y, f"{k}.gy": gy, f"{k}.dx": dx})
        meta[k] = {"name": name, "scale": scale, "mode": "nearest"}
    return tensors, meta


def save(family, tensors, meta):
    generator = {
        "script": "tools/make-conv-fixtures.py",
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "python": sys.version.split()[0],
        "seed": SEED,
        "dtype": "float32",
        "device": "cpu",
    }
    metadata = {k: json.dumps(v, sort_keys=True) for k, v in meta.items()}
    metadata["cases"] = str(len(meta))
    metadata["generator"] = json.dumps(generator, sort_keys=True)
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    path = os.path.join(OUT_DIR, f"{family}.safetensors")
    with open(path, "wb") as f:
        f.write(canonical(st_bytes(tensors, metadata=metadata)))
    print(f"{os.path.relpath(path)}: {len(meta)} cases, {os.path.getsize(path)} bytes")


def canonical(blob):
    """The same safetensors file with its JSON header's keys sorted.

    safetensors writes the metadata map in a per-process random order; sorting makes the
    bytes reproducible, so a re-run with the same versions leaves git with no diff. The
    tensor data (and so every offset) is untouched; the header is re-padded with spaces
    to a multiple of 8 bytes as safetensors does.
    """
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + blob[8 + n :]


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    for family, make in [
        ("conv2d", conv2d_cases),
        ("conv_transpose2d", conv_transpose2d_cases),
        ("max_pool2d", max_pool2d_cases),
        ("upsample2d", upsample_cases),
    ]:
        # One generator per family: adding cases to one family leaves the others' bytes alone.
        g = torch.Generator().manual_seed(SEED + hash_name(family))
        save(family, *make(g))


def hash_name(name):
    """A stable small integer per family name (Python's hash() is salted per process)."""
    return sum((i + 1) * ord(ch) for i, ch in enumerate(name))


if __name__ == "__main__":
    main()
