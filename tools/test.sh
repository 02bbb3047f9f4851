#!/usr/bin/env bash
# Runs every test of the workspace. Installs the system packages the tests need when they
# are missing (the CPU Vulkan driver, lavapipe, so the WGSL shaders run without a GPU).
# Usage: tools/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.aarch64.json ] || need+=(mesa-vulkan-drivers)
ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || need+=(libvulkan1)
if [ ${#need[@]} -gt 0 ]; then
  echo "tools/test.sh: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

# Mesa warns on every device open without it.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# lavapipe runs shaders on the CPU cores: keep it from fighting the test threads.
export LP_NUM_THREADS=${LP_NUM_THREADS:-2}
cargo test --workspace --release "$@"
