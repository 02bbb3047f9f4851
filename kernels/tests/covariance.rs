//! covariance: the scalar specification against exact arithmetic, and every level against the
//! scalar one, on awkward shapes (1, primes, non-multiples of the 4x8 tile and of the 128-row
//! chunk, enough rows for several threads).

use autoenc_kernels::covariance::{covariance, covariance_scalar, covariance_with};
use autoenc_kernels::simd::available_levels;
use autoenc_kernels::SimdLevel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every level this CPU runs. Neon's path is plain Rust, so it runs (and is tested) anywhere.
/// Panics when `AUTOENC_REQUIRE_SIMD` names a level this machine lacks.
fn levels() -> Vec<SimdLevel> {
    if let Err(e) = autoenc_kernels::simd::check_required_levels() {
        panic!("{e}");
    }
    let mut levels = available_levels();
    if !levels.contains(&SimdLevel::Neon) {
        levels.push(SimdLevel::Neon);
    }
    levels
}

const DIMS: [usize; 10] = [1, 2, 3, 4, 7, 8, 9, 13, 17, 37];
const ROWS: [usize; 9] = [1, 2, 3, 5, 31, 128, 129, 257, 1031];

fn random_rows(n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    // A per-column offset, so that centring matters.
    let offset: Vec<f32> = (0..d).map(|_| rng.random_range(-3.0..3.0)).collect();
    let x: Vec<f32> = (0..n * d).map(|i| offset[i % d] + rng.random_range(-1.0f32..1.0)).collect();
    let mut mean = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    (x, mean)
}

/// Values and mean on a grid of 1/8 in [-4, 4]: every centred value, product and partial sum is
/// exact in f64, so the covariance has one correctly rounded answer, `S / (64 n)` with `S` the
/// integer sum of the products in units of 1/64.
fn dyadic_rows(n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let xi: Vec<i64> = (0..n * d).map(|_| rng.random_range(-32..=32)).collect();
    let mi: Vec<i64> = (0..d).map(|_| rng.random_range(-8..=8)).collect();
    let mut exact = vec![0.0f64; d * d];
    for i in 0..d {
        for j in 0..d {
            let s: i64 = xi.chunks_exact(d).map(|r| (r[i] - mi[i]) * (r[j] - mi[j])).sum();
            exact[i * d + j] = (s as f64 / 64.0) / n as f64;
        }
    }
    let x = xi.iter().map(|&v| v as f32 / 8.0).collect();
    let mean = mi.iter().map(|&v| v as f64 / 8.0).collect();
    (x, mean, exact)
}

#[test]
fn scalar_is_exact_on_dyadic_data() {
    for &d in &DIMS {
        for &n in &ROWS {
            let (x, mean, exact) = dyadic_rows(n, d, (n * 1000 + d) as u64);
            assert_eq!(covariance_scalar(&x, n, d, &mean), exact, "n={n} d={d}");
        }
    }
}

/// On dyadic data no level rounds before the final division: every level is exact too.
#[test]
fn every_level_is_exact_on_dyadic_data() {
    for level in levels() {
        for &d in &DIMS {
            for &n in &ROWS {
                let (x, mean, exact) = dyadic_rows(n, d, (n * 7 + d) as u64);
                assert_eq!(covariance_with(level, &x, n, d, &mean), exact, "{} n={n} d={d}", level.name());
            }
        }
    }
}

#[test]
fn every_level_matches_scalar() {
    for level in levels() {
        for &d in &DIMS {
            for &n in &ROWS {
                let (x, mean) = random_rows(n, d, (n * 31 + d) as u64);
                let want = covariance_scalar(&x, n, d, &mean);
                let got = covariance_with(level, &x, n, d, &mean);
                // Centred values are below 2 in magnitude, so products below 4: either sum of n
                // products, divided by n, is within n * eps * 4 of the exact value.
                let tol = 2.0 * 4.0 * f64::EPSILON * n as f64;
                for (e, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    assert!((g - w).abs() <= tol, "{} n={n} d={d} element {e}: {g} vs {w}", level.name());
                }
                for i in 0..d {
                    for j in 0..d {
                        assert_eq!(got[i * d + j], got[j * d + i], "{} n={n} d={d}: not symmetric", level.name());
                    }
                }
            }
        }
    }
}

#[test]
fn default_level_is_the_detected_one() {
    let (x, mean) = random_rows(300, 11, 5);
    assert_eq!(covariance(&x, 300, 11, &mean), covariance_with(autoenc_kernels::simd::level(), &x, 300, 11, &mean));
}

#[test]
#[should_panic(expected = "expected 3 x 2")]
fn wrong_shape_panics() {
    covariance(&[1.0; 5], 3, 2, &[0.0; 2]);
}
