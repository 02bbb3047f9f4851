//! GPU-against-CPU validation of every kernel (used by `autoenc validate` and tests/gpu_vs_cpu.rs).
