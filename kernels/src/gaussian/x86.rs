//! The x86 versions of the reparameterization and KL kernels (AVX-512 and AVX2), one macro
//! body for both levels, against the scalar specification in `gaussian.rs`. The same op
//! order as the scalar functions, with `simd_util`'s vector exp (a few ulp from libm's).

use super::*;

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features.
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        pub(super) mod $level {
            use super::*;
            use crate::simd_util::$level::*;

            #[target_feature(enable = $feat)]
            pub(in crate::gaussian) fn reparameterize_forward(mu: &[f32], logvar: &[f32], eps: &[f32], z: &mut [f32]) {
                let n = z.len();
                let main = n - n % LANES;
                let half = splat(0.5);
                for i in (0..main).step_by(LANES) {
                    let s = vexp(vmul(half, load(&logvar[i..])));
                    store(&mut z[i..], vadd(load(&mu[i..]), vmul(s, load(&eps[i..]))));
                }
                for i in main..n {
                    z[i] = reparam_one(mu[i], logvar[i], eps[i]);
                }
            }

            #[target_feature(enable = $feat)]
            pub(in crate::gaussian) fn reparameterize_backward(
                logvar: &[f32],
                eps: &[f32],
                dz: &[f32],
                dmu: &mut [f32],
                dlogvar: &mut [f32],
            ) {
                dmu.copy_from_slice(dz);
                let n = dz.len();
                let main = n - n % LANES;
                let half = splat(0.5);
                for i in (0..main).step_by(LANES) {
                    let s = vexp(vmul(half, load(&logvar[i..])));
                    let d = vmul(vmul(vmul(load(&dz[i..]), half), s), load(&eps[i..]));
                    store(&mut dlogvar[i..], d);
                }
                for i in main..n {
                    dlogvar[i] = reparam_grad_one(logvar[i], eps[i], dz[i]);
                }
            }

            #[target_feature(enable = $feat)]
            pub(in crate::gaussian) fn gaussian_kl_forward(
                mu: &[f32],
                logvar: &[f32],
                rows: usize,
                _cols: usize,
            ) -> f32 {
                let (one, mhalf) = (splat(1.0), splat(-0.5));
                let term = |m: V, lv: V| vmul(mhalf, vsub(vsub(vadd(one, lv), vmul(m, m)), vexp(lv)));
                kl_mean(sum2(mu, logvar, term, kl_term), rows)
            }

            #[target_feature(enable = $feat)]
            #[allow(clippy::too_many_arguments)]
            pub(in crate::gaussian) fn gaussian_kl_backward(
                mu: &[f32],
                logvar: &[f32],
                dout: f32,
                dmu: &mut [f32],
                dlogvar: &mut [f32],
                rows: usize,
                _cols: usize,
            ) {
                let s = kl_scale(dout, rows);
                let (sv, half, one) = (splat(s), splat(0.5), splat(1.0));
                map1(mu, dmu, |m| vmul(m, sv), |m| m * s);
                map1(logvar, dlogvar, |lv| vmul(vmul(half, vsub(vexp(lv), one)), sv), |lv| kl_logvar_grad(lv, s));
            }
        }
    };
}

x86_kernels!(avx512, "avx512f");
x86_kernels!(avx2, "avx2,fma");
