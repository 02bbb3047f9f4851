//! `lanes!`: the primitives that the x86 levels share line for line, differing only in the
//! vector types and intrinsic names, written once and stamped into `avx512` and `avx2`.
//! What really differs between the levels (abs, rounding, ldexp/frexp, select, widening
//! to f64, the final horizontal sum) stays in each level's file.

/// Defines, in the calling level module, `load`/`store`/`to_array`, `splat`/`vzero`, the
/// `v*` arithmetic, the comparisons, `add_to_f64` and `Sum64` (`new`/`add`; the level adds
/// `total`), over the level's `V`, `M`, `LANES` and a `widen(V) -> ($pd, $pd)`, with
/// `$feat` as the target features of every function.
macro_rules! lanes {
    (
        features: $feat:literal,
        pd: $pd:ty,
        loadu: $loadu:ident,
        storeu: $storeu:ident,
        set1: $set1:ident,
        setzero: $setzero:ident,
        add: $add:ident,
        sub: $sub:ident,
        mul: $mul:ident,
        div: $div:ident,
        min: $min:ident,
        max: $max:ident,
        sqrt: $sqrt:ident,
        fmadd: $fmadd:ident,
        fnmadd: $fnmadd:ident,
        cmp: $cmp:ident,
        loadu_pd: $loadu_pd:ident,
        storeu_pd: $storeu_pd:ident,
        add_pd: $add_pd:ident,
        setzero_pd: $setzero_pd:ident $(,)?
    ) => {
        /// The first `LANES` elements of `s` (panics if shorter).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn load(s: &[f32]) -> V {
            let s = &s[..LANES];
            // SAFETY: `s` holds LANES readable f32; loadu has no alignment requirement.
            unsafe { $loadu(s.as_ptr()) }
        }

        /// Writes `v` to the first `LANES` elements of `s` (panics if shorter).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn store(s: &mut [f32], v: V) {
            let s = &mut s[..LANES];
            // SAFETY: `s` holds LANES writable f32; storeu has no alignment requirement.
            unsafe { $storeu(s.as_mut_ptr(), v) }
        }

        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn to_array(v: V) -> [f32; LANES] {
            // SAFETY: same size, and every bit pattern is a valid f32.
            unsafe { std::mem::transmute::<V, [f32; LANES]>(v) }
        }

        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn splat(x: f32) -> V {
            $set1(x)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vzero() -> V {
            $setzero()
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vadd(a: V, b: V) -> V {
            $add(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vsub(a: V, b: V) -> V {
            $sub(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vmul(a: V, b: V) -> V {
            $mul(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vdiv(a: V, b: V) -> V {
            $div(a, b)
        }
        /// Lane-wise minimum; returns `b` where either is NaN.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vmin(a: V, b: V) -> V {
            $min(a, b)
        }
        /// Lane-wise maximum; returns `b` where either is NaN.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vmax(a: V, b: V) -> V {
            $max(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vsqrt(a: V) -> V {
            $sqrt(a)
        }
        /// `a*b + c`, one rounding (used only inside polynomial approximations).
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vfmadd(a: V, b: V, c: V) -> V {
            $fmadd(a, b, c)
        }
        /// `c - a*b`, one rounding.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vfnmadd(a: V, b: V, c: V) -> V {
            $fnmadd(a, b, c)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vgt(a: V, b: V) -> M {
            $cmp::<_CMP_GT_OQ>(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vge(a: V, b: V) -> M {
            $cmp::<_CMP_GE_OQ>(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn vlt(a: V, b: V) -> M {
            $cmp::<_CMP_LT_OQ>(a, b)
        }
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn veq(a: V, b: V) -> M {
            $cmp::<_CMP_EQ_OQ>(a, b)
        }

        /// Adds the `LANES` lanes of `v`, widened to f64, to `dst[..LANES]`.
        #[target_feature(enable = $feat)]
        #[inline]
        pub(crate) fn add_to_f64(dst: &mut [f64], v: V) {
            let (lo, hi) = widen(v);
            let d = &mut dst[..LANES];
            // SAFETY: `d` holds LANES f64: lanes 0..LANES/2 and LANES/2..LANES are in bounds;
            // no alignment needed.
            unsafe {
                let p = d.as_mut_ptr();
                $storeu_pd(p, $add_pd($loadu_pd(p), lo));
                $storeu_pd(p.add(LANES / 2), $add_pd($loadu_pd(p.add(LANES / 2)), hi));
            }
        }

        /// A running sum of f32 vectors, kept in f64 lanes.
        #[derive(Clone, Copy)]
        pub(crate) struct Sum64($pd, $pd);

        impl Sum64 {
            #[target_feature(enable = $feat)]
            #[inline]
            pub(crate) fn new() -> Self {
                Sum64($setzero_pd(), $setzero_pd())
            }
            #[target_feature(enable = $feat)]
            #[inline]
            pub(crate) fn add(&mut self, v: V) {
                let (lo, hi) = widen(v);
                self.0 = $add_pd(self.0, lo);
                self.1 = $add_pd(self.1, hi);
            }
        }
    };
}
