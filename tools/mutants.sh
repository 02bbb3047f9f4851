#!/usr/bin/env bash
# Mutation testing with cargo-mutants over kernels/src and src/autodiff, within a
# wall-clock budget, niced, one mutant at a time (--in-place is serial).
#
#   tools/mutants.sh [BUDGET_SECONDS] [GROUP...]      (default: 3600 s, every group)
#   MUTANTS_ITERATE=1 tools/mutants.sh ...            (retest only what the last run of each
#                                                      group did not catch, with today's tests)
#
# Each group mutates some files and runs only the tests that cover them (a whole-suite run
# per mutant would not fit any budget on 2 cores). The run happens in a private copy of
# the tree (under $MUTANTS_WORK, default /tmp/autoenc-mutants) that reuses a copy of the
# built target/, so the worktree stays usable meanwhile. Results: target/mutants/<group>/
# (mutants.out/{caught,missed,timeout,unviable}.txt); a group the budget cut short says so.
# Needs `cargo install cargo-mutants`. docs/TESTING.md has the last figures.
set -euo pipefail

budget=${1:-3600}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MUTANTS_WORK:-/tmp/autoenc-mutants}

# group -> "package|files (space-separated globs)|cargo test args"
declare -A GROUPS_=(
  [elementwise]="autoenc-kernels|kernels/src/reduce.rs kernels/src/activation.rs|--test elementwise"
  [optim]="autoenc-kernels|kernels/src/optim.rs|--test optim"
  [loss]="autoenc-kernels|kernels/src/loss.rs kernels/src/loss/*.rs|--test loss"
  [contractive]="autoenc-kernels|kernels/src/contractive.rs|--test contractive"
  [simd_util]="autoenc-kernels|kernels/src/simd_util/*.rs kernels/src/simd.rs|--lib --test elementwise --test loss --test contractive --test optim --test zz_simd_levels"
  [matmul]="autoenc-kernels|kernels/src/matmul/*.rs|--test matmul"
  [conv]="autoenc-kernels|kernels/src/im2col.rs kernels/src/col2im.rs kernels/src/layout.rs kernels/src/pool.rs kernels/src/upsample.rs|--test conv --test conv2d --test layout --test upsample"
  [conv2d]="autoenc-kernels|kernels/src/conv2d/*.rs|--test conv2d"
  [covariance]="autoenc-kernels|kernels/src/covariance.rs|--test covariance"
  [peak]="autoenc-kernels|kernels/src/peak.rs|--test peak"
  [gaussian]="autoenc-kernels|kernels/src/gaussian.rs kernels/src/gaussian/*.rs|--test gaussian"
  [autodiff]="autoenc|src/autodiff/*.rs src/autodiff/ops/*.rs|--test gradcheck --test pytorch_fixtures --test contractive_verification --test tape"
)
ORDER=(elementwise optim loss contractive gaussian autodiff simd_util conv2d conv covariance peak matmul)
[ $# -gt 0 ] && ORDER=("$@")

command -v cargo-mutants >/dev/null || { echo "error: cargo-mutants is not installed (cargo install cargo-mutants)" >&2; exit 2; }

echo "copying the tree to $work (tracked files + target/)"
rm -rf "$work"
mkdir -p "$work"
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
[ -d "$root/target" ] && cp -a "$root/target" "$work/target"

deadline=$(( $(date +%s) + budget ))
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} LP_NUM_THREADS=${LP_NUM_THREADS:-1}
# The GPU tests of the autodiff group need no adapter: the CPU halves catch tape mutants.
export AUTOENC_REQUIRE_GPU=0
for g in "${ORDER[@]}"; do
  spec=${GROUPS_[$g]:?unknown group $g}
  IFS='|' read -r pkg files testargs <<<"$spec"
  left=$(( deadline - $(date +%s) ))
  if [ "$left" -le 60 ]; then
    echo "== $g: not run (budget spent)"
    continue
  fi
  out="$root/target/mutants/$g"
  iterate=()
  if [ -n "${MUTANTS_ITERATE:-}" ] && [ -d "$out/mutants.out" ]; then
    iterate=(--iterate)
  else
    rm -rf "$out"
  fi
  mkdir -p "$out"
  fargs=()
  for f in $files; do fargs+=(--file "$f"); done
  # The test targets go to the build as well as the test invocation (--cargo-arg), so each
  # mutant compiles only the test binaries its group runs, not every test of the package.
  cargs=()
  for t in $testargs; do
    case $t in
      --test) ;;
      --*) cargs+=("--cargo-arg=$t") ;;  # --lib: the crate's own unit tests
      *) cargs+=("--cargo-arg=--test=$t") ;;
    esac
  done
  echo "== $g: $files (tests: $testargs), ${left}s left"
  (cd "$work" && nice -n 19 timeout "$left" cargo mutants --in-place --no-shuffle \
      --package "$pkg" "${fargs[@]}" "${cargs[@]}" "${iterate[@]}" --output "$out" --profile release \
      --timeout 180 --baseline skip) || echo "== $g: exit $? (2: missed mutants, 124: budget cut the group short)"
  for k in caught missed timeout unviable; do
    [ -f "$out/mutants.out/$k.txt" ] && printf '   %-8s %s\n' "$k" "$(wc -l <"$out/mutants.out/$k.txt")"
  done
done
