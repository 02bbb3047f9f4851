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

/// The arithmetic behind the rates, on numbers worked out by hand.
#[test]
fn rates_count_every_multiply_add_twice_and_every_byte_both_ways() {
    assert_eq!(peak::probe_flops(16, 1000), 2.0 * 12.0 * 16.0 * 1000.0);
    assert_eq!(peak::probe_flops(1, 1), 24.0);
    assert_eq!(peak::per_second_e9(3e9, 1.5), 2.0);
    assert_eq!(peak::per_second_e9(1e9, 0.25), 4.0);
    assert_eq!(peak::copy_bytes_moved(), 2.0 * 64.0 * 1024.0 * 1024.0);
    assert_eq!(peak::COPY_LEN * 4, peak::COPY_BYTES);
}

/// The probes' rates are those of a real CPU: a multiply-add peak between 0.1 and 5,000
/// GFLOP/s per core and a copy between 0.1 and 10,000 GB/s (wide on purpose: this is no
/// speed test, but a slip in the arithmetic, by a factor of 1e9 or a time instead of a
/// rate, lands far outside).
#[test]
fn probes_return_rates_a_cpu_can_have() {
    for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
        let g = peak::fma_peak_gflops(level);
        assert!((0.1..5000.0).contains(&g), "{}: {g} GFLOP/s", level.name());
    }
    let bw = peak::copy_bandwidth_gbs();
    assert!((0.1..10_000.0).contains(&bw), "{bw} GB/s");
    // Eight or sixteen lanes a multiply-add against the scalar spec's one: every vector
    // level is far above twice the scalar rate (about 20x on the machines seen so far).
    let scalar = peak::fma_peak_gflops(SimdLevel::Scalar);
    for level in simd_levels().into_iter().filter(|l| peak::lanes(*l) > 1) {
        let g = peak::fma_peak_gflops(level);
        assert!(g > 2.0 * scalar, "{}: {g} GFLOP/s against scalar {scalar}", level.name());
    }
}
