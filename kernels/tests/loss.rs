//! loss.rs: every loss, the L1 and KL penalties. Every SIMD level against the scalar spec on
//! awkward shapes, the scalar spec against f64 math, every backward against central finite
//! differences of an f64 forward.

mod kernel_util;

use autoenc_kernels::loss::{self, Loss, BCE_EPS, KL_EPS};
use autoenc_kernels::SimdLevel;
use kernel_util::*;
use rand::rngs::StdRng;
use rand::Rng;

const LOSSES: [Loss; 4] = [Loss::Mse, Loss::Bce, Loss::BceWithLogits, Loss::SoftmaxCrossEntropy];

/// `(rows, cols)`: 1, below/at/above the vector widths, primes, long rows, many rows.
const SHAPES: [(usize, usize); 14] = [
    (1, 1),
    (2, 1),
    (1, 7),
    (13, 1),
    (3, 5),
    (2, 8),
    (17, 1),
    (1, 97),
    (1, 257),
    (10, 100),
    (1, 4099),
    (7, 13),
    (4, 1025),
    (64, 17),
];

/// Exact per-element ops at every level (same op order, no FMA): results agree to rounding.
const EXACT_REL: f64 = 1e-6;
/// Loss values built from the vector exp/ln: each term within a few ulp of libm's, summed
/// in f64 (measured worst over 2000 random shapes: 1.2e-7).
const APPROX_REL: f64 = 1e-6;

/// Predictions and targets of the kind each loss sees, with edge values mixed in.
fn inputs(rng: &mut StdRng, loss: Loss, rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let n = rows * cols;
    match loss {
        Loss::Mse => (rand_vec(rng, n, -2.0, 2.0), rand_vec(rng, n, -2.0, 2.0)),
        Loss::Bce => {
            let mut p = rand_vec(rng, n, 0.0, 1.0);
            // Exact 0 and 1 and values inside the clamp band.
            for (pi, e) in p.iter_mut().step_by(7).zip([0.0, 1.0, 1e-9, 1.0 - 1e-8, 0.5]) {
                *pi = e;
            }
            (p, rand_vec(rng, n, 0.0, 1.0))
        }
        Loss::BceWithLogits => {
            let mut x = rand_vec(rng, n, -12.0, 12.0);
            for (xi, e) in x.iter_mut().step_by(7).zip([0.0, 100.0, -100.0, 1e-6, 40.0, -40.0]) {
                *xi = e;
            }
            (x, rand_vec(rng, n, 0.0, 1.0))
        }
        Loss::SoftmaxCrossEntropy => (rand_vec(rng, n, -10.0, 10.0), targets_for_ce(rng, rows, cols)),
    }
}

/// Even rows one-hot, odd rows a random probability vector.
/// One-hot rows, soft rows summing to 1, and every third row soft but not normalised (the
/// kernels take any `t >= 0`: the loss is `ln(s) sum t - ...`, so a sum of 1 must not be
/// assumed anywhere).
fn targets_for_ce(rng: &mut StdRng, rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; rows * cols];
    for (r, row) in t.chunks_exact_mut(cols).enumerate() {
        if r % 3 == 2 {
            row.iter_mut().for_each(|v| *v = 2.0 * rng.random::<f32>());
        } else if r % 2 == 0 {
            row[rng.random_range(0..cols)] = 1.0;
        } else {
            row.iter_mut().for_each(|v| *v = rng.random::<f32>());
            let s: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
    }
    t
}

// ---- f64 references -------------------------------------------------------------------

fn loss_f64(loss: Loss, p: &[f64], t: &[f64], rows: usize, cols: usize, clamp: bool) -> f64 {
    let n = (rows * cols) as f64;
    let pairs = p.iter().zip(t);
    match loss {
        Loss::Mse => pairs.map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / n,
        Loss::Bce => {
            let term = |p: f64, t: f64| {
                let p = if clamp { p.clamp(BCE_EPS as f64, (1.0 - BCE_EPS) as f64) } else { p };
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            };
            pairs.map(|(&p, &t)| term(p, t)).sum::<f64>() / n
        }
        Loss::BceWithLogits => pairs.map(|(&x, &t)| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()).sum::<f64>() / n,
        Loss::SoftmaxCrossEntropy => {
            let row_loss = |x: &[f64], t: &[f64]| {
                let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                x.iter().zip(t).map(|(x, t)| t * (lse - x)).sum::<f64>()
            };
            p.chunks_exact(cols).zip(t.chunks_exact(cols)).map(|(x, t)| row_loss(x, t)).sum::<f64>() / rows as f64
        }
    }
}

fn all_levels() -> Vec<SimdLevel> {
    [SimdLevel::Scalar].into_iter().chain(simd_levels()).collect()
}

// ---- losses ---------------------------------------------------------------------------

#[test]
fn loss_forward_every_level_matches_scalar() {
    let mut rng = rng(11);
    for loss in LOSSES {
        for (rows, cols) in SHAPES {
            let (p, t) = inputs(&mut rng, loss, rows, cols);
            let want = loss::loss_forward_scalar(loss, &p, &t, rows, cols);
            let rel = if loss == Loss::Mse { EXACT_REL } else { APPROX_REL };
            for level in simd_levels() {
                let got = loss::loss_forward_with(level, loss, &p, &t, rows, cols);
                let what = format!("{} forward {} {rows}x{cols}", loss.name(), level.name());
                assert_close32(&what, &[got], &[want], rel, 0.0);
            }
        }
    }
}

/// The spec against f64 math on the same (f32) inputs: f32 terms rounded a few times,
/// libm's expf/logf within an ulp or two, f64 sums.
#[test]
fn loss_forward_scalar_matches_f64() {
    let mut rng = rng(12);
    for loss in LOSSES {
        for (rows, cols) in SHAPES {
            let (p, t) = inputs(&mut rng, loss, rows, cols);
            let got = loss::loss_forward_scalar(loss, &p, &t, rows, cols);
            let want = loss_f64(loss, &to_f64(&p), &to_f64(&t), rows, cols, true);
            // Bce: 1 - p in f32 costs up to 2^-24 relative of (1-p), amplified by the log's
            // 1/(1-p) slope near p = 0: relative to the value that is still ~1e-7 of each term.
            assert_close(&format!("{} scalar vs f64 {rows}x{cols}", loss.name()), &[got], &[want], 1e-6, 0.0);
        }
    }
}

#[test]
fn loss_backward_every_level_matches_scalar() {
    let mut rng = rng(13);
    let dout = 0.7f32;
    for loss in LOSSES {
        for (rows, cols) in SHAPES {
            let (p, t) = inputs(&mut rng, loss, rows, cols);
            let n = rows * cols;
            let mut want = vec![f32::NAN; n];
            loss::loss_backward_scalar(loss, &p, &t, dout, &mut want, rows, cols);
            // Exp-based gradients: the approximated term (sigmoid, softmax * sum t, at most
            // ~1 in size) is within a few ulp, then scaled: an absolute error of 5e-7 * scale
            // on top of rounding (measured worst over 2000 random shapes: 2.2e-7 * scale).
            let scale = dout as f64 / if loss == Loss::SoftmaxCrossEntropy { rows } else { n } as f64;
            let (rel, abs) = match loss {
                Loss::Mse | Loss::Bce => (EXACT_REL, 0.0),
                _ => (EXACT_REL, 5e-7 * scale),
            };
            for level in simd_levels() {
                let mut got = vec![f32::NAN; n];
                loss::loss_backward_with(level, loss, &p, &t, dout, &mut got, rows, cols);
                let what = format!("{} backward {} {rows}x{cols}", loss.name(), level.name());
                assert_close32(&what, &got, &want, rel, abs);
            }
        }
    }
}

/// Analytic gradients against central differences of the f64 forward, at every level.
/// Bce predictions stay inside [0.05, 0.95] (away from the clamp, where the f64 loss is
/// smooth). Central differences with h = 1e-5 are accurate to ~1e-9 here; the kernels to
/// f32 rounding: 1e-5 relative leaves a wide margin.
#[test]
fn loss_backward_matches_finite_differences() {
    let mut rng = rng(14);
    let dout = 0.7;
    for loss in LOSSES {
        for (rows, cols) in [(1, 1), (3, 7), (2, 17)] {
            let (mut p, t) = inputs(&mut rng, loss, rows, cols);
            if loss == Loss::Bce {
                p = rand_vec(&mut rng, rows * cols, 0.05, 0.95);
            }
            let (p64, t64) = (to_f64(&p), to_f64(&t));
            let f = |x: &[f64]| dout as f64 * loss_f64(loss, x, &t64, rows, cols, false);
            let fd: Vec<f64> = (0..p.len()).map(|i| central_diff(&f, &p64, i, 1e-5)).collect();
            let scale = dout as f64 / (rows * cols) as f64;
            for level in all_levels() {
                let mut got = vec![f32::NAN; p.len()];
                loss::loss_backward_with(level, loss, &p, &t, dout, &mut got, rows, cols);
                let what = format!("{} backward vs fd {} {rows}x{cols}", loss.name(), level.name());
                assert_close(&what, &got, &fd, 1e-5, 1e-7 * scale);
            }
        }
    }
}

/// Saturated inputs stay finite and match the f64 values: Bce at exactly 0 and 1 (clamped),
/// logits at +-100 and softmax logits at +-1000.
#[test]
fn losses_are_stable_at_extremes() {
    let cases: [(Loss, [f32; 4], [f32; 4]); 3] = [
        (Loss::Bce, [0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]),
        (Loss::BceWithLogits, [100.0, -100.0, 100.0, -100.0], [1.0, 0.0, 0.0, 1.0]),
        (Loss::SoftmaxCrossEntropy, [1000.0, -1000.0, 0.0, 999.0], [0.0, 0.0, 0.0, 1.0]),
    ];
    for (loss, p, t) in cases {
        let want = loss_f64(loss, &to_f64(&p), &to_f64(&t), 1, 4, true);
        for level in all_levels() {
            let got = loss::loss_forward_with(level, loss, &p, &t, 1, 4);
            assert_close(&format!("{} extreme {}", loss.name(), level.name()), &[got], &[want], 1e-6, 0.0);
            let mut g = [f32::NAN; 4];
            loss::loss_backward_with(level, loss, &p, &t, 1.0, &mut g, 1, 4);
            assert!(g.iter().all(|v| v.is_finite()), "{} grad {}: {g:?}", loss.name(), level.name());
        }
    }
}

#[test]
fn empty_loss_is_zero() {
    for loss in LOSSES {
        for level in all_levels() {
            assert_eq!(loss::loss_forward_with(level, loss, &[], &[], 0, 5), 0.0);
            assert_eq!(loss::loss_forward_with(level, loss, &[], &[], 3, 0), 0.0);
        }
    }
}

// ---- L1 -----------------------------------------------------------------------------------

#[test]
fn l1_every_level_matches_scalar_and_f64() {
    let mut rng = rng(15);
    for (rows, cols) in SHAPES {
        let mut x = rand_vec(&mut rng, rows * cols, -2.0, 2.0);
        x.iter_mut().step_by(5).for_each(|v| *v = 0.0);
        let exact = x.iter().map(|&v| (v as f64).abs()).sum::<f64>() / rows as f64;
        let want = loss::l1_penalty_scalar(&x, rows, cols);
        assert_close(&format!("l1 scalar vs f64 {rows}x{cols}"), &[want], &[exact], 1.2e-7, 0.0);
        let dout = -1.3f32;
        let mut want_dx = vec![f32::NAN; x.len()];
        loss::l1_penalty_backward_scalar(&x, dout, &mut want_dx, rows, cols);
        let exact_dx: Vec<f64> = x.iter().map(|&v| dout as f64 * sign64(v as f64) / rows as f64).collect();
        assert_close(&format!("l1 backward scalar vs f64 {rows}x{cols}"), &want_dx, &exact_dx, 1.2e-7, 0.0);
        for level in simd_levels() {
            let got = loss::l1_penalty_with(level, &x, rows, cols);
            assert_close32(&format!("l1 {} {rows}x{cols}", level.name()), &[got], &[want], EXACT_REL, 0.0);
            let mut dx = vec![f32::NAN; x.len()];
            loss::l1_penalty_backward_with(level, &x, dout, &mut dx, rows, cols);
            assert_close32(&format!("l1 backward {} {rows}x{cols}", level.name()), &dx, &want_dx, EXACT_REL, 0.0);
        }
    }
}

fn sign64(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x.signum()
    }
}

#[test]
fn l1_backward_matches_finite_differences() {
    let mut rng = rng(16);
    let (rows, cols) = (3, 11);
    let x = rand_vec(&mut rng, rows * cols, -2.0, 2.0);
    let x64 = to_f64(&x);
    let dout = 0.9f32;
    let f = |v: &[f64]| dout as f64 * v.iter().map(|a| a.abs()).sum::<f64>() / rows as f64;
    let mut dx = vec![0.0; x.len()];
    loss::l1_penalty_backward(&x, dout, &mut dx, rows, cols);
    for i in (0..x.len()).filter(|&i| x[i].abs() > 1e-3) {
        let fd = central_diff(&f, &x64, i, 1e-5);
        assert!((dx[i] as f64 - fd).abs() <= 1e-6 * fd.abs(), "l1 grad {i}: {} vs {fd}", dx[i]);
    }
}

// ---- KL sparsity ------------------------------------------------------------------------

fn kl_f64(r: &[f64], rho: f64) -> f64 {
    r.iter().map(|&r| rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln()).sum()
}

#[test]
fn kl_matches_f64_and_finite_differences() {
    let mut rng = rng(17);
    for n in LENS {
        let r = rand_vec(&mut rng, n, 0.01, 0.99);
        let r64 = to_f64(&r);
        for rho in [0.05f32, 0.5] {
            // Terms in f64, one rounding: the sum is positive, so relative error ~2^-24.
            let got = loss::kl_sparsity(&r, rho);
            assert_close(&format!("kl n={n} rho={rho}"), &[got], &[kl_f64(&r64, rho as f64)], 1.2e-7, 1e-12);
            let dout = 1.7f32;
            let mut d = vec![0.0; n];
            loss::kl_sparsity_backward(&r, rho, dout, &mut d);
            // The penalty is a sum of independent terms, so d/dr_i of the sum is d/dr_i of term
            // i: differencing that term alone keeps the f64 rounding noise (eps |f| / h) small.
            let f = |v: &[f64]| dout as f64 * kl_f64(v, rho as f64);
            for i in 0..n {
                let fd = central_diff(&f, &r64[i..i + 1], 0, 1e-7);
                assert!((d[i] as f64 - fd).abs() <= 1e-6 * fd.abs() + 1e-6, "kl grad n={n} {i}: {} vs {fd}", d[i]);
            }
        }
    }
}

/// At `rho_hat` = 0 or 1 the clamp holds it at `KL_EPS` from the edge: finite value, and
/// the gradient of the boundary point (documented choice), not zero.
#[test]
fn kl_clamps_saturated_units() {
    let rho = 0.05f64;
    let r = [0.0f32, 1.0, -0.5, 1.5];
    let edge = [KL_EPS as f64, (1.0 - KL_EPS) as f64, KL_EPS as f64, (1.0 - KL_EPS) as f64];
    let got = loss::kl_sparsity(&r, rho as f32);
    assert_close("kl clamped", &[got], &[kl_f64(&edge, rho)], 1e-6, 0.0);
    let mut d = [0.0f32; 4];
    loss::kl_sparsity_backward(&r, rho as f32, 1.0, &mut d);
    let want: Vec<f64> = edge.iter().map(|&e| -rho / e + (1.0 - rho) / (1.0 - e)).collect();
    assert_close("kl clamped grad", &d, &want, 1e-6, 0.0);
}

#[test]
fn kl_allows_rho_zero_and_one() {
    let r = [0.2f32, 0.7];
    assert_close("kl rho=0", &[loss::kl_sparsity(&r, 0.0)], &[-(0.8f64.ln() + 0.3f64.ln())], 1e-6, 0.0);
    assert_close("kl rho=1", &[loss::kl_sparsity(&r, 1.0)], &[-(0.2f64.ln() + 0.7f64.ln())], 1e-6, 0.0);
}

/// The plain entry points (what the CPU backend calls) run the detected level: the bits of
/// `*_with(level(), ..)`, which the tests above compare with the specification.
#[test]
fn plain_entry_points_run_the_detected_level() {
    let level = autoenc_kernels::simd::level();
    let mut r = rng(23);
    for (rows, cols) in [(1, 1), (3, 17), (5, 10), (7, 97)] {
        let n = rows * cols;
        let pred = rand_vec(&mut r, n, 0.01, 0.99);
        let target = rand_vec(&mut r, n, 0.0, 1.0);
        for l in Loss::ALL {
            let (got, want) = (
                loss::loss_forward(l, &pred, &target, rows, cols),
                loss::loss_forward_with(level, l, &pred, &target, rows, cols),
            );
            assert_eq!(got.to_bits(), want.to_bits(), "{l:?} forward {rows}x{cols}");
            let (mut got, mut want) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            loss::loss_backward(l, &pred, &target, 0.7, &mut got, rows, cols);
            loss::loss_backward_with(level, l, &pred, &target, 0.7, &mut want, rows, cols);
            assert_eq!(got, want, "{l:?} backward {rows}x{cols}");
        }
        let x = rand_vec(&mut r, n, -2.0, 2.0);
        let (got, want) = (loss::l1_penalty(&x, rows, cols), loss::l1_penalty_with(level, &x, rows, cols));
        assert_eq!(got.to_bits(), want.to_bits(), "l1 {rows}x{cols}");
        assert!(got > 0.0, "l1 {rows}x{cols}");
    }
}

/// The names the tables print and the codes the WGSL constants are made from: the codes are
/// the positions in `ALL` (the shader's constants follow that order), the names as listed.
#[test]
fn loss_names_and_codes() {
    for (i, l) in Loss::ALL.into_iter().enumerate() {
        assert_eq!(l.code(), i as u32, "{l:?}");
    }
    let names: Vec<_> = Loss::ALL.iter().map(|l| l.name()).collect();
    assert_eq!(names, ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"]);
}

/// A prediction or target that does not match the shape is refused at every level, never
/// read past.
#[test]
fn wrong_shapes_are_refused() {
    let (pred, target) = (vec![0.5f32; 6], vec![0.5f32; 6]);
    for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
        for l in Loss::ALL {
            for (p, t) in [(5, 6), (6, 5)] {
                let fwd =
                    std::panic::catch_unwind(|| loss::loss_forward_with(level, l, &pred[..p], &target[..t], 2, 3));
                let msg = fwd.expect_err("a wrong shape gave a loss");
                let msg = msg.downcast_ref::<String>().map(String::as_str).unwrap_or("");
                assert!(msg.contains("loss_forward") && msg.contains("2x3"), "{msg}");
                let bwd = std::panic::catch_unwind(|| {
                    let mut d = vec![0.0f32; p];
                    loss::loss_backward_with(level, l, &pred[..p], &target[..t], 1.0, &mut d, 2, 3)
                });
                let msg = bwd.expect_err("a wrong shape gave a gradient");
                let msg = msg.downcast_ref::<String>().map(String::as_str).unwrap_or("");
                assert!(msg.contains("2x3"), "{}: {msg}", level.name());
            }
        }
    }
}
