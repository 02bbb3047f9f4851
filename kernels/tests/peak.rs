//! The roofline probes: the multiply-add loop computes its specification's value at every
//! level (so each level runs the work it is timed on), the specification is right, and the
//! measurements return usable figures.

mod kernel_util;

use autoenc_kernels::peak::{self, CHAINS};
use autoenc_kernels::SimdLevel;
use kernel_util::simd_levels;

/// `x <- x/2 + b` from `x0 = 3b + c/64` is `2b + (b + c/64) / 2^n` exactly in reals; f32
/// rounds each step, so compare in f64 with room for that rounding.
fn chains_f64(lanes: usize, iters: i32) -> f64 {
    let mut sum = 0.0;
    for c in 0..CHAINS {
        for l in 0..lanes {
            let b = 1.0 + l as f64 / 1024.0;
            sum += 2.0 * b + (b + c as f64 / 64.0) / 2f64.powi(iters);
        }
    }
    sum
}

#[test]
fn fma_chains_scalar_matches_f64() {
    for lanes in [1, 8, 16] {
        for iters in [0, 1, 2, 5, 30] {
            let (got, want) = (peak::fma_chains_scalar(lanes, iters as usize), chains_f64(lanes, iters));
            let tol = 1e-6 * want.abs();
            assert!((got - want).abs() <= tol, "lanes {lanes}, {iters} steps: {got} vs {want}");
        }
        // Converged: every chain sits on its fixed point 2b, which f32 holds exactly.
        assert_eq!(peak::fma_chains_scalar(lanes, 200), chains_f64(lanes, 1000), "lanes {lanes}");
    }
}

#[test]
fn fma_chains_every_level_matches_scalar_exactly() {
    for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
        let lanes = peak::lanes(level);
        for iters in [0, 1, 2, 7, 13, 97, 1000] {
            let got = peak::fma_chains_with(level, iters);
            assert_eq!(got, peak::fma_chains_scalar(lanes, iters), "{}, {iters} steps", level.name());
        }
    }
}

#[test]
fn probes_return_finite_positive_rates() {
    for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
        let g = peak::fma_peak_gflops(level);
        assert!(g.is_finite() && g > 0.0, "{}: {g}", level.name());
    }
    let bw = peak::copy_bandwidth_gbs();
    assert!(bw.is_finite() && bw > 0.0, "{bw}");
}
