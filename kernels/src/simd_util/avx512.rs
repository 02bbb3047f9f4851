//! AVX-512F (16 lanes; mask registers for comparisons).

use std::arch::x86_64::*;

pub(crate) type V = __m512;
pub(crate) type M = __mmask16;
pub(crate) const LANES: usize = 16;

lanes! {
    features: "avx512f",
    pd: __m512d,
    loadu: _mm512_loadu_ps,
    storeu: _mm512_storeu_ps,
    set1: _mm512_set1_ps,
    setzero: _mm512_setzero_ps,
    add: _mm512_add_ps,
    sub: _mm512_sub_ps,
    mul: _mm512_mul_ps,
    div: _mm512_div_ps,
    min: _mm512_min_ps,
    max: _mm512_max_ps,
    sqrt: _mm512_sqrt_ps,
    fmadd: _mm512_fmadd_ps,
    fnmadd: _mm512_fnmadd_ps,
    cmp: _mm512_cmp_ps_mask,
    loadu_pd: _mm512_loadu_pd,
    storeu_pd: _mm512_storeu_pd,
    add_pd: _mm512_add_pd,
    setzero_pd: _mm512_setzero_pd,
}

#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn vabs(a: V) -> V {
    _mm512_abs_ps(a)
}
/// Round to the nearest integer (ties to even).
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn vround(a: V) -> V {
    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a)
}
/// `a * 2^n` for integral `n`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn vldexp(a: V, n: V) -> V {
    _mm512_scalef_ps(a, n)
}
/// `(e, m)` with `x = m * 2^e`, `m` in `[1, 2)`, for positive finite `x`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn vfrexp(x: V) -> (V, V) {
    (_mm512_getexp_ps(x), _mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(x))
}
/// `if m { t } else { f }` per lane.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn select(m: M, t: V, f: V) -> V {
    _mm512_mask_blend_ps(m, f, t)
}

/// The low and high 8 lanes of `v` as f64 (exact).
#[target_feature(enable = "avx512f")]
#[inline]
fn widen(v: V) -> (__m512d, __m512d) {
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    (_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_cvtps_pd(hi))
}

impl Sum64 {
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn total(self) -> f64 {
        _mm512_reduce_add_pd(_mm512_add_pd(self.0, self.1))
    }
}

portable!("avx512f");
