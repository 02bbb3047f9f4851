//! Shared SIMD building blocks for the elementwise, reduction, loss, optimizer and
//! contractive kernels.
//!
//! Each x86 level (`avx512`, `avx2`) is a module with the same small vocabulary: a vector
//! type `V` of `LANES` f32, `load`/`store` on slices, `v*` arithmetic, comparisons giving a
//! lane mask `M` and `select`, and an f64 accumulator [`avx512::Sum64`]. The rest (exp, ln,
//! sigmoid, tanh and the map/sum loops) is written once in `portable!` on top of that
//! vocabulary and stamped into both modules, so a kernel file can likewise write one body
//! and stamp it per level.
//!
//! Rules every kernel follows, so that SIMD results stay comparable to the scalar spec:
//! - the leftover `len % LANES` elements run the scalar spec's per-element function;
//! - no FMA contraction in the kernels' own arithmetic (only inside the exp/ln
//!   polynomials), so exact-op kernels are bit-identical to scalar;
//! - sums convert each f32 term to f64 and accumulate in f64 lanes, rounding once at the end.

use crate::simd::SimdLevel;

/// Which implementation a kernel runs for a requested [`SimdLevel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Maps `level` to an implementation after checking that this CPU really has it: the SIMD
/// versions are `#[target_feature]` functions, and running them elsewhere would be UB.
///
/// There are no NEON versions of these kernels yet: `Neon` runs the scalar spec (which the
/// compiler auto-vectorises where it can).
///
/// # Panics
/// If an x86 level is requested on a CPU (or architecture) without it.
pub(crate) fn path(level: SimdLevel) -> Path {
    match level {
        SimdLevel::Scalar | SimdLevel::Neon => Path::Scalar,
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => Path::Avx2,
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma") =>
        {
            Path::Avx512
        }
        other => panic!("SIMD level {} is not available on this CPU", other.name()),
    }
}

/// `dispatch!(level, spec_fn, simd_fn(args..))`: runs the scalar spec `spec_fn(args..)`, or
/// `avx2::simd_fn(args..)` / `avx512::simd_fn(args..)` from the calling module, as [`path`]
/// decides for `level`.
macro_rules! dispatch {
    ($level:expr, $scalar:ident, $simd:ident($($arg:expr),*)) => {
        match $crate::simd_util::path($level) {
            $crate::simd_util::Path::Scalar => $scalar($($arg),*),
            // SAFETY: `path` returned this level only after checking the CPU supports it.
            #[cfg(target_arch = "x86_64")]
            $crate::simd_util::Path::Avx2 => unsafe { avx2::$simd($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            $crate::simd_util::Path::Avx512 => unsafe { avx512::$simd($($arg),*) },
        }
    };
}
pub(crate) use dispatch;

/// The level-independent part of each x86 module: written against the primitives (`V`,
/// `LANES`, `load`, `vadd`, `select`, ...) that the module defines, with `$feat` as the
/// target features of every function.
#[cfg(target_arch = "x86_64")]
macro_rules! portable {
    ($feat:literal) => {
        /// `x` clamped to `[lo, hi]`; NaN stays NaN (min/max return their second operand
        /// when either is NaN).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vclamp(x: V, lo: f32, hi: f32) -> V {
            vmax(splat(lo), vmin(splat(hi), x))
        }

        /// `-x`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vneg(x: V) -> V {
            vsub(vzero(), x)
        }

        /// `e^x`, Cephes `expf`: `x = n ln2 + r`, a degree-7 polynomial for `e^r` on
        /// `|r| <= ln2/2`, times `2^n`. Relative error about 2 ulp. Results below the
        /// normal range (`x < -87.34`) flush to 0, `x > 88.38` gives +inf, NaN stays NaN.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vexp(x: V) -> V {
            const LO: f32 = -87.336_55;
            const HI: f32 = 88.376_26;
            // ln2 split in two so that n * LN2_HI is exact.
            const LN2_HI: f32 = 0.693_359_4;
            const LN2_LO: f32 = -2.121_944_4e-4;
            const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5];
            let xc = vclamp(x, LO, HI);
            let n = vround(vmul(xc, splat(std::f32::consts::LOG2_E)));
            let r = vfnmadd(n, splat(LN2_LO), vfnmadd(n, splat(LN2_HI), xc));
            let mut p = splat(P[0]);
            for c in &P[1..] {
                p = vfmadd(p, r, splat(*c));
            }
            let er = vfmadd(p, vmul(r, r), vadd(r, splat(1.0)));
            let e = vldexp(er, n);
            let e = select(vlt(x, splat(LO)), vzero(), e);
            select(vgt(x, splat(HI)), splat(f32::INFINITY), e)
        }

        /// `ln x` for positive normal `x` (callers clamp), Cephes `logf`: `x = m 2^e` with
        /// `m` in `[sqrt(1/2), sqrt(2))`, a degree-9 polynomial in `m - 1`. Relative error
        /// about 1 ulp away from `x = 1`, absolute about 1e-7 near it.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vln(x: V) -> V {
            const P: [f32; 9] = [
                7.037_683_6e-2,
                -1.151_461e-1,
                1.167_699_9e-1,
                -1.242_014_1e-1,
                1.424_932_3e-1,
                -1.666_805_8e-1,
                2.000_071_5e-1,
                -2.499_999_4e-1,
                3.333_333e-1,
            ];
            let (e, m) = vfrexp(x);
            let big = vgt(m, splat(std::f32::consts::SQRT_2));
            let m = select(big, vmul(m, splat(0.5)), m);
            let e = select(big, vadd(e, splat(1.0)), e);
            let f = vsub(m, splat(1.0));
            let z = vmul(f, f);
            let mut y = splat(P[0]);
            for c in &P[1..] {
                y = vfmadd(y, f, splat(*c));
            }
            let y = vmul(vmul(y, f), z);
            let y = vfmadd(e, splat(-2.121_944_4e-4), y);
            let y = vfnmadd(z, splat(0.5), y);
            vfmadd(e, splat(0.693_359_4), vadd(f, y))
        }

        /// `ln(1 + x)` for `x` in `[0, 1]`, accurate for tiny `x`: with `u = 1 + x` rounded,
        /// `ln(u) * x / (u - 1)` cancels the rounding of `u` (Goldberg's trick).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vln_1p(x: V) -> V {
            let u = vadd(splat(1.0), x);
            let d = vsub(u, splat(1.0));
            select(veq(d, vzero()), x, vmul(vln(u), vdiv(x, d)))
        }

        /// The logistic function in the same safe form as the scalar spec: with
        /// `e = exp(-|x|)`, `1/(1+e)` for `x >= 0` and `e/(1+e)` below.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vsigmoid(x: V) -> V {
            let e = vexp(vneg(vabs(x)));
            let d = vadd(splat(1.0), e);
            select(vge(x, vzero()), vdiv(splat(1.0), d), vdiv(e, d))
        }

        /// `tanh x`, Cephes `tanhf`: an odd polynomial for `|x| < 0.625` (where `1 - e`
        /// would cancel), `(1 - e)/(1 + e)` with `e = exp(-2|x|)` above, sign restored.
        /// Relative error a few ulp.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vtanh(x: V) -> V {
            const P: [f32; 5] = [-5.704_988_7e-3, 2.063_909e-2, -5.373_971_6e-2, 0.133_314_42, -0.333_332_8];
            let a = vabs(x);
            let e = vexp(vmul(a, splat(-2.0)));
            let big = vdiv(vsub(splat(1.0), e), vadd(splat(1.0), e));
            let big = select(vlt(x, vzero()), vneg(big), big);
            let z = vmul(x, x);
            let mut p = splat(P[0]);
            for c in &P[1..] {
                p = vfmadd(p, z, splat(*c));
            }
            let small = vfmadd(vmul(p, z), x, x);
            select(vlt(a, splat(0.625)), small, big)
        }

        /// `out[i] = f(x[i])`, the last `len % LANES` elements through `tail`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn map1(x: &[f32], out: &mut [f32], f: impl Fn(V) -> V, tail: impl Fn(f32) -> f32) {
            let n = out.len().min(x.len());
            let main = n - n % LANES;
            for i in (0..main).step_by(LANES) {
                store(&mut out[i..], f(load(&x[i..])));
            }
            for i in main..n {
                out[i] = tail(x[i]);
            }
        }

        /// `out[i] = f(a[i], b[i])`, the last `len % LANES` elements through `tail`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn map2(
            a: &[f32],
            b: &[f32],
            out: &mut [f32],
            f: impl Fn(V, V) -> V,
            tail: impl Fn(f32, f32) -> f32,
        ) {
            let n = out.len().min(a.len()).min(b.len());
            let main = n - n % LANES;
            for i in (0..main).step_by(LANES) {
                store(&mut out[i..], f(load(&a[i..]), load(&b[i..])));
            }
            for i in main..n {
                out[i] = tail(a[i], b[i]);
            }
        }

        /// In place: `y[i] = f(x[i], y[i])`, the last `len % LANES` elements through `tail`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn update1(x: &[f32], y: &mut [f32], f: impl Fn(V, V) -> V, tail: impl Fn(f32, f32) -> f32) {
            let n = y.len().min(x.len());
            let main = n - n % LANES;
            for i in (0..main).step_by(LANES) {
                let v = f(load(&x[i..]), load(&y[i..]));
                store(&mut y[i..], v);
            }
            for i in main..n {
                y[i] = tail(x[i], y[i]);
            }
        }

        /// `sum_i f(x[i])` accumulated in f64, the last `len % LANES` terms through `tail`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn sum1(x: &[f32], f: impl Fn(V) -> V, tail: impl Fn(f32) -> f32) -> f64 {
            let main = x.len() - x.len() % LANES;
            let mut acc = Sum64::new();
            for i in (0..main).step_by(LANES) {
                acc.add(f(load(&x[i..])));
            }
            x[main..].iter().fold(acc.total(), |s, &v| s + tail(v) as f64)
        }

        /// `sum_i f(a[i], b[i])` accumulated in f64, the last `len % LANES` terms through `tail`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn sum2(a: &[f32], b: &[f32], f: impl Fn(V, V) -> V, tail: impl Fn(f32, f32) -> f32) -> f64 {
            let n = a.len().min(b.len());
            let main = n - n % LANES;
            let mut acc = Sum64::new();
            for i in (0..main).step_by(LANES) {
                acc.add(f(load(&a[i..]), load(&b[i..])));
            }
            (main..n).fold(acc.total(), |s, i| s + tail(a[i], b[i]) as f64)
        }

        /// The largest element (NaNs ignored); `-inf` for an empty slice.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn max_all(x: &[f32]) -> f32 {
            let main = x.len() - x.len() % LANES;
            let mut acc = splat(f32::NEG_INFINITY);
            for i in (0..main).step_by(LANES) {
                // Operand order: a NaN lane of x loses to the running maximum.
                acc = vmax(load(&x[i..]), acc);
            }
            let lanes = to_array(acc).into_iter().fold(f32::NEG_INFINITY, f32::max);
            x[main..].iter().fold(lanes, |m, &v| m.max(v))
        }
    };
}

/// AVX-512F (16 lanes; mask registers for comparisons).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    pub(crate) type V = __m512;
    pub(crate) type M = __mmask16;
    pub(crate) const LANES: usize = 16;

    /// The first `LANES` elements of `s` (panics if shorter).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn load(s: &[f32]) -> V {
        let s = &s[..LANES];
        // SAFETY: `s` holds LANES readable f32; loadu has no alignment requirement.
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }

    /// Writes `v` to the first `LANES` elements of `s` (panics if shorter).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn store(s: &mut [f32], v: V) {
        let s = &mut s[..LANES];
        // SAFETY: `s` holds LANES writable f32; storeu has no alignment requirement.
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn to_array(v: V) -> [f32; LANES] {
        // SAFETY: same size, and every bit pattern is a valid f32.
        unsafe { std::mem::transmute::<V, [f32; LANES]>(v) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn splat(x: f32) -> V {
        _mm512_set1_ps(x)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vzero() -> V {
        _mm512_setzero_ps()
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vadd(a: V, b: V) -> V {
        _mm512_add_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vsub(a: V, b: V) -> V {
        _mm512_sub_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vmul(a: V, b: V) -> V {
        _mm512_mul_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vdiv(a: V, b: V) -> V {
        _mm512_div_ps(a, b)
    }
    /// Lane-wise minimum; returns `b` where either is NaN.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vmin(a: V, b: V) -> V {
        _mm512_min_ps(a, b)
    }
    /// Lane-wise maximum; returns `b` where either is NaN.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vmax(a: V, b: V) -> V {
        _mm512_max_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vsqrt(a: V) -> V {
        _mm512_sqrt_ps(a)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vabs(a: V) -> V {
        _mm512_abs_ps(a)
    }
    /// `a*b + c`, one rounding (used only inside polynomial approximations).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vfmadd(a: V, b: V, c: V) -> V {
        _mm512_fmadd_ps(a, b, c)
    }
    /// `c - a*b`, one rounding.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vfnmadd(a: V, b: V, c: V) -> V {
        _mm512_fnmadd_ps(a, b, c)
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
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vgt(a: V, b: V) -> M {
        _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vge(a: V, b: V) -> M {
        _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn vlt(a: V, b: V) -> M {
        _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn veq(a: V, b: V) -> M {
        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b)
    }
    /// `if m { t } else { f }` per lane.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn select(m: M, t: V, f: V) -> V {
        _mm512_mask_blend_ps(m, f, t)
    }

    /// Adds the `LANES` lanes of `v`, widened to f64, to `dst[..LANES]`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn add_to_f64(dst: &mut [f64], v: V) {
        let (lo, hi) = widen(v);
        let d = &mut dst[..LANES];
        // SAFETY: `d` holds 16 f64: lanes 0..8 and 8..16 are in bounds; no alignment needed.
        unsafe {
            let p = d.as_mut_ptr();
            _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), lo));
            _mm512_storeu_pd(p.add(8), _mm512_add_pd(_mm512_loadu_pd(p.add(8)), hi));
        }
    }

    /// The low and high 8 lanes of `v` as f64 (exact).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn widen(v: V) -> (__m512d, __m512d) {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        (_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_cvtps_pd(hi))
    }

    /// A running sum of f32 vectors, kept in f64 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Sum64(__m512d, __m512d);

    impl Sum64 {
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub(crate) fn new() -> Self {
            Sum64(_mm512_setzero_pd(), _mm512_setzero_pd())
        }
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub(crate) fn add(&mut self, v: V) {
            let (lo, hi) = widen(v);
            self.0 = _mm512_add_pd(self.0, lo);
            self.1 = _mm512_add_pd(self.1, hi);
        }
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub(crate) fn total(self) -> f64 {
            _mm512_reduce_add_pd(_mm512_add_pd(self.0, self.1))
        }
    }

    portable!("avx512f");
}

/// AVX2 + FMA (8 lanes; comparisons give all-ones lanes, `blendv` selects).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    pub(crate) type V = __m256;
    pub(crate) type M = __m256;
    pub(crate) const LANES: usize = 8;

    /// The first `LANES` elements of `s` (panics if shorter).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn load(s: &[f32]) -> V {
        let s = &s[..LANES];
        // SAFETY: `s` holds LANES readable f32; loadu has no alignment requirement.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }

    /// Writes `v` to the first `LANES` elements of `s` (panics if shorter).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn store(s: &mut [f32], v: V) {
        let s = &mut s[..LANES];
        // SAFETY: `s` holds LANES writable f32; storeu has no alignment requirement.
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn to_array(v: V) -> [f32; LANES] {
        // SAFETY: same size, and every bit pattern is a valid f32.
        unsafe { std::mem::transmute::<V, [f32; LANES]>(v) }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn splat(x: f32) -> V {
        _mm256_set1_ps(x)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vzero() -> V {
        _mm256_setzero_ps()
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vadd(a: V, b: V) -> V {
        _mm256_add_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vsub(a: V, b: V) -> V {
        _mm256_sub_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vmul(a: V, b: V) -> V {
        _mm256_mul_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vdiv(a: V, b: V) -> V {
        _mm256_div_ps(a, b)
    }
    /// Lane-wise minimum; returns `b` where either is NaN.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vmin(a: V, b: V) -> V {
        _mm256_min_ps(a, b)
    }
    /// Lane-wise maximum; returns `b` where either is NaN.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vmax(a: V, b: V) -> V {
        _mm256_max_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vsqrt(a: V) -> V {
        _mm256_sqrt_ps(a)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vabs(a: V) -> V {
        _mm256_andnot_ps(_mm256_set1_ps(-0.0), a)
    }
    /// `a*b + c`, one rounding (used only inside polynomial approximations).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vfmadd(a: V, b: V, c: V) -> V {
        _mm256_fmadd_ps(a, b, c)
    }
    /// `c - a*b`, one rounding.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vfnmadd(a: V, b: V, c: V) -> V {
        _mm256_fnmadd_ps(a, b, c)
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
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vgt(a: V, b: V) -> M {
        _mm256_cmp_ps::<_CMP_GT_OQ>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vge(a: V, b: V) -> M {
        _mm256_cmp_ps::<_CMP_GE_OQ>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn vlt(a: V, b: V) -> M {
        _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn veq(a: V, b: V) -> M {
        _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b)
    }
    /// `if m { t } else { f }` per lane.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn select(m: M, t: V, f: V) -> V {
        _mm256_blendv_ps(f, t, m)
    }

    /// Adds the `LANES` lanes of `v`, widened to f64, to `dst[..LANES]`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn add_to_f64(dst: &mut [f64], v: V) {
        let (lo, hi) = widen(v);
        let d = &mut dst[..LANES];
        // SAFETY: `d` holds 8 f64: lanes 0..4 and 4..8 are in bounds; no alignment needed.
        unsafe {
            let p = d.as_mut_ptr();
            _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), lo));
            _mm256_storeu_pd(p.add(4), _mm256_add_pd(_mm256_loadu_pd(p.add(4)), hi));
        }
    }

    /// The low and high 4 lanes of `v` as f64 (exact).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn widen(v: V) -> (__m256d, __m256d) {
        (_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
    }

    /// A running sum of f32 vectors, kept in f64 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Sum64(__m256d, __m256d);

    impl Sum64 {
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(crate) fn new() -> Self {
            Sum64(_mm256_setzero_pd(), _mm256_setzero_pd())
        }
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(crate) fn add(&mut self, v: V) {
            let (lo, hi) = widen(v);
            self.0 = _mm256_add_pd(self.0, lo);
            self.1 = _mm256_add_pd(self.1, hi);
        }
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(crate) fn total(self) -> f64 {
            // SAFETY: same size, and every bit pattern is a valid f64.
            let lanes = unsafe { std::mem::transmute::<__m256d, [f64; 4]>(_mm256_add_pd(self.0, self.1)) };
            lanes.iter().sum()
        }
    }

    portable!("avx2,fma");
}
