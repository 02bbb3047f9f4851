#!/usr/bin/env python3
"""Writes the broken datasets and run directories tools/reliability-table.sh feeds to autoenc.

Usage: make-bad-inputs.py WORKDIR GOOD_RUN
Each dataset is a folder with the four standard IDX files, one of them broken.
"""
import gzip, json, os, shutil, struct, sys

work, good_run = sys.argv[1], sys.argv[2]

def idx(dims, data, magic_type=0x08):
    return bytes([0, 0, magic_type, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)

def dataset(name, n_train=20, n_test=10, side=28, labels=None, edit=None):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    labels = labels or (lambda n: [i % 10 for i in range(n)])
    files = {
        "train-images-idx3-ubyte": idx([n_train, side, side], [7] * (n_train * side * side)),
        "train-labels-idx1-ubyte": idx([n_train], labels(n_train)),
        "t10k-images-idx3-ubyte": idx([n_test, side, side], [7] * (n_test * side * side)),
        "t10k-labels-idx1-ubyte": idx([n_test], labels(n_test)),
    }
    if edit:
        edit(files)
    for f, b in files.items():
        with open(os.path.join(d, f), "wb") as out:
            out.write(b)

def set_file(name, data):
    def edit(files):
        files[name] = data
    return edit

dataset("ds-truncated", edit=lambda f: f.update({"train-images-idx3-ubyte": f["train-images-idx3-ubyte"][:1000]}))
dataset("ds-bad-magic", edit=lambda f: f.update({"train-images-idx3-ubyte": b"\x12\x34" + f["train-images-idx3-ubyte"][2:]}))
dataset("ds-float-type", edit=lambda f: f.update({"train-images-idx3-ubyte": idx([20, 28, 28], [0] * 20 * 784, 0x0D)}))
dataset("ds-trailing", edit=lambda f: f.update({"train-images-idx3-ubyte": f["train-images-idx3-ubyte"] + b"xyz"}))
dataset("ds-count-mismatch", edit=set_file("train-labels-idx1-ubyte", idx([19], [1] * 19)))
dataset("ds-label-200", labels=lambda n: [200 if i == 3 else i % 10 for i in range(n)])
dataset("ds-labels-2d", edit=set_file("train-labels-idx1-ubyte", idx([20, 1], [1] * 20)))
dataset("ds-size-mismatch", edit=set_file("t10k-images-idx3-ubyte", idx([10, 14, 14], [7] * 10 * 196)))
dataset("ds-empty-train", n_train=0)
dataset("ds-no-test", n_test=0)
dataset("ds-zero-rows", edit=set_file("train-images-idx3-ubyte", idx([20, 0, 28], [])))
dataset("ds-huge-header", edit=set_file("train-images-idx3-ubyte", idx([4000000000, 4000000000, 28], [])))
dataset("ds-missing")
os.remove(os.path.join(work, "ds-missing", "t10k-labels-idx1-ubyte"))
# gzip: a bomb (the header promises one image, the stream holds 60 MB of zeros) and a corrupt stream.
dataset("ds-gzip-bomb")
with open(os.path.join(work, "ds-gzip-bomb", "train-images-idx3-ubyte"), "wb") as out:
    out.write(gzip.compress(idx([1, 28, 28], [0] * 784) + bytes(60 << 20)))
dataset("ds-gzip-corrupt")
gz = bytearray(gzip.compress(idx([20, 28, 28], [7] * 20 * 784)))
gz[len(gz) // 2] ^= 0xFF
gz = bytes(gz[: len(gz) - 6])
with open(os.path.join(work, "ds-gzip-corrupt", "train-images-idx3-ubyte"), "wb") as out:
    out.write(gz)

def run_copy(name, config_edit=None, model_edit=None, remove=None):
    d = os.path.join(work, name)
    shutil.copytree(good_run, d)
    if config_edit:
        p = os.path.join(d, "config.json")
        with open(p) as f:
            text = f.read()
        with open(p, "w") as f:
            f.write(config_edit(text))
    if model_edit:
        p = os.path.join(d, "model.safetensors")
        with open(p, "rb") as f:
            b = f.read()
        with open(p, "wb") as f:
            f.write(model_edit(b))
    if remove:
        os.remove(os.path.join(d, remove))

def json_edit(key, value):
    def edit(text):
        c = json.loads(text)
        c[key] = value
        return json.dumps(c)
    return edit

def nan_weights(b):
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8 : 8 + n])
    start = 8 + n + min(v["data_offsets"][0] for k, v in header.items() if k != "__metadata__")
    return b[:start] + struct.pack("<f", float("nan")) + b[start + 4 :]

run_copy("run-banana", config_edit=json_edit("model", "banana"))
run_copy("run-negative-hidden", config_edit=json_edit("hidden", [-5, 256]))
run_copy("run-huge-hidden", config_edit=json_edit("hidden", [1000000000]))
run_copy("run-bad-json", config_edit=lambda t: t[: len(t) // 2])
run_copy("run-seed-edited", config_edit=json_edit("seed", 12345))
run_copy("run-truncated-model", model_edit=lambda b: b[: len(b) // 3])
run_copy("run-garbage-model", model_edit=lambda b: b"\xff" * 64)
run_copy("run-nan-weights", model_edit=nan_weights)
run_copy("run-no-model", remove="model.safetensors")
run_copy("run-no-optimizer", remove="optimizer.safetensors")
run_copy("run-lr-nan", config_edit=lambda t: t.replace('"lr": 0.001', '"lr": NaN'))
with open(os.path.join(work, "a-file"), "w") as f:
    f.write("not a directory\n")
os.makedirs(os.path.join(work, "not-a-run"), exist_ok=True)
with open(os.path.join(work, "not-a-run", "notes.txt"), "w") as f:
    f.write("precious\n")
