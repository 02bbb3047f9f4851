//! Helpers shared by the kernel tests.
#![allow(dead_code)] // each test binary uses its own subset

use autoenc_kernels::simd::available_levels;
use autoenc_kernels::SimdLevel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub mod layout_util;

/// Awkward lengths: 1, below/at/above both vector widths (8, 16), primes, large.
pub const LENS: [usize; 11] = [1, 2, 7, 13, 15, 16, 17, 97, 257, 1000, 4099];

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` uniform values in `[lo, hi)`.
pub fn rand_vec(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Every SIMD level this CPU runs except scalar (each is compared against scalar).
/// Panics when env `AUTOENC_REQUIRE_SIMD` names a level this machine lacks, so a test
/// that would skip it fails instead (kernels/tests/zz_simd_levels.rs reports the levels).
pub fn simd_levels() -> Vec<SimdLevel> {
    if let Err(e) = autoenc_kernels::simd::check_required_levels() {
        panic!("{e}");
    }
    available_levels().into_iter().filter(|&l| l != SimdLevel::Scalar).collect()
}

pub fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Asserts `|got - want| <= rel * |want| + abs` element by element (NaN must meet NaN).
pub fn assert_close(what: &str, got: &[f32], want: &[f64], rel: f64, abs: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() && g.is_nan() {
            continue;
        }
        let err = (g as f64 - w).abs();
        assert!(
            err <= rel * w.abs() + abs,
            "{what}: element {i} of {}: got {g:e}, want {w:e} (error {err:e}, allowed {rel:e} rel + {abs:e} abs)",
            got.len()
        );
    }
}

/// [`assert_close`] against f32 values.
pub fn assert_close32(what: &str, got: &[f32], want: &[f32], rel: f64, abs: f64) {
    assert_close(what, got, &to_f64(want), rel, abs);
}

/// Central difference `(f(x + h e_i) - f(x - h e_i)) / 2h` of an f64 function.
pub fn central_diff(f: &impl Fn(&[f64]) -> f64, x: &[f64], i: usize, h: f64) -> f64 {
    let mut xp = x.to_vec();
    xp[i] = x[i] + h;
    let fp = f(&xp);
    xp[i] = x[i] - h;
    let fm = f(&xp);
    (fp - fm) / (2.0 * h)
}
