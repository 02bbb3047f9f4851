#!/usr/bin/env bash
# Single-thread SGEMM, the engine beside NumPy's OpenBLAS, back to back on this machine, at
# every x86 SIMD level the CPU has (AUTOENC_SIMD), plus the multiply-add peak per core that
# `autoenc info` measures. Prints one table per level with GFLOP/s and the ratios.
#
#   tools/matmul-vs-openblas.sh [PYTHON]     (PYTHON: a python3 with numpy; default python3)
#
# Run on an idle machine (check with `uptime`/`ps`); after `cargo build --release`.
# OpenBLAS picks its own kernel for the CPU (its name is printed); it does not follow
# AUTOENC_SIMD, so each level's table compares that level with OpenBLAS's best.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
BIN=${AUTOENC:-target/release/autoenc}
SIZES=${SIZES:-256,512,1024,2048}
SHAPES=${SHAPES:-256x784x256,256x256x784,784x256x256}
[ -x "$BIN" ] || { echo "error: $BIN not built (cargo build --release)" >&2; exit 2; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "error: $PY has no numpy (python3 -m venv V && V/bin/pip install numpy)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 AUTOENC_THREADS=1

grep -m1 'model name' /proc/cpuinfo || true
grep -m1 'cpu family' /proc/cpuinfo || true
grep -m1 '^model\s' /proc/cpuinfo || true
"$BIN" info | grep -E '^cpu (fma peak|copy)'

# OpenBLAS: best of 7 after a warm-up, per shape "m k n gflops".
blas=$("$PY" - "$SIZES" "$SHAPES" <<'EOF'
import sys, time
import numpy as np
sizes = [int(s) for s in sys.argv[1].split(',') if s]
shapes = [(s, s, s) for s in sizes] + [tuple(int(v) for v in t.split('x')) for t in sys.argv[2].split(',') if t]
try:
    cfg = np.show_config(mode='dicts')
    lib = cfg['Build Dependencies']['blas']
    print('# numpy', np.__version__, lib.get('name'), lib.get('version'), file=sys.stderr)
except Exception:
    print('# numpy', np.__version__, file=sys.stderr)
try:
    from threadpoolctl import threadpool_info
    for i in threadpool_info():
        print('# openblas kernel:', i.get('architecture'), 'threads', i.get('num_threads'), file=sys.stderr)
except ImportError:
    pass
rng = np.random.default_rng(0)
for m, k, n in shapes:
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    reps = max(3, int(2e9 / (2 * m * k * n)))
    best = float('inf')
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        best = min(best, (time.perf_counter() - t) / reps)
    print(m, k, n, 2 * m * k * n / best / 1e9)
EOF
)

levels=$("$BIN" info | sed -n 's/^cpu simd levels available: //p' | tr -d '[]" ' | tr ',' ' ')
for level in $levels; do
  [ "$level" = scalar ] && continue
  echo
  echo "== level $level, 1 thread (OpenBLAS: its own kernel)"
  peak=$("$BIN" info | sed -n "s/.*fma peak per core.*$level \([0-9.]*\).*/\1/p")
  ours=$(AUTOENC_SIMD=$level "$BIN" bench --only matmul --sizes "$SIZES" --shapes "$SHAPES" | awk '$1 == "matmul" {print $2, $(NF-2)}')
  printf '%-14s %10s %10s %8s %8s %8s\n' shape ours openblas ratio ours/pk blas/pk
  while read -r m k n g; do
    name=$([ "$m" = "$k" ] && [ "$k" = "$n" ] && echo "$m^3" || echo "${m}x${k}x${n}")
    o=$(echo "$ours" | awk -v s="$name" '$1 == s {print $2}')
    awk -v s="$name" -v o="$o" -v b="$g" -v p="$peak" \
      'BEGIN {printf "%-14s %10.1f %10.1f %8.2f %7.0f%% %7.0f%%\n", s, o, b, o / b, 100 * o / p, 100 * b / p}'
  done <<<"$blas"
done
