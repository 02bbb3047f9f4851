//! The tools part of the crate: the checkers and timers behind `autoenc validate`,
//! `autoenc gradcheck` and `autoenc bench`. Besides the CLI, the only code that names the
//! concrete backends ([`crate::backend::cpu::CpuBackend`], [`crate::backend::gpu::GpuBackend`]).
//!
//! - [`validate`]: every GPU kernel against the CPU reference (also tests/gpu_vs_cpu.rs);
//! - [`gradcheck`]: every differentiable op's tape gradient against central finite
//!   differences (also tests/gradcheck.rs);
//! - [`bench`](mod@bench): kernel timings, GFLOP/s, GB/s and roofline fractions (also benches/kernels.rs).

pub mod bench;
pub mod gradcheck;
pub mod validate;
