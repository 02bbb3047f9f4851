//! Closed-form contractive penalty: for `h = f(z)`, `z = x W^T + b`, `W: [hidden, inputs]`,
//! `||J_f(x)||_F^2 = sum_j f'(z_j)^2 * sum_i W_ji^2`.
//!
//! [`contractive_penalty_scalar`] and [`contractive_backward_scalar`] are the specification.
//! Both versions are cache-friendly the same way: the squared row norms `s_j = sum_i W_ji^2`
//! are computed once (one pass over W), then one pass over `z` row by row accumulates the
//! per-unit sums `sum_r f'(z_rj)^2` in f64, and the backward makes one more pass over W/dW.
//! The x86 versions vectorise each pass along contiguous rows (W rows, z rows across hidden
//! units); sigmoid/tanh derivatives use the vector exp of `simd_util`.
//!
//! `f'` and `f''` are evaluated from `e = exp(-|z|)` (sigmoid) or `exp(-2|z|)` (tanh):
//! `s(1-s) = e/(1+e)^2` stays accurate where the unit saturates, where `s(1-s)` in f32 would
//! round to 0 once `s` rounds to 1.

use crate::activation::LEAKY_RELU_SLOPE;
use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;
use crate::Activation;

/// `(1/rows) sum_r sum_j f'(z_rj)^2 * sum_i W_ji^2`.
pub fn contractive_penalty(act: Activation, z: &[f32], w: &[f32], rows: usize, hidden: usize, inputs: usize) -> f32 {
    contractive_penalty_with(level(), act, z, w, rows, hidden, inputs)
}

/// Accumulates `dz_rj += dout (2/rows) f'(z_rj) f''(z_rj) sum_i W_ji^2` and
/// `dw_ji += dout (2/rows) W_ji sum_r f'(z_rj)^2`.
#[allow(clippy::too_many_arguments)]
pub fn contractive_backward(
    act: Activation,
    z: &[f32],
    w: &[f32],
    dout: f32,
    dz: &mut [f32],
    dw: &mut [f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) {
    contractive_backward_with(level(), act, z, w, dout, dz, dw, rows, hidden, inputs)
}

/// [`contractive_penalty`] at a chosen SIMD level (panics if this CPU lacks it). 0 when
/// `rows` is 0.
pub fn contractive_penalty_with(
    level: SimdLevel,
    act: Activation,
    z: &[f32],
    w: &[f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) -> f32 {
    check_shape(z.len(), w.len(), rows, hidden, inputs);
    let level = if z.is_empty() || w.is_empty() { SimdLevel::Scalar } else { level }; // SIMD chunks by hidden, inputs > 0
    dispatch!(level, contractive_penalty_scalar, contractive_penalty(act, z, w, rows, hidden, inputs))
}

/// [`contractive_backward`] at a chosen SIMD level (panics if this CPU lacks it).
#[allow(clippy::too_many_arguments)]
pub fn contractive_backward_with(
    level: SimdLevel,
    act: Activation,
    z: &[f32],
    w: &[f32],
    dout: f32,
    dz: &mut [f32],
    dw: &mut [f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) {
    check_shape(z.len(), w.len(), rows, hidden, inputs);
    assert!(dz.len() == z.len() && dw.len() == w.len(), "contractive_backward: dz/dW lengths differ from z/W");
    let level = if z.is_empty() || w.is_empty() { SimdLevel::Scalar } else { level }; // SIMD chunks by hidden, inputs > 0
    dispatch!(level, contractive_backward_scalar, contractive_backward(act, z, w, dout, dz, dw, rows, hidden, inputs))
}

fn check_shape(z_len: usize, w_len: usize, rows: usize, hidden: usize, inputs: usize) {
    assert!(
        z_len == rows * hidden && w_len == hidden * inputs,
        "contractive: z has {z_len} values (want {rows}x{hidden}), W has {w_len} (want {hidden}x{inputs})"
    );
}

// ---- scalar specification -------------------------------------------------------------

pub fn contractive_penalty_scalar(
    act: Activation,
    z: &[f32],
    w: &[f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) -> f32 {
    let s = row_norms_sq_scalar(w, hidden, inputs);
    let mut total = 0.0f64;
    for r in 0..rows {
        for j in 0..hidden {
            total += penalty_term(act, z[r * hidden + j], s[j]) as f64;
        }
    }
    if rows == 0 {
        0.0
    } else {
        (total / rows as f64) as f32
    }
}

#[allow(clippy::too_many_arguments)]
pub fn contractive_backward_scalar(
    act: Activation,
    z: &[f32],
    w: &[f32],
    dout: f32,
    dz: &mut [f32],
    dw: &mut [f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) {
    let c = grad_scale(dout, rows);
    let cs: Vec<f32> = row_norms_sq_scalar(w, hidden, inputs).iter().map(|&s| c * s).collect();
    let mut fp_sq = vec![0.0f64; hidden];
    for r in 0..rows {
        for j in 0..hidden {
            fp_sq[j] += dz_step(act, z[r * hidden + j], cs[j], &mut dz[r * hidden + j]) as f64;
        }
    }
    for (j, &q) in fp_sq.iter().enumerate() {
        let cq = dw_factor(c, q);
        let row = j * inputs..(j + 1) * inputs;
        for (g, &v) in dw[row.clone()].iter_mut().zip(&w[row]) {
            *g += cq * v;
        }
    }
}

/// `s_j = sum_i W_ji^2`, summed in f64 and rounded once.
fn row_norms_sq_scalar(w: &[f32], hidden: usize, inputs: usize) -> Vec<f32> {
    (0..hidden).map(|j| w[j * inputs..(j + 1) * inputs].iter().map(|&v| (v * v) as f64).sum::<f64>() as f32).collect()
}

/// `2 dout / rows`, rounded once (0 when `rows` is 0: there is nothing to differentiate).
fn grad_scale(dout: f32, rows: usize) -> f32 {
    if rows == 0 {
        0.0
    } else {
        (2.0 * dout as f64 / rows as f64) as f32
    }
}

/// `c sum_r f'(z_rj)^2`, rounded once: the factor of row j of W in dW.
fn dw_factor(c: f32, fp_sq: f64) -> f32 {
    (c as f64 * fp_sq) as f32
}

/// One unit's penalty term `f'(z)^2 s_j`.
fn penalty_term(act: Activation, z: f32, s: f32) -> f32 {
    let (d, _) = derivs(act, z);
    d * d * s
}

/// `dz += cs_j f'(z) f''(z)` (`cs_j = c s_j`); returns `f'(z)^2` for the dW factor.
fn dz_step(act: Activation, z: f32, cs: f32, dz: &mut f32) -> f32 {
    let (d, dd) = derivs(act, z);
    *dz += cs * (d * dd);
    d * d
}

/// `(f'(z), f''(z))`. Relu's derivative at 0 is 0 (leaky relu's is the slope).
fn derivs(act: Activation, z: f32) -> (f32, f32) {
    match act {
        Activation::Identity => (1.0, 0.0),
        Activation::Sigmoid => {
            // f' = s(1-s) = e/(1+e)^2, 1-2s = -sign(z) (1-e)/(1+e), e = exp(-|z|).
            let e = (-z.abs()).exp();
            let q = 1.0 / (1.0 + e);
            let d = e * q * q;
            let dd = d * ((1.0 - e) * q);
            (d, if z > 0.0 { -dd } else { dd })
        }
        Activation::Tanh => {
            // f' = 1-t^2 = 4e/(1+e)^2, t = sign(z) (1-e)/(1+e), e = exp(-2|z|); f'' = -2 t f'.
            let e = (-2.0 * z.abs()).exp();
            let q = 1.0 / (1.0 + e);
            let d = 4.0 * e * q * q;
            let dd = 2.0 * ((1.0 - e) * q) * d;
            (d, if z > 0.0 { -dd } else { dd })
        }
        Activation::Relu => (if z > 0.0 { 1.0 } else { 0.0 }, 0.0),
        Activation::LeakyRelu => (if z > 0.0 { 1.0 } else { LEAKY_RELU_SLOPE }, 0.0),
    }
}

// ---- x86 versions ----------------------------------------------------------------------

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features. `hidden` and `inputs` are > 0 here.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        mod $level {
            use super::*;
            use crate::simd_util::$level::*;

            #[target_feature(enable = $feat)]
            pub(super) fn contractive_penalty(
                act: Activation,
                z: &[f32],
                w: &[f32],
                rows: usize,
                hidden: usize,
                inputs: usize,
            ) -> f32 {
                let s = row_norms_sq(w, inputs);
                let term = |z, s| {
                    let (d, _) = derivs_v(act, z);
                    vmul(vmul(d, d), s)
                };
                let total: f64 =
                    z.chunks_exact(hidden).map(|zr| sum2(zr, &s, term, |z, s| penalty_term(act, z, s))).sum();
                if rows == 0 {
                    0.0
                } else {
                    (total / rows as f64) as f32
                }
            }

            #[allow(clippy::too_many_arguments)]
            #[target_feature(enable = $feat)]
            pub(super) fn contractive_backward(
                act: Activation,
                z: &[f32],
                w: &[f32],
                dout: f32,
                dz: &mut [f32],
                dw: &mut [f32],
                rows: usize,
                hidden: usize,
                inputs: usize,
            ) {
                let c = grad_scale(dout, rows);
                let cs: Vec<f32> = row_norms_sq(w, inputs).iter().map(|&s| c * s).collect();
                let mut fp_sq = vec![0.0f64; hidden];
                let main = hidden - hidden % LANES;
                for (zr, dzr) in z.chunks_exact(hidden).zip(dz.chunks_exact_mut(hidden)) {
                    for j in (0..main).step_by(LANES) {
                        let (d, dd) = derivs_v(act, load(&zr[j..]));
                        let updated = vadd(load(&dzr[j..]), vmul(load(&cs[j..]), vmul(d, dd)));
                        store(&mut dzr[j..], updated);
                        add_to_f64(&mut fp_sq[j..], vmul(d, d));
                    }
                    for j in main..hidden {
                        fp_sq[j] += dz_step(act, zr[j], cs[j], &mut dzr[j]) as f64;
                    }
                }
                for ((wr, dwr), &q) in w.chunks_exact(inputs).zip(dw.chunks_exact_mut(inputs)).zip(&fp_sq) {
                    let cq = dw_factor(c, q);
                    let cqv = splat(cq);
                    update1(wr, dwr, |w, g| vadd(g, vmul(cqv, w)), |w, g| g + cq * w);
                }
            }

            #[target_feature(enable = $feat)]
            fn row_norms_sq(w: &[f32], inputs: usize) -> Vec<f32> {
                w.chunks_exact(inputs).map(|row| sum1(row, |v| vmul(v, v), |v| v * v) as f32).collect()
            }

            /// The vector form of `derivs`, same formulas.
            #[target_feature(enable = $feat)]
            #[inline]
            fn derivs_v(act: Activation, z: V) -> (V, V) {
                let (zero, one) = (vzero(), splat(1.0));
                let positive = vgt(z, zero);
                match act {
                    Activation::Identity => (one, zero),
                    Activation::Sigmoid => {
                        let e = vexp(vneg(vabs(z)));
                        let q = vdiv(one, vadd(one, e));
                        let d = vmul(vmul(e, q), q);
                        let dd = vmul(d, vmul(vsub(one, e), q));
                        (d, select(positive, vneg(dd), dd))
                    }
                    Activation::Tanh => {
                        let e = vexp(vmul(splat(-2.0), vabs(z)));
                        let q = vdiv(one, vadd(one, e));
                        let d = vmul(vmul(vmul(splat(4.0), e), q), q);
                        let dd = vmul(vmul(splat(2.0), vmul(vsub(one, e), q)), d);
                        (d, select(positive, vneg(dd), dd))
                    }
                    Activation::Relu => (select(positive, one, zero), zero),
                    Activation::LeakyRelu => (select(positive, one, splat(LEAKY_RELU_SLOPE)), zero),
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(avx512, "avx512f");
#[cfg(target_arch = "x86_64")]
x86_kernels!(avx2, "avx2,fma");
