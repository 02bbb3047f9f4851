//! The direct algorithm: each output row is a sum of input rows scaled by one weight, so
//! the three maps are computed over the images as they lie, with no im2col (only the
//! image's rows copied once into zero-padded rows). It wins where the GEMM is thin, with
//! few output channels (16 -> 1), where each column of the column matrix would meet one
//! weight row only. Only for `stride_w == 1`, where every row move is contiguous (the
//! selector in `mod.rs` sends other shapes to the blocked GEMM).
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

/// The x86 levels: each output row is built in registers. The image's rows are first
/// copied into zero-padded scratch rows (`pad_w` zeros on the left, zeros to the right),
/// so that every tap is a full-width unaligned load with no bounds test; an output chunk
/// of `NB` vectors then accumulates every `(c, ki, kj)` tap (forward), or every
/// `(oc, ki, kj)` tap reaching it (input gradient), before it is stored once. The weight
/// gradient sums `dy * x` over each tap's rows in one vector accumulator, then across it.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_direct {
    ($level:ident, $feat:literal, $nb:literal) => {
        mod $level {
            use super::Taps;
            use crate::simd_util::$level::*;
            use crate::ConvGeom;
            use std::cell::RefCell;

            /// Vectors per output chunk.
            const NB: usize = $nb;
            const CHUNK: usize = NB * LANES;

            thread_local! {
                /// Padded rows of the current image (and of its output gradient).
                static PADDED: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
            }

            /// Copies the `rows` rows of `src` (each `len` long) into `dst` rows of `stride`,
            /// each preceded by `left` zeros and followed by zeros.
            fn pad_rows(src: &[f32], rows: usize, len: usize, left: usize, stride: usize, dst: &mut Vec<f32>) {
                dst.clear();
                dst.resize(rows * stride, 0.0);
                for (r, row) in src.chunks_exact(len).take(rows).enumerate() {
                    dst[r * stride + left..][..len].copy_from_slice(row);
                }
            }

            /// Output chunk `acc` -> `out` (its first `out.len() <= CHUNK` values).
            #[target_feature(enable = $feat)]
            fn put(acc: &[V; NB], out: &mut [f32]) {
                let mut tmp = [0.0f32; CHUNK];
                for (b, &v) in acc.iter().enumerate() {
                    store(&mut tmp[b * LANES..], v);
                }
                out.copy_from_slice(&tmp[..out.len()]);
            }

            #[target_feature(enable = $feat)]
            pub(super) fn forward_image(x: &[f32], w: &[f32], y: &mut [f32], g: &ConvGeom, oc_n: usize, t: &Taps) {
                let (ow_n, pix, taps) = (g.out_w(), g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
                // Output ow of tap kj reads padded column ow + kj*dil_w.
                let stride = ow_n.div_ceil(CHUNK) * CHUNK + (g.kernel_w - 1) * g.dil_w + LANES;
                PADDED.with(|p| {
                    let xp = &mut p.borrow_mut()[0];
                    pad_rows(x, g.channels * g.height, g.width, g.pad_w, stride, xp);
                    for (oc, yp) in y.chunks_exact_mut(pix).enumerate().take(oc_n) {
                        let wo = &w[oc * g.channels * taps..][..g.channels * taps];
                        for oh in 0..g.out_h() {
                            for ow0 in (0..ow_n).step_by(CHUNK) {
                                let mut acc = [vzero(); NB];
                                for c in 0..g.channels {
                                    for (ki, &(h_lo, h_hi)) in t.rows.iter().enumerate() {
                                        if oh < h_lo || oh >= h_hi {
                                            continue;
                                        }
                                        let ih = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                                        let row = &xp[(c * g.height + ih) * stride + ow0..];
                                        for kj in 0..g.kernel_w {
                                            let wv = splat(wo[(c * g.kernel_h + ki) * g.kernel_w + kj]);
                                            let tap = &row[kj * g.dil_w..];
                                            for (b, a) in acc.iter_mut().enumerate() {
                                                *a = vfmadd(wv, load(&tap[b * LANES..]), *a);
                                            }
                                        }
                                    }
                                }
                                let n = CHUNK.min(ow_n - ow0);
                                put(&acc, &mut yp[oh * ow_n + ow0..][..n]);
                            }
                        }
                    }
                });
            }

            #[target_feature(enable = $feat)]
            pub(super) fn input_grad_image(
                dy: &[f32],
                w: &[f32],
                dx: &mut [f32],
                g: &ConvGeom,
                oc_n: usize,
                _t: &Taps,
            ) {
                let (oh_n, ow_n, plane, taps) = (g.out_h(), g.out_w(), g.height * g.width, g.kernel_h * g.kernel_w);
                // Input iw of tap kj reads output ow = iw + pad_w - kj*dil_w, at padded column
                // ow + left with left = (KW-1)*dil_w, so iw + pad_w + (KW-1-kj)*dil_w >= 0.
                let left = (g.kernel_w - 1) * g.dil_w;
                let stride = g.width.div_ceil(CHUNK) * CHUNK + g.pad_w + left + LANES;
                PADDED.with(|p| {
                    let dyp = &mut p.borrow_mut()[1];
                    pad_rows(dy, oc_n * oh_n, ow_n, left, stride.max(ow_n + left), dyp);
                    let stride = stride.max(ow_n + left);
                    for (c, xp) in dx.chunks_exact_mut(plane).enumerate() {
                        for ih in 0..g.height {
                            for iw0 in (0..g.width).step_by(CHUNK) {
                                let mut acc = [vzero(); NB];
                                for oc in 0..oc_n {
                                    let wc = &w[(oc * g.channels + c) * taps..][..taps];
                                    for ki in 0..g.kernel_h {
                                        let Some(t) = (ih + g.pad_h).checked_sub(ki * g.dil_h) else { break };
                                        if t % g.stride_h != 0 || t / g.stride_h >= oh_n {
                                            continue;
                                        }
                                        let row = &dyp[(oc * oh_n + t / g.stride_h) * stride + iw0 + g.pad_w..];
                                        for kj in 0..g.kernel_w {
                                            let wv = splat(wc[ki * g.kernel_w + kj]);
                                            let tap = &row[(g.kernel_w - 1 - kj) * g.dil_w..];
                                            for (b, a) in acc.iter_mut().enumerate() {
                                                *a = vfmadd(wv, load(&tap[b * LANES..]), *a);
                                            }
                                        }
                                    }
                                }
                                let n = CHUNK.min(g.width - iw0);
                                put(&acc, &mut xp[ih * g.width + iw0..][..n]);
                            }
                        }
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
                t: &Taps,
                _acc: &mut [f32],
            ) {
                let (oh_n, ow_n) = (g.out_h(), g.out_w());
                let wide = ow_n.div_ceil(LANES) * LANES;
                let stride = wide + (g.kernel_w - 1) * g.dil_w + LANES;
                PADDED.with(|p| {
                    let [xp, dyp] = &mut *p.borrow_mut();
                    pad_rows(x, g.channels * g.height, g.width, g.pad_w, stride, xp);
                    // dy rows padded with zeros to whole vectors, so the products past OW are 0.
                    pad_rows(dy, oc_n * oh_n, ow_n, 0, wide, dyp);
                    for oc in 0..oc_n {
                        for c in 0..g.channels {
                            for (ki, &(h_lo, h_hi)) in t.rows.iter().enumerate() {
                                for kj in 0..g.kernel_w {
                                    let mut acc = vzero();
                                    for oh in h_lo..h_hi {
                                        let ih = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                                        let (drow, xrow) = (
                                            &dyp[(oc * oh_n + oh) * wide..][..wide],
                                            &xp[(c * g.height + ih) * stride + kj * g.dil_w..],
                                        );
                                        for o in (0..wide).step_by(LANES) {
                                            acc = vfmadd(load(&drow[o..]), load(&xrow[o..]), acc);
                                        }
                                    }
                                    let sum: f32 = to_array(acc).iter().sum();
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
x86_direct!(avx512, "avx512f", 2);
#[cfg(target_arch = "x86_64")]
x86_direct!(avx2, "avx2,fma", 4);

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
