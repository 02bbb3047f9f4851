//! Bias add, bias gradient, sums and elementwise arithmetic.
//!
//! The `*_scalar` functions are the specification. Elementwise ops are exact, so the SIMD
//! versions match them bit for bit. Sums accumulate in f64 (scalar: one f64 running sum;
//! SIMD: f64 lanes) and round to f32 once, so the levels differ only by the order of f64
//! additions, far below f32 resolution.

use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;

/// `out[o,c,i] = x[o,c,i] + bias[c]` over `[outer, channels, inner]`.
pub fn bias_add(x: &[f32], bias: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize) {
    bias_add_with(level(), x, bias, out, outer, channels, inner)
}

/// `out[c] (+)= sum_{o,i} dy[o,c,i]`.
pub fn bias_grad(dy: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize, accumulate: bool) {
    bias_grad_with(level(), dy, out, outer, channels, inner, accumulate)
}

/// Sum of all elements.
pub fn sum_all(x: &[f32]) -> f32 {
    sum_all_with(level(), x)
}

pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    add_with(level(), a, b, out)
}

pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    mul_with(level(), a, b, out)
}

/// `out = alpha * x`.
pub fn scale(x: &[f32], alpha: f32, out: &mut [f32]) {
    scale_with(level(), x, alpha, out)
}

/// `y += alpha * x`.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    axpy_with(level(), alpha, x, y)
}

/// `out = (alpha * s) * x`: the twin of the shader that reads `s` from a device buffer
/// (the upstream gradient of a scalar). The factor is rounded once, then [`scale`] runs.
pub fn scale_by_scalar(x: &[f32], s: f32, alpha: f32, out: &mut [f32]) {
    scale(x, alpha * s, out)
}

/// `out[i] = value` (the slice's `fill`, which the compiler vectorizes: no SIMD twin).
pub fn fill(out: &mut [f32], value: f32) {
    out.fill(value)
}

/// `dst = src` over `src.len()` elements (`dst` at least as long; a plain slice copy).
pub fn copy(src: &[f32], dst: &mut [f32]) {
    dst[..src.len()].copy_from_slice(src)
}

// ---- chosen level (panics if this CPU lacks it) -------------------------------------

pub fn bias_add_with(
    level: SimdLevel,
    x: &[f32],
    bias: &[f32],
    out: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    let len = outer * channels * inner;
    assert!(x.len() == len && out.len() == len && bias.len() == channels, "bias_add: lengths do not match shape");
    if len == 0 {
        return; // and the SIMD versions may assume channels, inner > 0
    }
    dispatch!(level, bias_add_scalar, bias_add(x, bias, out, outer, channels, inner))
}

pub fn bias_grad_with(
    level: SimdLevel,
    dy: &[f32],
    out: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
    accumulate: bool,
) {
    let len = outer * channels * inner;
    assert!(dy.len() == len && out.len() == channels, "bias_grad: lengths do not match shape");
    let level = if len == 0 { SimdLevel::Scalar } else { level }; // SIMD may assume channels, inner > 0
    dispatch!(level, bias_grad_scalar, bias_grad(dy, out, outer, channels, inner, accumulate))
}

pub fn sum_all_with(level: SimdLevel, x: &[f32]) -> f32 {
    dispatch!(level, sum_all_scalar, sum_all(x))
}

pub fn add_with(level: SimdLevel, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(a.len() == out.len() && b.len() == out.len(), "add: lengths differ");
    dispatch!(level, add_scalar, add(a, b, out))
}

pub fn mul_with(level: SimdLevel, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(a.len() == out.len() && b.len() == out.len(), "mul: lengths differ");
    dispatch!(level, mul_scalar, mul(a, b, out))
}

pub fn scale_with(level: SimdLevel, x: &[f32], alpha: f32, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "scale: lengths differ");
    dispatch!(level, scale_scalar, scale(x, alpha, out))
}

pub fn axpy_with(level: SimdLevel, alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    dispatch!(level, axpy_scalar, axpy(alpha, x, y))
}

// ---- scalar specification -------------------------------------------------------------

pub fn bias_add_scalar(x: &[f32], bias: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize) {
    for o in 0..outer {
        for (c, &b) in bias.iter().enumerate().take(channels) {
            let plane = (o * channels + c) * inner..(o * channels + c + 1) * inner;
            for (y, &v) in out[plane.clone()].iter_mut().zip(&x[plane]) {
                *y = v + b;
            }
        }
    }
}

/// Each channel's sum in f64, then one rounding (after adding the old value when
/// `accumulate`).
pub fn bias_grad_scalar(dy: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize, accumulate: bool) {
    let mut sums = vec![0.0f64; channels];
    for o in 0..outer {
        for (c, s) in sums.iter_mut().enumerate() {
            let plane = &dy[(o * channels + c) * inner..(o * channels + c + 1) * inner];
            *s += plane.iter().map(|&v| v as f64).sum::<f64>();
        }
    }
    store_bias_grad(&sums, out, accumulate);
}

fn store_bias_grad(sums: &[f64], out: &mut [f32], accumulate: bool) {
    for (o, &s) in out.iter_mut().zip(sums) {
        *o = if accumulate { (*o as f64 + s) as f32 } else { s as f32 };
    }
}

/// Spec of [`sum_all`]: an f64 running sum, rounded once.
pub fn sum_all_scalar(x: &[f32]) -> f32 {
    x.iter().map(|&v| v as f64).sum::<f64>() as f32
}

pub fn add_scalar(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

pub fn mul_scalar(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

pub fn scale_scalar(x: &[f32], alpha: f32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = alpha * v;
    }
}

/// Spec of [`scale_by_scalar`]: `alpha * s` rounded once, then [`scale_scalar`].
pub fn scale_by_scalar_scalar(x: &[f32], s: f32, alpha: f32, out: &mut [f32]) {
    scale_scalar(x, alpha * s, out)
}

/// `y += alpha * x` as a multiply then an add (no fused multiply-add), like the SIMD versions.
pub fn axpy_scalar(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

// ---- x86 versions ----------------------------------------------------------------------

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        mod $level {
            use super::store_bias_grad;
            use crate::simd_util::$level::*;

            /// Dense layers (`inner == 1`) add the bias row to each row; conv layers add one
            /// broadcast bias per channel plane. `outer` is implied by the lengths.
            #[target_feature(enable = $feat)]
            pub(super) fn bias_add(
                x: &[f32],
                bias: &[f32],
                out: &mut [f32],
                _outer: usize,
                channels: usize,
                inner: usize,
            ) {
                if inner == 1 {
                    for (xr, or) in x.chunks_exact(channels).zip(out.chunks_exact_mut(channels)) {
                        map2(xr, bias, or, |a, b| vadd(a, b), |a, b| a + b);
                    }
                    return;
                }
                let planes = x.chunks_exact(inner).zip(out.chunks_exact_mut(inner));
                for ((xp, op), &b) in planes.zip(bias.iter().cycle()) {
                    let bv = splat(b);
                    map1(xp, op, |v| vadd(v, bv), |v| v + b);
                }
            }

            /// Dense layers sum columns into f64 lanes row by row; conv layers sum each
            /// channel plane. `outer` is implied by the lengths.
            #[target_feature(enable = $feat)]
            pub(super) fn bias_grad(
                dy: &[f32],
                out: &mut [f32],
                _outer: usize,
                channels: usize,
                inner: usize,
                accumulate: bool,
            ) {
                let sums = channel_sums(dy, channels, inner);
                store_bias_grad(&sums, out, accumulate);
            }

            #[target_feature(enable = $feat)]
            fn channel_sums(dy: &[f32], channels: usize, inner: usize) -> Vec<f64> {
                let mut acc = vec![0.0f64; channels];
                if inner == 1 {
                    let main = channels - channels % LANES;
                    for row in dy.chunks_exact(channels) {
                        for c in (0..main).step_by(LANES) {
                            add_to_f64(&mut acc[c..], load(&row[c..]));
                        }
                        for c in main..channels {
                            acc[c] += row[c] as f64;
                        }
                    }
                    return acc;
                }
                for (plane, c) in dy.chunks_exact(inner).zip((0..channels).cycle()) {
                    acc[c] += sum1(plane, |v| v, |v| v);
                }
                acc
            }

            #[target_feature(enable = $feat)]
            pub(super) fn sum_all(x: &[f32]) -> f32 {
                sum1(x, |v| v, |v| v) as f32
            }

            #[target_feature(enable = $feat)]
            pub(super) fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
                map2(a, b, out, |a, b| vadd(a, b), |a, b| a + b);
            }

            #[target_feature(enable = $feat)]
            pub(super) fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
                map2(a, b, out, |a, b| vmul(a, b), |a, b| a * b);
            }

            #[target_feature(enable = $feat)]
            pub(super) fn scale(x: &[f32], alpha: f32, out: &mut [f32]) {
                let av = splat(alpha);
                map1(x, out, |v| vmul(av, v), |v| alpha * v);
            }

            #[target_feature(enable = $feat)]
            pub(super) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
                let av = splat(alpha);
                update1(x, y, |x, y| vadd(y, vmul(av, x)), |x, y| y + alpha * x);
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(avx512, "avx512f");
#[cfg(target_arch = "x86_64")]
x86_kernels!(avx2, "avx2,fma");
