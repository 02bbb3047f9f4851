//! gaussian.rs: the normal generator (known answers, the float stage against f64
//! Box-Muller, determinism, split invariance, distribution statistics on 1e6 draws with
//! checks shown to reject wrong generators), and the reparameterization and KL kernels
//! (every SIMD level against the scalar spec, the spec against f64 math, the backwards
//! against central differences of an f64 forward).

mod kernel_util;

use autoenc_kernels::gaussian as g;
use autoenc_kernels::SimdLevel;
use kernel_util::*;

// ---- the generator ------------------------------------------------------------------

fn fill(seed: u64, offset: u64, n: usize) -> Vec<f32> {
    let mut v = vec![f32::NAN; n];
    g::normal_fill(seed, offset, &mut v);
    v
}

fn bits(seed: u64, offset: u64, n: usize) -> Vec<u32> {
    let mut v = vec![0; n];
    g::normal_fill_bits(seed, offset, &mut v);
    v
}

/// Seed 0, block 0 is Philox4x32-10 of counter 0, key 0: Random123's first known answer.
#[test]
fn counter_stage_is_philox4x32_10() {
    assert_eq!(bits(0, 0, 4), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
}

/// Each draw against Box-Muller in f64 from the same Philox words: the f32 ln / sin / cos
/// polynomials and sqrt cost at most a few ulp of the result (|z| < 6, ulp 4.8e-7; measured 4.7e-7).
#[test]
fn draws_match_box_muller_in_f64() {
    let (n, offset) = (200_000, 12);
    let (z, w) = (fill(7, offset, n), bits(7, offset, n));
    let u = |w: u32| ((w >> 9) as f64 + 0.5) / 8_388_608.0;
    let mut worst = 0.0f64;
    for k in 0..n / 2 {
        let (i, j) = (2 * k, 2 * k + 1);
        let r = (-2.0 * u(w[i]).ln()).sqrt();
        let th = std::f64::consts::TAU * u(w[j]);
        worst = worst.max((z[i] as f64 - r * th.cos()).abs()).max((z[j] as f64 - r * th.sin()).abs());
    }
    assert!(worst < 1.5e-6, "worst absolute error {worst:e}");
}

#[test]
fn draws_are_deterministic_and_seeds_differ() {
    assert_eq!(fill(3, 5, 1001), fill(3, 5, 1001));
    let (a, b) = (fill(3, 0, 1000), fill(4, 0, 1000));
    assert!(a.iter().zip(&b).filter(|(x, y)| x == y).count() < 3, "seeds 3 and 4 give the same stream");
    // The high halves of seed and counter both matter.
    assert_ne!(fill(1, 0, 8), fill(1 | 1 << 32, 0, 8));
    assert_ne!(fill(1, 0, 8), fill(1, 1 << 34, 8));
}

/// A fill of `[offset, offset + n)` equals the same slice of any longer fill: element i
/// depends on `offset + i` only, not on where a fill starts or how long it is.
#[test]
fn fills_are_split_invariant() {
    let long = fill(11, 0, 4099);
    for (offset, n) in [(0, 1), (1, 1), (2, 3), (3, 7), (5, 16), (17, 97), (1000, 1001), (4098, 1)] {
        assert_eq!(fill(11, offset as u64, n), long[offset..offset + n], "offset {offset} len {n}");
    }
    // Across the 2^32 boundary of the block counter (draw 2^34).
    let edge = 1u64 << 34;
    let wide = fill(11, edge - 6, 12);
    assert_eq!(fill(11, edge, 6), wide[6..]);
    assert_eq!(bits(11, edge - 1, 2), bits(11, edge - 6, 7)[5..]);
}

/// The standard normal CDF from erfc (Numerical Recipes' Chebyshev `erfcc`, relative
/// error < 1.2e-7 everywhere).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Kolmogorov-Smirnov distance between the sample and N(0, 1).
fn ks_distance(sample: &[f32]) -> f64 {
    let mut s: Vec<f64> = sample.iter().map(|&v| v as f64).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    s.iter().enumerate().fold(0.0, |d, (i, &x)| {
        let f = normal_cdf(x);
        d.max((f - i as f64 / n).abs()).max(((i + 1) as f64 / n - f).abs())
    })
}

/// Everything a standard normal sample of `n` should satisfy, at about 5 standard errors
/// (KS at the 0.1% level: 1.95 / sqrt n): `Err` says which check failed.
fn looks_standard_normal(z: &[f32]) -> Result<(), String> {
    let n = z.len() as f64;
    let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let tail = z.iter().filter(|v| v.abs() > 2.0).count() as f64 / n;
    let p2 = 2.0 * (1.0 - normal_cdf(2.0)); // 0.0455
    let lag1 = z.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum::<f64>() / n;
    let lag2 = z.windows(3).map(|w| w[0] as f64 * w[2] as f64).sum::<f64>() / n;
    let ks = ks_distance(z);
    let se = 1.0 / n.sqrt();
    let checks = [
        ("mean", mean.abs(), 5.0 * se),
        ("variance - 1", (var - 1.0).abs(), 5.0 * 2f64.sqrt() * se),
        ("P(|z| > 2) - 0.0455", (tail - p2).abs(), 5.0 * (p2 * (1.0 - p2)).sqrt() * se),
        ("lag-1 correlation", lag1.abs(), 5.0 * se),
        ("lag-2 correlation", lag2.abs(), 5.0 * se),
        ("KS distance", ks, 1.95 * se),
    ];
    for (what, got, bound) in checks {
        if got > bound {
            return Err(format!("{what} = {got:.2e} > {bound:.2e}"));
        }
    }
    Ok(())
}

#[test]
fn a_million_draws_look_standard_normal() {
    let n = 1_000_000;
    for (seed, offset) in [(0u64, 0u64), (0xdead_beef_1234, 3)] {
        let z = fill(seed, offset, n);
        assert!(z.iter().all(|v| v.is_finite()));
        looks_standard_normal(&z).unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));
    }
}

/// The statistics above reject generators that are wrong in each way they can fail.
#[test]
fn the_statistics_reject_wrong_generators() {
    let n = 1_000_000;
    let z = fill(5, 0, n);
    let wrong: Vec<(&str, Vec<f32>)> = vec![
        ("scaled by 1.02", z.iter().map(|v| v * 1.02).collect()),
        ("shifted by 0.01", z.iter().map(|v| v + 0.01).collect()),
        // Logistic with unit variance: right mean and variance, wrong shape.
        (
            "logistic",
            z.chunks(2)
                .map(|p| {
                    let u = normal_cdf(p[0] as f64).clamp(1e-12, 1.0 - 1e-12);
                    ((u / (1.0 - u)).ln() * 3f64.sqrt() / std::f64::consts::PI) as f32
                })
                .collect(),
        ),
        // Both halves of each pair from the same angle: cos twice, correlated lags.
        ("cos twice", z.chunks(2).flat_map(|p| [p[0], p[0]]).collect()),
        // Each draw three times: strongly correlated neighbours.
        ("repeated", (0..n).map(|i| z[i / 3 * 3]).collect()),
    ];
    for (what, sample) in wrong {
        assert!(looks_standard_normal(&sample).is_err(), "the checks accepted a wrong generator: {what}");
    }
}

// ---- reparameterization and KL ------------------------------------------------------

/// Inputs of the kind a VAE's encoder gives: mu in [-3, 3], logvar in [-8, 4] with 0
/// and the extremes mixed in, eps from the generator.
fn inputs(seed: u64, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut r = rng(seed);
    let mu = rand_vec(&mut r, n, -3.0, 3.0);
    let mut lv = rand_vec(&mut r, n, -8.0, 4.0);
    for (v, e) in lv.iter_mut().step_by(5).zip([0.0, -8.0, 4.0, 1e-4, -1e-4]) {
        *v = e;
    }
    (mu, lv, fill(seed, 0, n))
}

const LENS_WITH_EMPTY: [usize; 13] = [0, 1, 2, 7, 13, 15, 16, 17, 31, 97, 257, 1001, 4099];

/// `(rows, cols)`.
const SHAPES: [(usize, usize); 9] = [(1, 1), (1, 7), (3, 5), (2, 8), (17, 1), (4, 31), (7, 143), (1, 4099), (0, 3)];

/// Every level against the scalar spec: the same op order, the vector exp (a few ulp from
/// libm): agreement to 1e-6 of the terms' size.
const LEVEL_REL: f64 = 1e-6;

#[test]
fn reparameterize_matches_f64_and_every_level_matches_scalar() {
    for n in LENS_WITH_EMPTY {
        let (mu, lv, eps) = inputs(n as u64, n);
        let dz = rand_vec(&mut rng(99), n, -2.0, 2.0);
        let sd: Vec<f64> = lv.iter().map(|&v| (0.5 * v as f64).exp()).collect();
        let want_z: Vec<f64> = (0..n).map(|i| mu[i] as f64 + sd[i] * eps[i] as f64).collect();
        let want_dlv: Vec<f64> = (0..n).map(|i| dz[i] as f64 * 0.5 * sd[i] * eps[i] as f64).collect();
        for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
            let what = format!("{} n={n}", level.name());
            let mut z = vec![f32::NAN; n];
            g::reparameterize_forward_with(level, &mu, &lv, &eps, &mut z);
            for i in 0..n {
                // Relative to the two terms' sizes: mu + s eps may cancel.
                let scale = mu[i].abs() as f64 + (sd[i] * eps[i] as f64).abs();
                assert!(
                    (z[i] as f64 - want_z[i]).abs() <= 4e-7 * scale + 1e-30,
                    "{what} z[{i}]: {} vs {}",
                    z[i],
                    want_z[i]
                );
            }
            let (mut dmu, mut dlv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            g::reparameterize_backward_with(level, &lv, &eps, &dz, &mut dmu, &mut dlv);
            assert_eq!(dmu, dz, "{what}: dmu is dz");
            assert_close(&format!("{what} dlogvar"), &dlv, &want_dlv, 6e-7, 1e-30);
        }
    }
}

/// The f64 KL of the batch: `(1/rows) sum 0.5 (mu^2 + exp(lv) - 1 - lv)`, and the sum of
/// the terms' sizes (the rounding scale of the f32 terms, which cancel near lv = 0).
fn kl_f64(mu: &[f32], lv: &[f32], rows: usize) -> (f64, f64) {
    let (mut s, mut size) = (0.0, 0.0);
    for (&m, &l) in mu.iter().zip(lv) {
        let (m, l) = (m as f64, l as f64);
        s += 0.5 * (m * m + l.exp_m1() - l);
        size += 0.5 * (1.0 + l.abs() + m * m + l.exp());
    }
    let r = rows.max(1) as f64;
    (if rows == 0 { 0.0 } else { s / r }, size / r)
}

#[test]
fn kl_forward_matches_f64_and_every_level_matches_scalar() {
    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let (mu, lv, _) = inputs(7 + n as u64, n);
        let (want, size) = kl_f64(&mu, &lv, rows);
        let spec = g::gaussian_kl_forward_with(SimdLevel::Scalar, &mu, &lv, rows, cols);
        // Per term: two ulp of its largest part (exp(lv) to 55 here), summed in f64.
        assert!((spec as f64 - want).abs() <= 2.5e-7 * size + 1e-30, "scalar {rows}x{cols}: {spec} vs {want}");
        assert!(spec >= 0.0, "KL is never negative");
        for level in simd_levels() {
            let got = g::gaussian_kl_forward_with(level, &mu, &lv, rows, cols);
            let err = (got as f64 - spec as f64).abs();
            assert!(err <= LEVEL_REL * size + 1e-30, "{} {rows}x{cols}: {got} vs scalar {spec}", level.name());
        }
    }
    // The standard normal itself has KL 0 exactly.
    assert_eq!(g::gaussian_kl_forward(&[0.0; 6], &[0.0; 6], 2, 3), 0.0);
}

/// The backward against the formula in f64 and against central differences of the f64
/// forward (which pins the formula itself, not only its rounding).
#[test]
fn kl_backward_is_the_gradient_of_the_forward() {
    let dout = -1.7f32;
    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let (mu, lv, _) = inputs(3 + n as u64, n);
        let r = rows.max(1) as f64;
        let want_mu: Vec<f64> = mu.iter().map(|&m| dout as f64 * m as f64 / r).collect();
        let want_lv: Vec<f64> = lv.iter().map(|&l| dout as f64 * 0.5 * (l as f64).exp_m1() / r).collect();
        for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
            let what = format!("{} {rows}x{cols}", level.name());
            let (mut dmu, mut dlv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            g::gaussian_kl_backward_with(level, &mu, &lv, dout, &mut dmu, &mut dlv, rows, cols);
            assert_close(&format!("{what} dmu"), &dmu, &want_mu, 3e-7, 1e-30);
            // exp(lv) - 1 in f32 loses relative accuracy near lv = 0: bound by exp(lv)'s size.
            for i in 0..n {
                let bound = 6e-7 * (dout as f64 * 0.5 * ((lv[i] as f64).exp() + 1.0) / r).abs();
                assert!(
                    (dlv[i] as f64 - want_lv[i]).abs() <= bound,
                    "{what} dlogvar[{i}]: {} vs {}",
                    dlv[i],
                    want_lv[i]
                );
            }
        }
        if n == 0 || n > 200 {
            continue;
        }
        let x: Vec<f64> = mu.iter().chain(&lv).map(|&v| v as f64).collect();
        let f = |x: &[f64]| {
            let (m, l) = x.split_at(n);
            dout as f64 * m.iter().zip(l).map(|(m, l)| 0.5 * (m * m + l.exp_m1() - l)).sum::<f64>() / r
        };
        for i in 0..2 * n {
            let num = central_diff(&f, &x, i, 1e-5);
            let tape = if i < n { want_mu[i] } else { want_lv[i - n] };
            assert!((num - tape).abs() <= 1e-6 * (1.0 + tape.abs()), "{rows}x{cols} input {i}: {num} vs {tape}");
        }
    }
}

/// dlogvar of the reparameterization against central differences of z in f64.
#[test]
fn reparameterize_backward_is_the_gradient_of_the_forward() {
    let n = 37;
    let (mu, lv, eps) = inputs(5, n);
    let dz = rand_vec(&mut rng(8), n, -1.0, 1.0);
    let (mut dmu, mut dlv) = (vec![0.0; n], vec![0.0; n]);
    g::reparameterize_backward(&lv, &eps, &dz, &mut dmu, &mut dlv);
    let x: Vec<f64> = mu.iter().chain(&lv).map(|&v| v as f64).collect();
    let f = |x: &[f64]| (0..n).map(|i| dz[i] as f64 * (x[i] + (0.5 * x[n + i]).exp() * eps[i] as f64)).sum::<f64>();
    for i in 0..2 * n {
        let num = central_diff(&f, &x, i, 1e-5);
        let tape = if i < n { dmu[i] } else { dlv[i - n] } as f64;
        assert!((num - tape).abs() <= 1e-5 * (1.0 + tape.abs()), "input {i}: {num} vs {tape}");
    }
}

/// The entry points the backends call run the best level: the same bits as the `_with`
/// functions at `simd::level()`, on inputs where a no-op or a zero would show.
#[test]
fn entry_points_run_the_best_level() {
    let best = autoenc_kernels::simd::level();
    let (rows, cols) = (7, 143);
    let n = rows * cols;
    let (mu, lv, eps) = inputs(5, n);
    let dz = rand_vec(&mut rng(98), n, -2.0, 2.0);
    let (mut z, mut want) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    g::reparameterize_forward(&mu, &lv, &eps, &mut z);
    g::reparameterize_forward_with(best, &mu, &lv, &eps, &mut want);
    assert_eq!(z.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    let (mut dmu, mut dlv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    let (mut want_dmu, mut want_dlv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    g::reparameterize_backward(&lv, &eps, &dz, &mut dmu, &mut dlv);
    g::reparameterize_backward_with(best, &lv, &eps, &dz, &mut want_dmu, &mut want_dlv);
    assert_eq!((&dmu, &dlv), (&want_dmu, &want_dlv));
    let kl = g::gaussian_kl_forward(&mu, &lv, rows, cols);
    assert!(kl > 1.0, "a KL of random posteriors is far from 0: {kl}");
    assert_eq!(kl.to_bits(), g::gaussian_kl_forward_with(best, &mu, &lv, rows, cols).to_bits());
    let (mut gmu, mut glv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    let (mut want_gmu, mut want_glv) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    g::gaussian_kl_backward(&mu, &lv, 0.75, &mut gmu, &mut glv, rows, cols);
    g::gaussian_kl_backward_with(best, &mu, &lv, 0.75, &mut want_gmu, &mut want_glv, rows, cols);
    assert_eq!((&gmu, &glv), (&want_gmu, &want_glv));
    assert!(gmu.iter().any(|&v| v != 0.0) && glv.iter().any(|&v| v != 0.0));
}
