//! Shared SIMD building blocks for the elementwise, reduction, loss, gaussian, optimizer and
//! contractive kernels.
//!
//! Each x86 level (`avx512`, `avx2`) is a module with the same small vocabulary: a vector
//! type `V` of `LANES` f32, `load`/`store` on slices, `v*` arithmetic, comparisons giving a
//! lane mask `M` and `select`, and an f64 accumulator [`avx512::Sum64`]. The rest (exp, ln,
//! sigmoid, tanh and the map/sum loops) is written once in `portable!` on top of that
//! vocabulary and stamped into both modules, so a kernel file can likewise write one body
//! and stamp it per level.
//!
//! Rules every kernel follows, so that SIMD results stay comparable to the scalar spec:
//! - the leftover `len % LANES` elements run the scalar spec's per-element function;
//! - no FMA contraction in the kernels' own arithmetic (only inside the exp/ln
//!   polynomials), so exact-op kernels are bit-identical to scalar;
//! - sums convert each f32 term to f64 and accumulate in f64 lanes, rounding once at the end.
//!
//! Files: `lanes` (`lanes!`, the primitives that differ between the levels only in
//! intrinsic names and width), `portable` (`portable!`), and one file per level
//! (`avx512`, `avx2`) with its types and the primitives that really differ.

use crate::simd::SimdLevel;

/// Which implementation a kernel runs for a requested [`SimdLevel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Maps `level` to an implementation after checking that this CPU really has it: the SIMD
/// versions are `#[target_feature]` functions, and running them elsewhere would be UB.
///
/// There are no NEON versions of these kernels yet: `Neon` runs the scalar spec (which the
/// compiler auto-vectorises where it can).
///
/// # Panics
/// If an x86 level is requested on a CPU (or architecture) without it.
pub(crate) fn path(level: SimdLevel) -> Path {
    match level {
        SimdLevel::Scalar | SimdLevel::Neon => Path::Scalar,
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => Path::Avx2,
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma") =>
        {
            Path::Avx512
        }
        other => panic!("SIMD level {} is not available on this CPU", other.name()),
    }
}

/// `dispatch!(level, spec_fn, simd_fn(args..))`: runs the scalar spec `spec_fn(args..)`, or
/// `avx2::simd_fn(args..)` / `avx512::simd_fn(args..)` from the calling module, as [`path`]
/// decides for `level`.
macro_rules! dispatch {
    ($level:expr, $scalar:ident, $simd:ident($($arg:expr),*)) => {
        match $crate::simd_util::path($level) {
            $crate::simd_util::Path::Scalar => $scalar($($arg),*),
            // SAFETY: `path` returned this level only after checking the CPU supports it.
            #[cfg(target_arch = "x86_64")]
            $crate::simd_util::Path::Avx2 => unsafe { avx2::$simd($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            $crate::simd_util::Path::Avx512 => unsafe { avx512::$simd($($arg),*) },
        }
    };
}
pub(crate) use dispatch;

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod lanes;
#[cfg(target_arch = "x86_64")]
#[macro_use]
mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
