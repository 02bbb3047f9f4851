//! The adjoint of im2col.

use crate::im2col::{for_each_block_run, valid_range, RowTap};
use crate::ConvGeom;

/// Scatter-adds columns `[C*KH*KW, N*OH*OW]` into NCHW `x` (zeroed first unless `accumulate`).
///
/// Uses [`col2im_fast`] unless the scalar reference path is forced (`AUTOENC_FORCE_SCALAR`).
pub fn col2im(cols: &[f32], x: &mut [f32], geom: ConvGeom, accumulate: bool) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        col2im_scalar(cols, x, geom, accumulate)
    } else {
        col2im_fast(cols, x, geom, accumulate)
    }
}

/// The specification: [`crate::im2col::im2col_scalar`]'s loops with `=` turned into `+=`
/// (in the other direction), so it is the exact transpose of that linear map.
pub fn col2im_scalar(cols: &[f32], x: &mut [f32], g: ConvGeom, accumulate: bool) {
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(cols.len(), g.col_rows() * g.col_cols());
    if !accumulate {
        x.fill(0.0);
    }
    let (oh_n, ow_n, ncols) = (g.out_h(), g.out_w(), g.col_cols());
    for c in 0..g.channels {
        for ki in 0..g.kernel_h {
            for kj in 0..g.kernel_w {
                let row = (c * g.kernel_h + ki) * g.kernel_w + kj;
                for n in 0..g.batch {
                    for oh in 0..oh_n {
                        for ow in 0..ow_n {
                            let col = (n * oh_n + oh) * ow_n + ow;
                            let h = (oh * g.stride_h + ki * g.dil_h) as isize - g.pad_h as isize;
                            let w = (ow * g.stride_w + kj * g.dil_w) as isize - g.pad_w as isize;
                            if (0..g.height as isize).contains(&h) && (0..g.width as isize).contains(&w) {
                                x[((n * g.channels + c) * g.height + h as usize) * g.width + w as usize] +=
                                    cols[row * ncols + col];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Same result as [`col2im_scalar`], bit for bit: every image element receives its
/// contributions in the same order (kernel taps `(ki, kj)` in row-major order), only the
/// loops are regrouped. Each `(n, c)` image plane is owned by one thread, so planes can
/// be split across threads without atomics; each output row is added into its input row
/// by one [`RowTap::scatter_add`] (clipped once per tap, no per-element bounds test).
pub fn col2im_fast(cols: &[f32], x: &mut [f32], g: ConvGeom, accumulate: bool) {
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(cols.len(), g.col_rows() * g.col_cols());
    let (oh_n, ow_n, ncols) = (g.out_h(), g.out_w(), g.col_cols());
    let plane_len = g.height * g.width;
    let h_ranges: Vec<_> =
        (0..g.kernel_h).map(|ki| valid_range(oh_n, g.height, g.stride_h, g.pad_h, ki * g.dil_h)).collect();
    let w_taps: Vec<_> =
        (0..g.kernel_w).map(|kj| RowTap::new(ow_n, g.width, g.stride_w, g.pad_w, kj * g.dil_w)).collect();
    for_each_block_run(x, plane_len, cols.len(), |first, run| {
        for (i, plane) in run.chunks_mut(plane_len).enumerate() {
            let (n, c) = ((first + i) / g.channels, (first + i) % g.channels);
            if !accumulate {
                plane.fill(0.0);
            }
            for (ki, &(h_lo, h_hi)) in h_ranges.iter().enumerate() {
                for (kj, tap) in w_taps.iter().enumerate() {
                    let row = (c * g.kernel_h + ki) * g.kernel_w + kj;
                    let src = &cols[row * ncols + n * oh_n * ow_n..][..oh_n * ow_n];
                    for oh in h_lo..h_hi {
                        let h = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                        tap.scatter_add(&src[oh * ow_n..][..ow_n], &mut plane[h * g.width..][..g.width]);
                    }
                }
            }
        }
    });
}
