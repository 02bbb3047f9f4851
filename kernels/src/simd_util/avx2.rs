//! AVX2 + FMA (8 lanes; comparisons give all-ones lanes, `blendv` selects).

use std::arch::x86_64::*;

pub(crate) type V = __m256;
pub(crate) type M = __m256;
pub(crate) const LANES: usize = 8;

lanes! {
    features: "avx2,fma",
    pd: __m256d,
    loadu: _mm256_loadu_ps,
    storeu: _mm256_storeu_ps,
    set1: _mm256_set1_ps,
    setzero: _mm256_setzero_ps,
    add: _mm256_add_ps,
    sub: _mm256_sub_ps,
    mul: _mm256_mul_ps,
    div: _mm256_div_ps,
    min: _mm256_min_ps,
    max: _mm256_max_ps,
    sqrt: _mm256_sqrt_ps,
    fmadd: _mm256_fmadd_ps,
    fnmadd: _mm256_fnmadd_ps,
    cmp: _mm256_cmp_ps,
    loadu_pd: _mm256_loadu_pd,
    storeu_pd: _mm256_storeu_pd,
    add_pd: _mm256_add_pd,
    setzero_pd: _mm256_setzero_pd,
}

#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn vabs(a: V) -> V {
    _mm256_andnot_ps(_mm256_set1_ps(-0.0), a)
}
/// Round to the nearest integer (ties to even).
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn vround(a: V) -> V {
    _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a)
}
/// `a * 2^n` for integral `n` in `[-126, 127]`, built in the exponent field.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn vldexp(a: V, n: V) -> V {
    let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)));
    _mm256_mul_ps(a, _mm256_castsi256_ps(bits))
}
/// `(e, m)` with `x = m * 2^e`, `m` in `[1, 2)`, for positive normal `x`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn vfrexp(x: V) -> (V, V) {
    let bits = _mm256_castps_si256(x);
    let e = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
    let m = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)), _mm256_set1_epi32(0x3f80_0000));
    (_mm256_cvtepi32_ps(e), _mm256_castsi256_ps(m))
}
/// `if m { t } else { f }` per lane.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn select(m: M, t: V, f: V) -> V {
    _mm256_blendv_ps(f, t, m)
}

/// The low and high 4 lanes of `v` as f64 (exact).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn widen(v: V) -> (__m256d, __m256d) {
    (_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
}

impl Sum64 {
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn total(self) -> f64 {
        // SAFETY: same size, and every bit pattern is a valid f64.
        let lanes = unsafe { std::mem::transmute::<__m256d, [f64; 4]>(_mm256_add_pd(self.0, self.1)) };
        lanes.iter().sum()
    }
}

portable!("avx2,fma");
