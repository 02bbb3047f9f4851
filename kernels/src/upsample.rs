//! Nearest-neighbour upsampling and its backward (block sums).

use crate::im2col::for_each_block_run;

/// Nearest-neighbour upsampling of NCHW images by an integer factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UpsampleGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub scale: usize,
}

impl UpsampleGeom {
    pub fn in_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
    pub fn out_len(&self) -> usize {
        self.in_len() * self.scale * self.scale
    }
}

/// Nearest-neighbour upsampling: `y[n, c, h, w] = x[n, c, h / scale, w / scale]`.
///
/// Uses [`upsample2d_fast`] unless the scalar reference path is forced.
pub fn upsample2d(x: &[f32], y: &mut [f32], geom: UpsampleGeom) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        upsample2d_scalar(x, y, geom)
    } else {
        upsample2d_fast(x, y, geom)
    }
}

/// The specification, one output element at a time.
pub fn upsample2d_scalar(x: &[f32], y: &mut [f32], g: UpsampleGeom) {
    debug_assert_eq!(x.len(), g.in_len());
    debug_assert_eq!(y.len(), g.out_len());
    let (s, out_h, out_w) = (g.scale, g.height * g.scale, g.width * g.scale);
    for p in 0..g.batch * g.channels {
        for h in 0..out_h {
            for w in 0..out_w {
                y[(p * out_h + h) * out_w + w] = x[(p * g.height + h / s) * g.width + w / s];
            }
        }
    }
}

/// Same result as [`upsample2d_scalar`]: each output row is built once from its input
/// row and then copied `scale - 1` times; planes split across threads when large.
pub fn upsample2d_fast(x: &[f32], y: &mut [f32], g: UpsampleGeom) {
    debug_assert_eq!(x.len(), g.in_len());
    debug_assert_eq!(y.len(), g.out_len());
    let (s, out_w) = (g.scale, g.width * g.scale);
    let work = y.len();
    // One block = the `scale` output rows made from one input row.
    for_each_block_run(y, s * out_w, work, |first, run| {
        for (i, rows) in run.chunks_mut(s * out_w).enumerate() {
            let src = &x[(first + i) * g.width..][..g.width];
            let (row0, rest) = rows.split_at_mut(out_w);
            for (out, &v) in row0.chunks_exact_mut(s).zip(src) {
                out.fill(v);
            }
            for row in rest.chunks_exact_mut(out_w) {
                row.copy_from_slice(row0);
            }
        }
    });
}

/// `dx_row[w] += dy_row[w*s + j]` for `j` in `0..s`, in that order; `S` is `s` when known
/// at compile time, 0 otherwise.
#[inline(always)]
fn add_block_sums<const S: usize>(dx_row: &mut [f32], dy_row: &[f32]) {
    let s = if S == 0 { dy_row.len() / dx_row.len() } else { S };
    for (d, taps) in dx_row.iter_mut().zip(dy_row.chunks_exact(s)) {
        for &t in taps {
            *d += t;
        }
    }
}

/// `dx` = sum of `dy` over each `scale x scale` block.
///
/// Uses [`upsample2d_backward_fast`] unless the scalar reference path is forced.
pub fn upsample2d_backward(dy: &[f32], dx: &mut [f32], geom: UpsampleGeom) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        upsample2d_backward_scalar(dy, dx, geom)
    } else {
        upsample2d_backward_fast(dy, dx, geom)
    }
}

/// The specification: each `dx` is `0 + dy[block]` summed in row-major block order.
pub fn upsample2d_backward_scalar(dy: &[f32], dx: &mut [f32], g: UpsampleGeom) {
    debug_assert_eq!(dy.len(), g.out_len());
    debug_assert_eq!(dx.len(), g.in_len());
    let (s, out_h, out_w) = (g.scale, g.height * g.scale, g.width * g.scale);
    for p in 0..g.batch * g.channels {
        for h in 0..g.height {
            for w in 0..g.width {
                let mut sum = 0.0f32;
                for i in 0..s {
                    for j in 0..s {
                        sum += dy[(p * out_h + h * s + i) * out_w + w * s + j];
                    }
                }
                dx[(p * g.height + h) * g.width + w] = sum;
            }
        }
    }
}

/// Same result as [`upsample2d_backward_scalar`], bit for bit: a `dx` row accumulates the
/// `scale` `dy` rows of its block one after another (the same order of additions per
/// element, but streaming through `dy`); input rows split across threads when large.
pub fn upsample2d_backward_fast(dy: &[f32], dx: &mut [f32], g: UpsampleGeom) {
    debug_assert_eq!(dy.len(), g.out_len());
    debug_assert_eq!(dx.len(), g.in_len());
    let (s, out_w) = (g.scale, g.width * g.scale);
    let work = dy.len();
    for_each_block_run(dx, g.width, work, |first, run| {
        for (i, dx_row) in run.chunks_mut(g.width).enumerate() {
            dx_row.fill(0.0);
            let block = &dy[(first + i) * s * out_w..][..s * out_w];
            for dy_row in block.chunks_exact(out_w) {
                match s {
                    // The usual scale, as a constant so the pair loop vectorizes.
                    2 => add_block_sums::<2>(dx_row, dy_row),
                    _ => add_block_sums::<0>(dx_row, dy_row),
                }
            }
        }
    });
}
