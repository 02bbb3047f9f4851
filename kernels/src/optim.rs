//! Optimizer updates: SGD with momentum, Adam.
//!
//! `sgd_step` and `adam_step` are the per-element specification. The x86 versions run
//! the same operations in the same order on vectors (no fused multiply-add; `sqrt` and
//! division are correctly rounded in SIMD too), so every level gives bit-identical results.

use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;

/// Hyper-parameters of one SGD-with-momentum step:
/// `v = momentum*v + (g + wd*p); p -= lr*v` (PyTorch's convention).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// Hyper-parameters of one Adam step (bias-corrected, `step` counts from 1).
/// Weight decay is L2 added to the gradient (PyTorch `Adam`, not `AdamW`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub step: u32,
}

/// `v = momentum*v + (g + wd*p); p -= lr*v`.
pub fn sgd_update(param: &mut [f32], grad: &[f32], velocity: &mut [f32], p: SgdParams) {
    sgd_update_with(level(), param, grad, velocity, p)
}

/// Bias-corrected Adam, L2 weight decay added to the gradient.
pub fn adam_update(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: AdamParams) {
    adam_update_with(level(), param, grad, m, v, p)
}

/// [`sgd_update`] at a chosen SIMD level (panics if this CPU lacks it).
pub fn sgd_update_with(level: SimdLevel, param: &mut [f32], grad: &[f32], velocity: &mut [f32], p: SgdParams) {
    let n = param.len();
    assert!(grad.len() == n && velocity.len() == n, "sgd_update: param, grad, velocity lengths differ");
    dispatch!(level, sgd_update_scalar, sgd_update(param, grad, velocity, p))
}

/// [`adam_update`] at a chosen SIMD level (panics if this CPU lacks it, or if `p.step` is 0).
pub fn adam_update_with(
    level: SimdLevel,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    p: AdamParams,
) {
    let n = param.len();
    assert!(grad.len() == n && m.len() == n && v.len() == n, "adam_update: param, grad, m, v lengths differ");
    let c = AdamConsts::new(p);
    dispatch!(level, adam_update_scalar_with, adam_update(param, grad, m, v, c))
}

pub fn sgd_update_scalar(param: &mut [f32], grad: &[f32], velocity: &mut [f32], p: SgdParams) {
    for ((w, &g), vel) in param.iter_mut().zip(grad).zip(velocity) {
        sgd_step(w, g, vel, p);
    }
}

pub fn adam_update_scalar(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: AdamParams) {
    adam_update_scalar_with(param, grad, m, v, AdamConsts::new(p));
}

fn adam_update_scalar_with(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], c: AdamConsts) {
    for (((w, &g), mi), vi) in param.iter_mut().zip(grad).zip(m).zip(v) {
        adam_step(w, g, mi, vi, c);
    }
}

/// One element of SGD with momentum.
fn sgd_step(w: &mut f32, g: f32, vel: &mut f32, p: SgdParams) {
    let g = g + p.weight_decay * *w;
    *vel = p.momentum * *vel + g;
    *w -= p.lr * *vel;
}

/// The per-step constants of Adam, computed once in f64 and rounded once:
/// `p -= lr/(1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)`, which is PyTorch's arrangement of
/// `lr * mhat / (sqrt(vhat) + eps)`.
#[derive(Clone, Copy, Debug)]
struct AdamConsts {
    beta1: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    weight_decay: f32,
    eps: f32,
    /// `lr / (1 - beta1^t)`.
    step_size: f32,
    /// `1 / sqrt(1 - beta2^t)`.
    inv_sqrt_bc2: f32,
}

impl AdamConsts {
    fn new(p: AdamParams) -> Self {
        assert!(p.step >= 1, "adam_update: step counts from 1");
        let t = p.step as i32;
        let bc1 = 1.0 - (p.beta1 as f64).powi(t);
        let bc2 = 1.0 - (p.beta2 as f64).powi(t);
        AdamConsts {
            beta1: p.beta1,
            beta2: p.beta2,
            one_minus_beta1: 1.0 - p.beta1,
            one_minus_beta2: 1.0 - p.beta2,
            weight_decay: p.weight_decay,
            eps: p.eps,
            step_size: (p.lr as f64 / bc1) as f32,
            inv_sqrt_bc2: (1.0 / bc2.sqrt()) as f32,
        }
    }
}

/// One element of Adam.
fn adam_step(w: &mut f32, g: f32, m: &mut f32, v: &mut f32, c: AdamConsts) {
    let g = g + c.weight_decay * *w;
    *m = c.beta1 * *m + c.one_minus_beta1 * g;
    *v = c.beta2 * *v + c.one_minus_beta2 * g * g;
    let denom = v.sqrt() * c.inv_sqrt_bc2 + c.eps;
    *w -= c.step_size * *m / denom;
}

// ---- x86 versions ----------------------------------------------------------------------

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        mod $level {
            use super::*;
            use crate::simd_util::$level::*;

            #[target_feature(enable = $feat)]
            pub(super) fn sgd_update(param: &mut [f32], grad: &[f32], velocity: &mut [f32], p: SgdParams) {
                let (lr, mom, wd) = (splat(p.lr), splat(p.momentum), splat(p.weight_decay));
                let n = param.len();
                let main = n - n % LANES;
                for i in (0..main).step_by(LANES) {
                    let w = load(&param[i..]);
                    let g = vadd(load(&grad[i..]), vmul(wd, w));
                    let vel = vadd(vmul(mom, load(&velocity[i..])), g);
                    store(&mut velocity[i..], vel);
                    store(&mut param[i..], vsub(w, vmul(lr, vel)));
                }
                for i in main..n {
                    sgd_step(&mut param[i], grad[i], &mut velocity[i], p);
                }
            }

            #[target_feature(enable = $feat)]
            pub(super) fn adam_update(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], c: AdamConsts) {
                let (b1, b2, ob1, ob2) =
                    (splat(c.beta1), splat(c.beta2), splat(c.one_minus_beta1), splat(c.one_minus_beta2));
                let (wd, eps, step, inv_bc2) =
                    (splat(c.weight_decay), splat(c.eps), splat(c.step_size), splat(c.inv_sqrt_bc2));
                let n = param.len();
                let main = n - n % LANES;
                for i in (0..main).step_by(LANES) {
                    let w = load(&param[i..]);
                    let g = vadd(load(&grad[i..]), vmul(wd, w));
                    let mi = vadd(vmul(b1, load(&m[i..])), vmul(ob1, g));
                    let vi = vadd(vmul(b2, load(&v[i..])), vmul(vmul(ob2, g), g));
                    let denom = vadd(vmul(vsqrt(vi), inv_bc2), eps);
                    store(&mut m[i..], mi);
                    store(&mut v[i..], vi);
                    store(&mut param[i..], vsub(w, vdiv(vmul(step, mi), denom)));
                }
                for i in main..n {
                    adam_step(&mut param[i], grad[i], &mut m[i], &mut v[i], c);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(avx512, "avx512f");
#[cfg(target_arch = "x86_64")]
x86_kernels!(avx2, "avx2,fma");
