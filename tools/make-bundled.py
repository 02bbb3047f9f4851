#!/usr/bin/env python3
"""Regenerate the small dataset subsets committed under data/bundled/.

Usage: tools/make-bundled.py [DATA_DIR]   (default: data/, as filled by tools/fetch-datasets.sh)

Reads the full sets from DATA_DIR/mnist/ and DATA_DIR/fashion-mnist/ (Fashion-MNIST
falls back to /usr/share/datasets/fashion-mnist, the Debian package) and writes
data/bundled/{mnist,fashion-mnist}/ with the four standard gzipped IDX files:
2,000 train + 500 test images each, class-balanced with no randomness: the first 200
train (50 test) examples of every class, kept in their original file order.
Outputs are byte-for-byte reproducible (gzip mtime 0).
"""

import gzip
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PER_CLASS = {"train": 200, "t10k": 50}
CLASSES = 10
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path):
    """Return (dims, data bytes) of an unsigned-byte IDX file, raw or gzipped."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    zero, dtype, ndim = struct.unpack(">HBB", blob[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"error: {path}: not an unsigned-byte IDX file")
    dims = list(struct.unpack(f">{ndim}I", blob[4 : 4 + 4 * ndim]))
    data = blob[4 + 4 * ndim :]
    size = 1
    for d in dims:
        size *= d
    if len(data) != size:
        sys.exit(f"error: {path}: header promises {size} data bytes, file has {len(data)}")
    return dims, data


def write_idx(path, dims, data):
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(header)
        f.write(data)
    os.replace(tmp, path)


def find(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    sys.exit(f"error: {os.path.join(folder, stem)}[.gz] not found; run tools/fetch-datasets.sh first")


def subset(src, dst):
    os.makedirs(dst, exist_ok=True)
    for split, per_class in PER_CLASS.items():
        (n, rows, cols), images = read_idx(find(src, f"{split}-images-idx3-ubyte"))
        (n_labels,), labels = read_idx(find(src, f"{split}-labels-idx1-ubyte"))
        assert n == n_labels, f"{src}: {n} {split} images but {n_labels} labels"
        taken, keep = [0] * CLASSES, []
        for i, y in enumerate(labels):
            if taken[y] < per_class:
                taken[y] += 1
                keep.append(i)
        assert taken == [per_class] * CLASSES, f"{src}: not enough examples per class: {taken}"
        dim = rows * cols
        write_idx(
            os.path.join(dst, f"{split}-images-idx3-ubyte.gz"),
            [len(keep), rows, cols],
            b"".join(images[i * dim : (i + 1) * dim] for i in keep),
        )
        write_idx(os.path.join(dst, f"{split}-labels-idx1-ubyte.gz"), [len(keep)], bytes(labels[i] for i in keep))
    print(f"wrote {dst}")


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data")
    fashion = os.path.join(data_dir, "fashion-mnist")
    if not os.path.isdir(fashion):
        fashion = "/usr/share/datasets/fashion-mnist"
    subset(os.path.join(data_dir, "mnist"), os.path.join(ROOT, "data", "bundled", "mnist"))
    subset(fashion, os.path.join(ROOT, "data", "bundled", "fashion-mnist"))


if __name__ == "__main__":
    main()
