//! The x86 versions of the loss kernels (AVX-512 and AVX2), one macro body for both
//! levels, against the scalar specification in `loss.rs`.

use super::*;

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features.
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        pub(super) mod $level {
            use super::*;
            use crate::simd_util::$level::*;

            #[target_feature(enable = $feat)]
            pub(in crate::loss) fn loss_forward(
                loss: Loss,
                pred: &[f32],
                target: &[f32],
                rows: usize,
                cols: usize,
            ) -> f32 {
                let sum = match loss {
                    Loss::Mse => sum2(pred, target, |p, t| mse_term_v(p, t), mse_term),
                    Loss::Bce => sum2(pred, target, |p, t| bce_term_v(p, t), bce_term),
                    Loss::BceWithLogits => sum2(pred, target, |x, t| bce_logits_term_v(x, t), bce_logits_term),
                    Loss::SoftmaxCrossEntropy => rows_of(pred, target, cols).map(|(x, t)| softmax_ce_row(x, t)).sum(),
                };
                mean(sum, loss, rows, cols)
            }

            #[target_feature(enable = $feat)]
            pub(in crate::loss) fn loss_backward(
                loss: Loss,
                pred: &[f32],
                target: &[f32],
                dout: f32,
                dpred: &mut [f32],
                rows: usize,
                cols: usize,
            ) {
                let scale = grad_scale(loss, dout, rows, cols);
                let sv = splat(scale);
                let tail = |p, t| match loss {
                    Loss::Mse => mse_grad(p, t, scale),
                    Loss::Bce => bce_grad(p, t, scale),
                    _ => bce_logits_grad(p, t, scale),
                };
                match loss {
                    Loss::Mse => map2(pred, target, dpred, |p, t| vmul(vsub(p, t), sv), tail),
                    Loss::Bce => map2(pred, target, dpred, |p, t| bce_grad_v(p, t, sv), tail),
                    Loss::BceWithLogits => map2(pred, target, dpred, |x, t| vmul(vsub(vsigmoid(x), t), sv), tail),
                    Loss::SoftmaxCrossEntropy => {
                        for ((x, t), d) in rows_of(pred, target, cols).zip(dpred.chunks_exact_mut(cols.max(1))) {
                            softmax_ce_row_grad(x, t, scale, d);
                        }
                    }
                }
            }

            #[target_feature(enable = $feat)]
            pub(in crate::loss) fn l1_penalty(x: &[f32], rows: usize, _cols: usize) -> f32 {
                let sum = sum1(x, |v| vabs(v), |v| v.abs());
                if rows == 0 {
                    0.0
                } else {
                    (sum / rows as f64) as f32
                }
            }

            #[target_feature(enable = $feat)]
            pub(in crate::loss) fn l1_penalty_backward(
                x: &[f32],
                dout: f32,
                dx: &mut [f32],
                rows: usize,
                _cols: usize,
            ) {
                let scale = l1_scale(dout, rows);
                let (sv, nsv, zero) = (splat(scale), splat(-scale), vzero());
                // sign(x) * scale as a select: NaN and 0 fall through both tests to 0.
                let f = |v| select(vgt(v, zero), sv, select(vlt(v, zero), nsv, zero));
                map1(x, dx, f, |v| sign(v) * scale);
            }

            #[target_feature(enable = $feat)]
            #[inline]
            fn mse_term_v(p: V, t: V) -> V {
                let d = vsub(p, t);
                vmul(d, d)
            }

            #[target_feature(enable = $feat)]
            #[inline]
            fn bce_term_v(p: V, t: V) -> V {
                let p = vclamp(p, BCE_EPS, 1.0 - BCE_EPS);
                let one = splat(1.0);
                vneg(vadd(vmul(t, vln(p)), vmul(vsub(one, t), vln(vsub(one, p)))))
            }

            #[target_feature(enable = $feat)]
            #[inline]
            fn bce_grad_v(p: V, t: V, scale: V) -> V {
                let p = vclamp(p, BCE_EPS, 1.0 - BCE_EPS);
                vmul(vdiv(vsub(p, t), vmul(p, vsub(splat(1.0), p))), scale)
            }

            #[target_feature(enable = $feat)]
            #[inline]
            fn bce_logits_term_v(x: V, t: V) -> V {
                // `vmax(x, 0)` returns 0 for NaN, as `f32::max` does.
                let lin = vsub(vmax(x, vzero()), vmul(x, t));
                vadd(lin, vln_1p(vexp(vneg(vabs(x)))))
            }

            #[target_feature(enable = $feat)]
            fn softmax_ce_row(x: &[f32], t: &[f32]) -> f64 {
                let m = max_all(x);
                let mv = splat(m);
                let s = sum1(x, |v| vexp(vsub(v, mv)), |v| (v - m).exp());
                let t_sum = sum1(t, |v| v, |v| v);
                let td = sum2(x, t, |v, tc| vmul(tc, vsub(v, mv)), |v, tc| tc * (v - m));
                s.ln() * t_sum - td
            }

            #[target_feature(enable = $feat)]
            fn softmax_ce_row_grad(x: &[f32], t: &[f32], scale: f32, d: &mut [f32]) {
                let m = max_all(x);
                let mv = splat(m);
                let s = sum1(x, |v| vexp(vsub(v, mv)), |v| (v - m).exp());
                let k = softmax_grad_factor(s, sum1(t, |v| v, |v| v));
                let (kv, sv) = (splat(k), splat(scale));
                let f = |v, tc| vmul(vsub(vmul(vexp(vsub(v, mv)), kv), tc), sv);
                map2(x, t, d, f, |v, tc| softmax_grad_one(v, tc, m, k, scale));
            }
        }
    };
}

x86_kernels!(avx512, "avx512f");
x86_kernels!(avx2, "avx2,fma");
