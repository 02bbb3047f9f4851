//! The direct algorithm: each output row is a sum of input rows scaled by one weight, so
//! the three maps are computed over the images as they lie, with no im2col (only the
//! image's rows copied once into zero-padded rows). It wins where the GEMM is thin, with
//! few output channels (16 -> 1), where each column of the column matrix would meet one
//! weight row only. Only for stride 1 on both axes, where every tap is a contiguous
//! shifted row (the selector in `mod.rs` sends other shapes to the blocked GEMM).
//!
//! Each output element sums its taps in the specification's order (channels, then
//! `(ki, kj)` row-major); the SIMD levels fuse each multiply-add (FMA), the plain level
//! does not.

use crate::im2col::valid_range;
use crate::{ConvGeom, SimdLevel};

/// Per kernel tap: the in-bounds output rows per `ki` (`(lo, hi)`, input row
/// `oh*stride_h + ki*dil_h - pad_h`) and per `kj` the in-bounds output columns and the
/// input column of the first (`(lo, hi, first)`; stride 1 on this axis).
pub(super) struct Taps {
    pub(super) rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize, usize)>,
}

impl Taps {
    pub(super) fn new(g: &ConvGeom) -> Self {
        debug_assert_eq!(g.stride_w, 1);
        let rows =
            (0..g.kernel_h).map(|ki| valid_range(g.out_h(), g.height, g.stride_h, g.pad_h, ki * g.dil_h)).collect();
        let cols = (0..g.kernel_w)
            .map(|kj| {
                let off = kj * g.dil_w;
                let (lo, hi) = valid_range(g.out_w(), g.width, 1, g.pad_w, off);
                (lo, hi, (lo + off).saturating_sub(g.pad_w))
            })
            .collect();
        Taps { rows, cols }
    }
}

/// The per-image drivers over the row operations `axpy_row(a, x, y)`: `y += a*x`, and
/// `mac_row(a, b, acc)`: `acc += a*b`, element by element, and `sum_row`, stamped once
/// per level with that level's target features.
macro_rules! drivers {
    ($(#[$attr:meta])*) => {
        /// `y [OC, OH, OW]` of one image (overwritten) from `x [C, H, W]`.
        $(#[$attr])*
        pub(super) fn forward_image(x: &[f32], w: &[f32], y: &mut [f32], g: &ConvGeom, oc_n: usize, t: &Taps) {
            let (plane, pix, ow_n) = (g.height * g.width, g.out_h() * g.out_w(), g.out_w());
            y.fill(0.0);
            for (oc, yp) in y.chunks_exact_mut(pix).enumerate().take(oc_n) {
                for c in 0..g.channels {
                    let xp = &x[c * plane..][..plane];
                    for (ki, &(h_lo, h_hi)) in t.rows.iter().enumerate() {
                        for (kj, &(lo, hi, first)) in t.cols.iter().enumerate() {
                            let a = w[((oc * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj];
                            for oh in h_lo..h_hi {
                                let ih = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                                axpy_row(a, &xp[ih * g.width + first..][..hi - lo], &mut yp[oh * ow_n + lo..][..hi - lo]);
                            }
                        }
                    }
                }
            }
        }

        /// `dx [C, H, W]` of one image (overwritten) from `dy [OC, OH, OW]`.
        $(#[$attr])*
        pub(super) fn input_grad_image(dy: &[f32], w: &[f32], dx: &mut [f32], g: &ConvGeom, oc_n: usize, t: &Taps) {
            let (plane, pix, ow_n) = (g.height * g.width, g.out_h() * g.out_w(), g.out_w());
            dx.fill(0.0);
            for (c, xp) in dx.chunks_exact_mut(plane).enumerate() {
                for oc in 0..oc_n {
                    let yp = &dy[oc * pix..][..pix];
                    for (ki, &(h_lo, h_hi)) in t.rows.iter().enumerate() {
                        for (kj, &(lo, hi, first)) in t.cols.iter().enumerate() {
                            let a = w[((oc * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj];
                            for oh in h_lo..h_hi {
                                let ih = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                                axpy_row(a, &yp[oh * ow_n + lo..][..hi - lo], &mut xp[ih * g.width + first..][..hi - lo]);
                            }
                        }
                    }
                }
            }
        }

        /// Adds one image's weight gradient to `dw [OC, C, KH, KW]`; `acc` is a row of
        /// scratch (`>= OW`): each tap sums its products column-wise over the rows, then
        /// across the row once.
        $(#[$attr])*
        pub(super) fn weight_grad_image(
            x: &[f32],
            dy: &[f32],
            dw: &mut [f32],
            g: &ConvGeom,
            oc_n: usize,
            t: &Taps,
            acc: &mut [f32],
        ) {
            let (plane, pix, ow_n) = (g.height * g.width, g.out_h() * g.out_w(), g.out_w());
            for oc in 0..oc_n {
                let yp = &dy[oc * pix..][..pix];
                for c in 0..g.channels {
                    let xp = &x[c * plane..][..plane];
                    for (ki, &(h_lo, h_hi)) in t.rows.iter().enumerate() {
                        for (kj, &(lo, hi, first)) in t.cols.iter().enumerate() {
                            let row = &mut acc[..hi - lo];
                            row.fill(0.0);
                            for oh in h_lo..h_hi {
                                let ih = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                                mac_row(&yp[oh * ow_n + lo..][..hi - lo], &xp[ih * g.width + first..][..hi - lo], row);
                            }
                            dw[((oc * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj] += sum_row(row);
                        }
                    }
                }
            }
        }
    };
}

/// The plain level (scalar and NEON requests: LLVM vectorizes these loops where it can).
mod plain {
    use super::{ConvGeom, Taps};

    fn axpy_row(a: f32, x: &[f32], y: &mut [f32]) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi += a * xi;
        }
    }

    fn mac_row(a: &[f32], b: &[f32], acc: &mut [f32]) {
        for ((s, &ai), &bi) in acc.iter_mut().zip(a).zip(b) {
            *s += ai * bi;
        }
    }

    fn sum_row(row: &[f32]) -> f32 {
        row.iter().sum()
    }

    drivers!();
}

/// The x86 levels: output blocks are built in registers. The image's planes are first
/// copied into zero-padded planes (the conv's padding, plus zeros to whole blocks), so
/// every tap is a full-width unaligned load with no bounds test or branch. A block of
/// `RB` output rows by `NB` vectors (8 independent accumulators, enough to cover the FMA
/// latency) accumulates every `(c, ki, kj)` tap (forward) or every `(oc, ki, kj)` tap
/// reaching it (input gradient) and is stored once. The weight gradient sums `dy * x`
/// per tap over the rows in `RB` vector accumulators, then across them.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_direct {
    ($level:ident, $feat:literal, $nb:literal, $loadu:ident) => {
        mod $level {
            use super::Taps;
            use crate::simd_util::$level::*;
            use crate::ConvGeom;
            use std::arch::x86_64::$loadu;
            use std::cell::RefCell;

            /// `LANES` floats at `p`, unchecked: the callers assert once per image that
            /// the furthest load of their loops ends inside the padded planes.
            #[target_feature(enable = $feat)]
            #[inline]
            unsafe fn load_at(p: *const f32) -> V {
                // SAFETY: the caller's assertion (see above).
                unsafe { $loadu(p) }
            }

            /// Vectors per output chunk, and output rows per block.
            const NB: usize = $nb;
            const RB: usize = 4;
            const CHUNK: usize = NB * LANES;

            thread_local! {
                /// Per thread: the padded planes of the current image, and the accumulator
                /// plane (forward, input gradient) or the padded output gradient (weight
                /// gradient).
                static PADDED: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
            }

            /// The zero-padded copy of `planes` planes of `h x w` values in `src`: planes of
            /// `rows` rows of `stride` floats, source row `i` at row `top + i`, column `left`.
            struct Padded {
                rows: usize,
                stride: usize,
            }

            impl Padded {
                /// `stride` rounded up to whole vectors, so rows are zeroed by vector stores.
                fn new(rows: usize, stride: usize) -> Self {
                    Padded { rows, stride: stride.div_ceil(LANES) * LANES }
                }

                /// Vector stores throughout: rows of a few dozen floats are too short for
                /// libc's memset / memcpy calls, which cost more than the copy itself.
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = $feat)]
                fn fill(
                    &self,
                    src: &[f32],
                    planes: usize,
                    h: usize,
                    w: usize,
                    top: usize,
                    left: usize,
                    dst: &mut Vec<f32>,
                ) {
                    let len = planes * self.rows * self.stride;
                    if dst.len() < len {
                        dst.resize(len, 0.0);
                    }
                    let zero = vzero();
                    for (p, plane) in dst[..len].chunks_exact_mut(self.rows * self.stride).enumerate() {
                        for (r, row) in plane.chunks_exact_mut(self.stride).enumerate() {
                            for o in (0..self.stride).step_by(LANES) {
                                store(&mut row[o..], zero);
                            }
                            let Some(i) = r.checked_sub(top).filter(|&i| i < h) else { continue };
                            let (from, to) = (&src[(p * h + i) * w..][..w], &mut row[left..left + w]);
                            if w < LANES {
                                for (t, &f) in to.iter_mut().zip(from) {
                                    *t = f;
                                }
                                continue;
                            }
                            for o in (0..w - LANES).step_by(LANES) {
                                store(&mut to[o..], load(&from[o..]));
                            }
                            // The last vector ends at the row's end (it may overlap the one before).
                            store(&mut to[w - LANES..], load(&from[w - LANES..]));
                        }
                    }
                }
            }

            /// One `RB x CHUNK` block of the accumulator plane `acc` (rows of `len`
            /// floats, whole chunks wide), at row `r0`, column `c0`.
            #[target_feature(enable = $feat)]
            #[inline]
            fn get_block(acc: &[f32], len: usize, r0: usize, c0: usize) -> [[V; NB]; RB] {
                std::array::from_fn(|r| std::array::from_fn(|b| load(&acc[(r0 + r) * len + c0 + b * LANES..])))
            }

            #[target_feature(enable = $feat)]
            #[inline]
            fn put_block(v: &[[V; NB]; RB], acc: &mut [f32], len: usize, r0: usize, c0: usize) {
                for (r, row) in v.iter().enumerate() {
                    for (b, &x) in row.iter().enumerate() {
                        store(&mut acc[(r0 + r) * len + c0 + b * LANES..], x);
                    }
                }
            }

            /// The first `rows x cols` of the accumulator plane (rows of `len`) -> `out`.
            fn copy_out(acc: &[f32], len: usize, out: &mut [f32], rows: usize, cols: usize) {
                for (o, a) in out.chunks_exact_mut(cols).zip(acc.chunks_exact(len)).take(rows) {
                    o.copy_from_slice(&a[..cols]);
                }
            }

            /// Loops: output channel, input channel, output block, taps. The block's
            /// partial sums live in an accumulator plane between channels, so that one
            /// input plane (a few KiB) and the output plane stay in L1 while every block
            /// reads them; each output still sums its taps channel by channel, `(ki, kj)`
            /// row-major within a channel, as the specification does.
            #[target_feature(enable = $feat)]
            pub(super) fn forward_image(x: &[f32], w: &[f32], y: &mut [f32], g: &ConvGeom, oc_n: usize, _t: &Taps) {
                let (oh_n, ow_n, pix, taps) = (g.out_h(), g.out_w(), g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
                let (rows, len) = (oh_n.div_ceil(RB) * RB, ow_n.div_ceil(CHUNK) * CHUNK);
                // Output (oh, ow) of tap (ki, kj) reads padded (oh + ki*dil_h, ow + kj*dil_w).
                let pad = Padded::new(
                    (rows + (g.kernel_h - 1) * g.dil_h).max(g.pad_h + g.height),
                    (len + (g.kernel_w - 1) * g.dil_w).max(g.pad_w + g.width),
                );
                let plane = pad.rows * pad.stride;
                PADDED.with(|p| {
                    let [xp, acc] = &mut *p.borrow_mut();
                    pad.fill(x, g.channels, g.height, g.width, g.pad_h, g.pad_w, xp);
                    // The furthest load: last plane, last block row, last tap, last vector.
                    let last = (g.channels - 1) * plane
                        + (rows - 1 + (g.kernel_h - 1) * g.dil_h) * pad.stride
                        + len
                        + (g.kernel_w - 1) * g.dil_w;
                    assert!(last <= g.channels * plane && last <= xp.len(), "conv2d direct: padded planes too short");
                    let xp = xp.as_ptr();
                    acc.resize(acc.len().max(rows * len), 0.0);
                    let acc = &mut acc[..rows * len];
                    for (oc, yp) in y.chunks_exact_mut(pix).enumerate().take(oc_n) {
                        let wo = &w[oc * g.channels * taps..][..g.channels * taps];
                        for c in 0..g.channels {
                            for oh0 in (0..rows).step_by(RB) {
                                for ow0 in (0..len).step_by(CHUNK) {
                                    let mut a =
                                        if c == 0 { [[vzero(); NB]; RB] } else { get_block(acc, len, oh0, ow0) };
                                    for ki in 0..g.kernel_h {
                                        for kj in 0..g.kernel_w {
                                            let wv = splat(wo[(c * g.kernel_h + ki) * g.kernel_w + kj]);
                                            let base =
                                                c * plane + (oh0 + ki * g.dil_h) * pad.stride + ow0 + kj * g.dil_w;
                                            for (r, ar) in a.iter_mut().enumerate() {
                                                for (b, v) in ar.iter_mut().enumerate() {
                                                    // SAFETY: below `last`, asserted above.
                                                    let xv =
                                                        unsafe { load_at(xp.add(base + r * pad.stride + b * LANES)) };
                                                    *v = vfmadd(wv, xv, *v);
                                                }
                                            }
                                        }
                                    }
                                    put_block(&a, acc, len, oh0, ow0);
                                }
                            }
                        }
                        copy_out(acc, len, yp, oh_n, ow_n);
                    }
                });
            }

            /// Loops: input channel, output channel, block, taps, with the accumulator
            /// plane as in [`forward_image`].
            #[target_feature(enable = $feat)]
            pub(super) fn input_grad_image(
                dy: &[f32],
                w: &[f32],
                dx: &mut [f32],
                g: &ConvGeom,
                oc_n: usize,
                _t: &Taps,
            ) {
                let (oh_n, ow_n, plane_in, taps) = (g.out_h(), g.out_w(), g.height * g.width, g.kernel_h * g.kernel_w);
                let (rows, len) = (g.height.div_ceil(RB) * RB, g.width.div_ceil(CHUNK) * CHUNK);
                // Input (ih, iw) of tap (ki, kj) reads dy at (ih + pad_h - ki*dil_h, iw + pad_w - kj*dil_w):
                // padded by top = (KH-1)*dil_h and left = (KW-1)*dil_w, at
                // (ih + pad_h + (KH-1-ki)*dil_h, iw + pad_w + (KW-1-kj)*dil_w).
                let (top, left) = ((g.kernel_h - 1) * g.dil_h, (g.kernel_w - 1) * g.dil_w);
                let pad = Padded::new((rows + g.pad_h + top).max(top + oh_n), (len + g.pad_w + left).max(left + ow_n));
                let plane = pad.rows * pad.stride;
                PADDED.with(|p| {
                    let [dyp, acc] = &mut *p.borrow_mut();
                    pad.fill(dy, oc_n, oh_n, ow_n, top, left, dyp);
                    let last = (oc_n - 1) * plane + (rows - 1 + g.pad_h + top) * pad.stride + len + g.pad_w + left;
                    assert!(last <= oc_n * plane && last <= dyp.len(), "conv2d direct: padded planes too short");
                    let dyp = dyp.as_ptr();
                    acc.resize(acc.len().max(rows * len), 0.0);
                    let acc = &mut acc[..rows * len];
                    for (c, xp) in dx.chunks_exact_mut(plane_in).enumerate() {
                        for oc in 0..oc_n {
                            let wc = &w[(oc * g.channels + c) * taps..][..taps];
                            for ih0 in (0..rows).step_by(RB) {
                                for iw0 in (0..len).step_by(CHUNK) {
                                    let mut a =
                                        if oc == 0 { [[vzero(); NB]; RB] } else { get_block(acc, len, ih0, iw0) };
                                    for ki in 0..g.kernel_h {
                                        for kj in 0..g.kernel_w {
                                            let wv = splat(wc[ki * g.kernel_w + kj]);
                                            let base = oc * plane
                                                + (ih0 + g.pad_h + (g.kernel_h - 1 - ki) * g.dil_h) * pad.stride
                                                + iw0
                                                + g.pad_w
                                                + (g.kernel_w - 1 - kj) * g.dil_w;
                                            for (r, ar) in a.iter_mut().enumerate() {
                                                for (b, v) in ar.iter_mut().enumerate() {
                                                    // SAFETY: below `last`, asserted above.
                                                    let yv =
                                                        unsafe { load_at(dyp.add(base + r * pad.stride + b * LANES)) };
                                                    *v = vfmadd(wv, yv, *v);
                                                }
                                            }
                                        }
                                    }
                                    put_block(&a, acc, len, ih0, iw0);
                                }
                            }
                        }
                        copy_out(acc, len, xp, g.height, g.width);
                    }
                });
            }

            #[allow(clippy::too_many_arguments)]
            #[target_feature(enable = $feat)]
            pub(super) fn weight_grad_image(
                x: &[f32],
                dy: &[f32],
                dw: &mut [f32],
                g: &ConvGeom,
                oc_n: usize,
                _t: &Taps,
                _acc: &mut [f32],
            ) {
                let (oh_n, ow_n) = (g.out_h(), g.out_w());
                let wide = ow_n.div_ceil(LANES) * LANES;
                let xpad = Padded::new(
                    (oh_n + (g.kernel_h - 1) * g.dil_h).max(g.pad_h + g.height),
                    (wide + (g.kernel_w - 1) * g.dil_w).max(g.pad_w + g.width),
                );
                // dy rows padded with zeros to whole vectors, so the products past OW are 0.
                let ypad = Padded::new(oh_n, wide);
                let (xplane, yplane) = (xpad.rows * xpad.stride, oh_n * wide);
                PADDED.with(|p| {
                    let [xp, dyp] = &mut *p.borrow_mut();
                    xpad.fill(x, g.channels, g.height, g.width, g.pad_h, g.pad_w, xp);
                    ypad.fill(dy, oc_n, oh_n, ow_n, 0, 0, dyp);
                    for oc in 0..oc_n {
                        let yc = &dyp[oc * yplane..][..yplane];
                        for c in 0..g.channels {
                            let xc = &xp[c * xplane..][..xplane];
                            for ki in 0..g.kernel_h {
                                for kj in 0..g.kernel_w {
                                    let mut acc = [vzero(); RB];
                                    let off = ki * g.dil_h * xpad.stride + kj * g.dil_w;
                                    for oh0 in (0..oh_n).step_by(RB) {
                                        for (r, a) in acc.iter_mut().enumerate().take(oh_n - oh0) {
                                            let drow = &yc[(oh0 + r) * wide..][..wide];
                                            let xrow = &xc[(oh0 + r) * xpad.stride + off..];
                                            for o in (0..wide).step_by(LANES) {
                                                *a = vfmadd(load(&drow[o..]), load(&xrow[o..]), *a);
                                            }
                                        }
                                    }
                                    let mut sum = 0.0f32;
                                    for a in acc {
                                        sum += to_array(a).iter().sum::<f32>();
                                    }
                                    dw[((oc * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj] += sum;
                                }
                            }
                        }
                    }
                });
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_direct!(avx512, "avx512f", 2, _mm512_loadu_ps);
#[cfg(target_arch = "x86_64")]
x86_direct!(avx2, "avx2,fma", 4, _mm256_loadu_ps);

/// Which level's drivers to run: the x86 levels need their features (checked, as running a
/// `#[target_feature]` function without them is undefined behaviour).
#[derive(Clone, Copy)]
pub(super) enum Rows {
    Plain,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Rows {
    pub(super) fn for_level(level: SimdLevel) -> Rows {
        match level {
            SimdLevel::Scalar | SimdLevel::Neon => Rows::Plain,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2Fma => {
                assert!(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"), "conv2d: no AVX2+FMA");
                Rows::Avx2
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                assert!(is_x86_feature_detected!("avx512f"), "conv2d: no AVX-512");
                Rows::Avx512
            }
            #[cfg(not(target_arch = "x86_64"))]
            other => panic!("conv2d: {} is not available", other.name()),
        }
    }

    pub(super) fn forward_image(self, x: &[f32], w: &[f32], y: &mut [f32], g: &ConvGeom, oc: usize, t: &Taps) {
        match self {
            Rows::Plain => plain::forward_image(x, w, y, g, oc, t),
            // SAFETY: `for_level` checked the features.
            #[cfg(target_arch = "x86_64")]
            Rows::Avx2 => unsafe { avx2::forward_image(x, w, y, g, oc, t) },
            #[cfg(target_arch = "x86_64")]
            Rows::Avx512 => unsafe { avx512::forward_image(x, w, y, g, oc, t) },
        }
    }

    pub(super) fn input_grad_image(self, dy: &[f32], w: &[f32], dx: &mut [f32], g: &ConvGeom, oc: usize, t: &Taps) {
        match self {
            Rows::Plain => plain::input_grad_image(dy, w, dx, g, oc, t),
            // SAFETY: `for_level` checked the features.
            #[cfg(target_arch = "x86_64")]
            Rows::Avx2 => unsafe { avx2::input_grad_image(dy, w, dx, g, oc, t) },
            #[cfg(target_arch = "x86_64")]
            Rows::Avx512 => unsafe { avx512::input_grad_image(dy, w, dx, g, oc, t) },
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn weight_grad_image(
        self,
        x: &[f32],
        dy: &[f32],
        dw: &mut [f32],
        g: &ConvGeom,
        oc: usize,
        t: &Taps,
        acc: &mut [f32],
    ) {
        match self {
            Rows::Plain => plain::weight_grad_image(x, dy, dw, g, oc, t, acc),
            // SAFETY: `for_level` checked the features.
            #[cfg(target_arch = "x86_64")]
            Rows::Avx2 => unsafe { avx2::weight_grad_image(x, dy, dw, g, oc, t, acc) },
            #[cfg(target_arch = "x86_64")]
            Rows::Avx512 => unsafe { avx512::weight_grad_image(x, dy, dw, g, oc, t, acc) },
        }
    }
}
