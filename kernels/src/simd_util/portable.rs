//! `portable!`: the level-independent half of each x86 module (exp, ln, sigmoid, tanh and
//! the map/sum loops), written once against the primitives of `lanes!` and the level's own.

/// The level-independent part of each x86 module: written against the primitives (`V`,
/// `LANES`, `load`, `vadd`, `select`, ...) that the module defines, with `$feat` as the
/// target features of every function.
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
