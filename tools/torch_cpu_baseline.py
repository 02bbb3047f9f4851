"""Same-machine PyTorch CPU baseline for `autoenc train` throughput (samples/s).

Trains the three models below the way `autoenc train` does (shuffled batches gathered from
the training set, forward, backward, Adam step; the wall clock of each epoch's training
steps, without the test evaluation) and prints samples/s per epoch. The figures go beside
the engine's in docs/PERFORMANCE.md, "Training throughput (CPU)": run both back to back on
the same machine.

Run (from the repository root; needs torch and numpy, a CPU build of torch is enough):

    python tools/torch_cpu_baseline.py                     # all models, 2 threads, data/mnist
    python tools/torch_cpu_baseline.py --models conv --threads 1
    python tools/torch_cpu_baseline.py --models mlp,cae --batch 64        # the engine's default batch
    python tools/torch_cpu_baseline.py --data DIR          # a folder with train-images-idx3-ubyte[.gz]

Without the IDX file it trains on uniform random images of the same size (the throughput
does not depend on the pixel values). On this project's dev machine the interpreter is
/tmp/torchvenv/bin/python (torch 2.15).

The models, and the `autoenc train` command each one mirrors (add `--dataset mnist`):

  mlp   784-256-784, sigmoid code and output, MSE (mean over pixels), Adam lr 1e-3, batch 256:
        --model ae --hidden 0 --code 256 --activation sigmoid --code-activation sigmoid
        --loss mse --batch-size 256 --epochs 2
  cae   the same network trained with BCE (on the output logits, as the engine does) plus
        1e-3 x the batch mean of ||J_f(x)||_F^2 in closed form, from the encoder's
        pre-activation (the engine's default lambda):
        --model contractive --code 256 --batch-size 256 --epochs 2
  conv  the Keras-blog convolutional autoencoder exactly as src/models/conv.rs builds it
        (upsample decoder; the third pool is ceil-mode 7 -> 4, decoder.2 is a valid conv
        16 -> 14), BCE on the logits, Adam lr 1e-3, batch 128:
        --model conv --batch-size 128 --epochs 1
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_images(folder):
    """The MNIST training images as float32 [N, 784] in [0, 1], or None when absent."""
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                raw = f.read()
            magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
            assert magic == 2051, f"{path}: not an IDX image file (magic {magic})"
            pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols)
            return torch.from_numpy(pixels.astype(np.float32) / 255.0), path
    return None, None


class Dense(nn.Module):
    """784 -> code (sigmoid) -> 784 logits; the output activation is sigmoid."""

    def __init__(self, code=256):
        super().__init__()
        self.enc = nn.Linear(784, code)
        self.dec = nn.Linear(code, 784)

    def forward(self, x):
        z = self.enc(x)
        return self.dec(torch.sigmoid(z)), z


def mlp_loss(model, xb):
    logits, _ = model(xb)
    return F.mse_loss(torch.sigmoid(logits), xb)


def cae_loss(model, xb, lam=1e-3):
    logits, z = model(xb)
    h = torch.sigmoid(z)
    # ||J||_F^2 = sum_j f'(z_j)^2 sum_i W_ji^2, batch mean.
    penalty = ((h * (1 - h)) ** 2 @ (model.enc.weight**2).sum(1)).mean()
    return F.binary_cross_entropy_with_logits(logits, xb) + lam * penalty


def conv_model():
    conv = lambda i, o, pad: nn.Conv2d(i, o, 3, padding=pad)  # noqa: E731
    up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
    return nn.Sequential(
        conv(1, 16, 1), nn.ReLU(), nn.MaxPool2d(2),
        conv(16, 8, 1), nn.ReLU(), nn.MaxPool2d(2),
        conv(8, 8, 1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),  # 7 -> 4: the 8x4x4 code
        conv(8, 8, 1), nn.ReLU(), up(),
        conv(8, 8, 1), nn.ReLU(), up(),
        conv(8, 16, 0), nn.ReLU(), up(),  # valid: 16 -> 14
        conv(16, 1, 1),  # logits; the sigmoid is inside the loss
    )


def conv_loss(model, xb):
    xi = xb.view(-1, 1, 28, 28)
    return F.binary_cross_entropy_with_logits(model(xi), xi)


def train(name, model, loss_fn, x, batch, epochs, seed):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros(())
        start = time.perf_counter()
        for s in range(0, n, batch):
            xb = x[order[s : s + batch]]  # gather the batch rows, as the engine does
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model, xb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * xb.shape[0]
        secs = time.perf_counter() - start
        steps = (n + batch - 1) // batch
        print(
            f"{name} batch={batch} epoch {epoch}: {n / secs:.0f} samples/s "
            f"({steps / secs:.1f} steps/s, {secs:.2f} s, train loss {loss_sum.item() / n:.5f})",
            flush=True,
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/mnist", help="folder with the MNIST training IDX file")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--models", default="mlp,cae,conv", help="comma-separated: mlp, cae, conv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: 256 for mlp and cae, 128 for conv)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, path = load_images(args.data)
    if x is None:
        x, path = torch.rand(60000, 784), "uniform random (no IDX file found)"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"mkldnn {torch.backends.mkldnn.is_available()}, data {path} {tuple(x.shape)}",
        flush=True,
    )
    for name in args.models.split(","):
        if name == "mlp":
            train("mlp-ae 784-256-784 mse", Dense(), mlp_loss, x, args.batch or 256, 2, args.seed)
        elif name == "cae":
            train("cae 784-256-784 bce+1e-3*J", Dense(), cae_loss, x, args.batch or 256, 2, args.seed)
        elif name == "conv":
            train("conv-ae keras-arch bce", conv_model(), conv_loss, x, args.batch or 128, 1, args.seed)
        else:
            raise SystemExit(f"unknown model {name!r} (expected mlp, cae or conv)")


if __name__ == "__main__":
    main()
