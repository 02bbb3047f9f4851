//! Run-time selection of the SIMD level used by the kernels.
//!
//! The level is detected once. `AUTOENC_FORCE_SCALAR=1` in the environment (or the
//! `force-scalar` cargo feature) pins the scalar reference path, so a user can compare
//! results and speed against it.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust, the specification.
    Scalar,
    /// aarch64 NEON.
    Neon,
    /// x86_64 AVX2 + FMA (256-bit).
    Avx2Fma,
    /// x86_64 AVX-512F (512-bit).
    Avx512,
}

impl SimdLevel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Neon => "neon",
            Self::Avx2Fma => "avx2+fma",
            Self::Avx512 => "avx512f",
        }
    }
}

/// Every level this CPU can run, scalar first (for tests that compare each to scalar).
pub fn available_levels() -> Vec<SimdLevel> {
    let mut levels = vec![SimdLevel::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            levels.push(SimdLevel::Avx2Fma);
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            levels.push(SimdLevel::Avx512);
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            levels.push(SimdLevel::Neon);
        }
    }
    levels
}

/// The best level available, unless scalar is forced.
pub fn detect() -> SimdLevel {
    if cfg!(feature = "force-scalar") || std::env::var("AUTOENC_FORCE_SCALAR").is_ok_and(|v| v != "0" && !v.is_empty())
    {
        return SimdLevel::Scalar;
    }
    *available_levels().iter().max().unwrap_or(&SimdLevel::Scalar)
}

/// The level the plain entry points use (detected once per process).
pub fn level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

/// Threads the multi-threaded kernels may use: `AUTOENC_THREADS`, else all cores.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("AUTOENC_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    })
}
