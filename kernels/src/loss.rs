//! Losses (forward and backward) and the sparsity penalties.
//!
//! The `*_scalar` functions are the specification: per-element terms in f32, sums in f64,
//! one rounding at the end. The x86 versions compute the same terms on vectors and sum
//! them in f64 lanes. Mse, L1 and every backward except the exp-based ones are exact
//! (bit-identical to scalar); Bce, BceWithLogits and SoftmaxCrossEntropy use the vector
//! exp/ln of `simd_util` (within a few ulp of libm). The KL sparsity penalty works on one
//! value per hidden unit and runs the scalar code at every level.

use crate::activation::sigmoid;
use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;

/// Losses. Every loss returns a scalar: the mean over all `rows * cols` elements for
/// `Mse`, `Bce`, `BceWithLogits` (PyTorch / Keras convention) and the mean over rows for
/// `SoftmaxCrossEntropy` (target rows are one-hot or any probability vector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    Mse,
    /// Binary cross-entropy on probabilities; predictions clamped to [BCE_EPS, 1-BCE_EPS].
    Bce,
    /// Numerically stable BCE taking logits.
    BceWithLogits,
    SoftmaxCrossEntropy,
}

impl Loss {
    /// Every loss, in code order (the GPU backend turns this list into WGSL constants).
    pub const ALL: [Self; 4] = [Self::Mse, Self::Bce, Self::BceWithLogits, Self::SoftmaxCrossEntropy];

    /// The stable integer code shared by kernels and shaders.
    pub fn code(self) -> u32 {
        self as u32
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::Bce => "bce",
            Self::BceWithLogits => "bce_with_logits",
            Self::SoftmaxCrossEntropy => "softmax_cross_entropy",
        }
    }
}

/// Clamp used by [`Loss::Bce`] so that log(0) never happens.
pub const BCE_EPS: f32 = 1e-7;

/// The loss value for `[rows, cols]` predictions and targets (see [`Loss`]); 0 when empty.
pub fn loss_forward(loss: Loss, pred: &[f32], target: &[f32], rows: usize, cols: usize) -> f32 {
    loss_forward_with(level(), loss, pred, target, rows, cols)
}

/// `dpred = dout * dloss/dpred`.
pub fn loss_backward(loss: Loss, pred: &[f32], target: &[f32], dout: f32, dpred: &mut [f32], rows: usize, cols: usize) {
    loss_backward_with(level(), loss, pred, target, dout, dpred, rows, cols)
}

/// `sum |x| / rows`.
pub fn l1_penalty(x: &[f32], rows: usize, cols: usize) -> f32 {
    l1_penalty_with(level(), x, rows, cols)
}

/// `dx = dout * sign(x) / rows`, sign(0) = 0.
pub fn l1_penalty_backward(x: &[f32], dout: f32, dx: &mut [f32], rows: usize, cols: usize) {
    l1_penalty_backward_with(level(), x, dout, dx, rows, cols)
}

/// Clamp applied to the mean activations of [`kl_sparsity`].
pub const KL_EPS: f32 = 1e-6;

/// `sum_j KL(rho || rho_hat_j)` = `sum_j rho ln(rho/rho_hat_j) + (1-rho) ln((1-rho)/(1-rho_hat_j))`.
///
/// `rho_hat` is clamped to `[KL_EPS, 1-KL_EPS]`; each term is evaluated in f64 (near
/// `rho_hat = rho` its two halves nearly cancel). `0 ln 0` is taken as 0, so `rho` may be 0
/// or 1. Scalar at every SIMD level: one value per hidden unit, negligible next to the layer.
pub fn kl_sparsity(rho_hat: &[f32], rho: f32) -> f32 {
    let rho = rho as f64;
    let terms = rho_hat.iter().map(|&r| {
        let r = clamp_kl(r);
        xlog_ratio(rho, r) + xlog_ratio(1.0 - rho, 1.0 - r)
    });
    terms.sum::<f64>() as f32
}

/// `d rho_hat_j = dout * (-(rho/rho_hat_j) + (1-rho)/(1-rho_hat_j))` (clamped rho_hat).
///
/// Where the clamp is active the gradient is the one at the clamp boundary, not zero: it
/// still pushes a saturated unit back toward `rho`, which is what the penalty is for.
pub fn kl_sparsity_backward(rho_hat: &[f32], rho: f32, dout: f32, drho_hat: &mut [f32]) {
    assert_eq!(rho_hat.len(), drho_hat.len(), "kl_sparsity_backward: lengths differ");
    let rho = rho as f64;
    for (d, &r) in drho_hat.iter_mut().zip(rho_hat) {
        let r = clamp_kl(r);
        *d = (dout as f64 * (-(rho / r) + (1.0 - rho) / (1.0 - r))) as f32;
    }
}

fn clamp_kl(r: f32) -> f64 {
    r.clamp(KL_EPS, 1.0 - KL_EPS) as f64
}

/// `a ln(a/b)`, with the limit 0 at `a = 0`.
fn xlog_ratio(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        0.0
    } else {
        a * (a / b).ln()
    }
}

// ---- chosen level (panics if this CPU lacks it) -------------------------------------

pub fn loss_forward_with(level: SimdLevel, loss: Loss, pred: &[f32], target: &[f32], rows: usize, cols: usize) -> f32 {
    check_shape("loss_forward", pred, target, rows, cols);
    dispatch!(level, loss_forward_scalar, loss_forward(loss, pred, target, rows, cols))
}

#[allow(clippy::too_many_arguments)]
pub fn loss_backward_with(
    level: SimdLevel,
    loss: Loss,
    pred: &[f32],
    target: &[f32],
    dout: f32,
    dpred: &mut [f32],
    rows: usize,
    cols: usize,
) {
    check_shape("loss_backward", pred, target, rows, cols);
    assert_eq!(dpred.len(), rows * cols, "loss_backward: dpred length");
    dispatch!(level, loss_backward_scalar, loss_backward(loss, pred, target, dout, dpred, rows, cols))
}

pub fn l1_penalty_with(level: SimdLevel, x: &[f32], rows: usize, cols: usize) -> f32 {
    assert_eq!(x.len(), rows * cols, "l1_penalty: x length");
    dispatch!(level, l1_penalty_scalar, l1_penalty(x, rows, cols))
}

pub fn l1_penalty_backward_with(level: SimdLevel, x: &[f32], dout: f32, dx: &mut [f32], rows: usize, cols: usize) {
    assert!(x.len() == rows * cols && dx.len() == rows * cols, "l1_penalty_backward: lengths");
    dispatch!(level, l1_penalty_backward_scalar, l1_penalty_backward(x, dout, dx, rows, cols))
}

fn check_shape(what: &str, pred: &[f32], target: &[f32], rows: usize, cols: usize) {
    assert!(
        pred.len() == rows * cols && target.len() == rows * cols,
        "{what}: pred/target length is not {rows}x{cols}"
    );
}

/// The mean's denominator: rows for softmax cross-entropy, every element otherwise.
fn count(loss: Loss, rows: usize, cols: usize) -> usize {
    match loss {
        Loss::SoftmaxCrossEntropy => rows,
        _ => rows * cols,
    }
}

/// `sum / count`, and 0 for an empty input (rather than 0/0).
fn mean(sum: f64, loss: Loss, rows: usize, cols: usize) -> f32 {
    match count(loss, rows, cols) {
        0 => 0.0,
        n => (sum / n as f64) as f32,
    }
}

/// The factor every gradient element is multiplied by: `dout / count` (`2 dout / count`
/// for Mse), rounded once.
fn grad_scale(loss: Loss, dout: f32, rows: usize, cols: usize) -> f32 {
    let k = if loss == Loss::Mse { 2.0 } else { 1.0 };
    (k * dout as f64 / count(loss, rows, cols).max(1) as f64) as f32
}

/// `dout / rows`, rounded once.
fn l1_scale(dout: f32, rows: usize) -> f32 {
    (dout as f64 / rows.max(1) as f64) as f32
}

// ---- scalar specification -------------------------------------------------------------

pub fn loss_forward_scalar(loss: Loss, pred: &[f32], target: &[f32], rows: usize, cols: usize) -> f32 {
    let pairs = pred.iter().zip(target);
    let sum: f64 = match loss {
        Loss::Mse => pairs.map(|(&p, &t)| mse_term(p, t) as f64).sum(),
        Loss::Bce => pairs.map(|(&p, &t)| bce_term(p, t) as f64).sum(),
        Loss::BceWithLogits => pairs.map(|(&x, &t)| bce_logits_term(x, t) as f64).sum(),
        Loss::SoftmaxCrossEntropy => rows_of(pred, target, cols).map(|(x, t)| softmax_ce_row(x, t)).sum(),
    };
    mean(sum, loss, rows, cols)
}

pub fn loss_backward_scalar(
    loss: Loss,
    pred: &[f32],
    target: &[f32],
    dout: f32,
    dpred: &mut [f32],
    rows: usize,
    cols: usize,
) {
    let scale = grad_scale(loss, dout, rows, cols);
    let grad: fn(f32, f32, f32) -> f32 = match loss {
        Loss::Mse => mse_grad,
        Loss::Bce => bce_grad,
        Loss::BceWithLogits => bce_logits_grad,
        Loss::SoftmaxCrossEntropy => {
            for ((x, t), d) in rows_of(pred, target, cols).zip(dpred.chunks_exact_mut(cols.max(1))) {
                softmax_ce_row_grad(x, t, scale, d);
            }
            return;
        }
    };
    for ((d, &p), &t) in dpred.iter_mut().zip(pred).zip(target) {
        *d = grad(p, t, scale);
    }
}

pub fn l1_penalty_scalar(x: &[f32], rows: usize, _cols: usize) -> f32 {
    let sum: f64 = x.iter().map(|&v| v.abs() as f64).sum();
    if rows == 0 {
        0.0
    } else {
        (sum / rows as f64) as f32
    }
}

pub fn l1_penalty_backward_scalar(x: &[f32], dout: f32, dx: &mut [f32], rows: usize, _cols: usize) {
    let scale = l1_scale(dout, rows);
    for (d, &v) in dx.iter_mut().zip(x) {
        *d = sign(v) * scale;
    }
}

/// -1, 0 or 1 (0 for 0 and NaN).
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `(pred row, target row)` pairs.
fn rows_of<'a>(pred: &'a [f32], target: &'a [f32], cols: usize) -> impl Iterator<Item = (&'a [f32], &'a [f32])> {
    pred.chunks_exact(cols.max(1)).zip(target.chunks_exact(cols.max(1)))
}

fn mse_term(p: f32, t: f32) -> f32 {
    let d = p - t;
    d * d
}

fn mse_grad(p: f32, t: f32, scale: f32) -> f32 {
    (p - t) * scale
}

fn clamp_bce(p: f32) -> f32 {
    p.clamp(BCE_EPS, 1.0 - BCE_EPS)
}

fn bce_term(p: f32, t: f32) -> f32 {
    let p = clamp_bce(p);
    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
}

/// `(p - t) / (p (1 - p))` on the clamped `p`: finite everywhere.
fn bce_grad(p: f32, t: f32, scale: f32) -> f32 {
    let p = clamp_bce(p);
    (p - t) / (p * (1.0 - p)) * scale
}

/// `max(x, 0) - x t + ln(1 + exp(-|x|))`: the logits form never overflows.
fn bce_logits_term(x: f32, t: f32) -> f32 {
    (x.max(0.0) - x * t) + (-x.abs()).exp().ln_1p()
}

fn bce_logits_grad(x: f32, t: f32, scale: f32) -> f32 {
    (sigmoid(x) - t) * scale
}

/// The largest element of a row (NaNs ignored).
fn row_max(x: &[f32]) -> f32 {
    x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
}

/// `-sum_c t_c log softmax(x)_c = ln(s) * sum_c t_c - sum_c t_c (x_c - m)` with
/// `m = max x` and `s = sum_c exp(x_c - m)`. For `t >= 0` both parts are non-negative, so
/// nothing cancels, and a confident correct row (`x_k = m`) gives exactly `ln s`.
fn softmax_ce_row(x: &[f32], t: &[f32]) -> f64 {
    let m = row_max(x);
    let s: f64 = x.iter().map(|&v| (v - m).exp() as f64).sum();
    let t_sum: f64 = t.iter().map(|&v| v as f64).sum();
    let td: f64 = x.iter().zip(t).map(|(&v, &tc)| (tc * (v - m)) as f64).sum();
    s.ln() * t_sum - td
}

/// `d_c = (softmax(x)_c * sum t - t_c) * scale`, computed as `(exp(x_c - m) k - t_c) scale`
/// with `k = sum t / s` rounded once.
fn softmax_ce_row_grad(x: &[f32], t: &[f32], scale: f32, d: &mut [f32]) {
    let m = row_max(x);
    let s: f64 = x.iter().map(|&v| (v - m).exp() as f64).sum();
    let k = softmax_grad_factor(s, t.iter().map(|&v| v as f64).sum());
    for ((dc, &v), &tc) in d.iter_mut().zip(x).zip(t) {
        *dc = softmax_grad_one(v, tc, m, k, scale);
    }
}

fn softmax_grad_factor(s: f64, t_sum: f64) -> f32 {
    (t_sum / s) as f32
}

fn softmax_grad_one(x: f32, t: f32, m: f32, k: f32, scale: f32) -> f32 {
    ((x - m).exp() * k - t) * scale
}

// ---- x86 versions: `loss/x86.rs` -----------------------------------------------------

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
use x86::{avx2, avx512};
