"""PyTorch reference for `autoenc train --model vae`: the test negative ELBO of the same recipe.

The model and loss are those of PyTorch's own example (pytorch/examples, vae/main.py):
784 -> hidden (ReLU) -> two linear heads mu, logvar of size `code`; z = mu + exp(logvar/2) * eps;
code -> hidden (ReLU) -> 784 Bernoulli logits. Loss per batch: BCE summed over pixels and
images plus KL(q(z|x) || N(0, I)) in closed form, as the example (and Kingma & Welling,
appendix B) write it. PyTorch's default init (nn.Linear's uniform +-1/sqrt(fan_in)), Adam
lr 1e-3, batch 128, shuffled each epoch, on the full MNIST IDX files (pixels / 255, not
binarized). The example sums the loss over the batch where the engine takes its mean; Adam
is invariant to that scale up to its epsilon.

Reported per epoch: the test negative ELBO per image in nats (one eps draw per test image,
as the example's test loop does), with its reconstruction and KL parts.

Run (from the repository root; needs torch and numpy, a CPU build of torch is enough):

    python tools/torch_vae_baseline.py --seeds 1,2,3                     # 784-400-20
    python tools/torch_vae_baseline.py --hidden 512 --code 2 --seeds 1,2,3

The engine's run of the same recipe (add `--seed S`):

    autoenc train --model vae --dataset mnist --hidden 400 --code 20 --optimizer adam \
        --lr 1e-3 --batch-size 128 --epochs 10
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != 2051:
        raise SystemExit(f"{path}: not an IDX image file (magic {magic})")
    pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def load(folder, stem):
    for name in (f"{stem}-images-idx3-ubyte.gz", f"{stem}-images-idx3-ubyte"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return load_idx_images(path)
    raise SystemExit(f"{folder}: no {stem}-images-idx3-ubyte[.gz] (run tools/fetch-datasets.sh)")


class VAE(nn.Module):
    def __init__(self, hidden, code):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, code)
        self.fc22 = nn.Linear(hidden, code)
        self.fc3 = nn.Linear(code, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def losses(model, xb):
    """Summed over the batch: (reconstruction BCE, KL)."""
    logits, mu, logvar = model(xb)
    recon = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon, kl


def run(seed, args, train_x, test_x):
    torch.manual_seed(seed)
    model = VAE(args.hidden, args.code)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = train_x.shape[0]
    final = None
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n)
        for s in range(0, n, args.batch_size):
            xb = train_x[order[s : s + args.batch_size]]
            recon, kl = losses(model, xb)
            opt.zero_grad(set_to_none=True)
            (recon + args.beta * kl).backward()
            opt.step()
        secs = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            r_sum = k_sum = 0.0
            for s in range(0, test_x.shape[0], 1000):
                recon, kl = losses(model, test_x[s : s + 1000])
                r_sum, k_sum = r_sum + recon.item(), k_sum + kl.item()
        m = test_x.shape[0]
        final = ((r_sum + k_sum) / m, r_sum / m, k_sum / m)
        print(
            f"seed {seed} epoch {epoch}: test neg-ELBO {final[0]:.3f} nats/image "
            f"(recon {final[1]:.3f}, KL {final[2]:.3f}), {secs:.1f} s",
            flush=True,
        )
    return final


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/mnist", help="folder with the MNIST IDX files")
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--code", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one run each")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    train_x, test_x = load(args.data, "train"), load(args.data, "t10k")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, VAE 784-{args.hidden}-{args.code}, "
        f"train {tuple(train_x.shape)}, test {tuple(test_x.shape)}",
        flush=True,
    )
    finals = [run(int(s), args, train_x, test_x) for s in args.seeds.split(",")]
    elbo = np.array([f[0] for f in finals])
    print(
        f"test neg-ELBO over {len(finals)} seeds: mean {elbo.mean():.3f}, "
        f"min {elbo.min():.3f}, max {elbo.max():.3f} nats/image"
    )


if __name__ == "__main__":
    main()
