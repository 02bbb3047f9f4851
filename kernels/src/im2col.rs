//! im2col (conv windows -> matrix columns) and the axis swap used around it.

/// Geometry of a 2-D convolution window over NCHW images, shared by im2col / col2im.
///
/// The column matrix is in the *batched* layout `[C*KH*KW, N*OH*OW]`: row
/// `(c*KH + ki)*KW + kj`, column `(n*OH + oh)*OW + ow`, so that one matmul serves the
/// whole batch. Padding reads zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        (self.height + 2 * self.padding - self.dilation * (self.kernel_h - 1) - 1) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.width + 2 * self.padding - self.dilation * (self.kernel_w - 1) - 1) / self.stride + 1
    }
    /// Rows of the column matrix: C*KH*KW.
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }
    /// Columns of the column matrix: N*OH*OW.
    pub fn col_cols(&self) -> usize {
        self.batch * self.out_h() * self.out_w()
    }
    pub fn image_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
}

/// NCHW `x` -> columns `[C*KH*KW, N*OH*OW]`; padding reads 0.
///
/// Uses [`im2col_fast`] unless the scalar reference path is forced (`AUTOENC_FORCE_SCALAR`).
pub fn im2col(x: &[f32], cols: &mut [f32], geom: ConvGeom) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        im2col_scalar(x, cols, geom)
    } else {
        im2col_fast(x, cols, geom)
    }
}

/// The specification: one output element at a time, straight from the definition.
pub fn im2col_scalar(x: &[f32], cols: &mut [f32], g: ConvGeom) {
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(cols.len(), g.col_rows() * g.col_cols());
    let (oh_n, ow_n, ncols) = (g.out_h(), g.out_w(), g.col_cols());
    for c in 0..g.channels {
        for ki in 0..g.kernel_h {
            for kj in 0..g.kernel_w {
                let row = (c * g.kernel_h + ki) * g.kernel_w + kj;
                for n in 0..g.batch {
                    for oh in 0..oh_n {
                        for ow in 0..ow_n {
                            let col = (n * oh_n + oh) * ow_n + ow;
                            let h = (oh * g.stride + ki * g.dilation) as isize - g.padding as isize;
                            let w = (ow * g.stride + kj * g.dilation) as isize - g.padding as isize;
                            let inside = (0..g.height as isize).contains(&h) && (0..g.width as isize).contains(&w);
                            cols[row * ncols + col] = if inside {
                                x[((n * g.channels + c) * g.height + h as usize) * g.width + w as usize]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
    }
}

/// Same result as [`im2col_scalar`], bit for bit. Each `(row, n)` block of the column
/// matrix is an `OH x OW` plane filled row by row: the in-bounds part of an output row
/// is a slice copy when stride is 1 (a strided gather otherwise), the rest is zeros, so
/// no per-element bounds test remains. Blocks are split across threads when large.
pub fn im2col_fast(x: &[f32], cols: &mut [f32], g: ConvGeom) {
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(cols.len(), g.col_rows() * g.col_cols());
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let plane_len = g.height * g.width;
    // In-bounds output range per kernel offset, computed once (shared by every row).
    let h_ranges: Vec<_> =
        (0..g.kernel_h).map(|ki| valid_range(oh_n, g.height, g.stride, g.padding, ki * g.dilation)).collect();
    let w_ranges: Vec<_> =
        (0..g.kernel_w).map(|kj| valid_range(ow_n, g.width, g.stride, g.padding, kj * g.dilation)).collect();
    let work = cols.len();
    for_each_block_run(cols, oh_n * ow_n, work, |first, run| {
        for (i, block) in run.chunks_mut(oh_n * ow_n).enumerate() {
            let (row, n) = ((first + i) / g.batch, (first + i) % g.batch);
            let c = row / (g.kernel_h * g.kernel_w);
            let (ki, kj) = ((row / g.kernel_w) % g.kernel_h, row % g.kernel_w);
            let plane = &x[(n * g.channels + c) * plane_len..][..plane_len];
            let (h_lo, h_hi) = h_ranges[ki];
            let (w_lo, w_hi) = w_ranges[kj];
            for (oh, out) in block.chunks_mut(ow_n).enumerate() {
                if oh < h_lo || oh >= h_hi || w_lo == w_hi {
                    out.fill(0.0);
                    continue;
                }
                let h = oh * g.stride + ki * g.dilation - g.padding;
                // Input column of the first in-bounds output; >= 0 by construction of w_lo.
                let w0 = w_lo * g.stride + kj * g.dilation - g.padding;
                let src = &plane[h * g.width..][..g.width];
                out[..w_lo].fill(0.0);
                out[w_hi..].fill(0.0);
                if g.stride == 1 {
                    out[w_lo..w_hi].copy_from_slice(&src[w0..w0 + (w_hi - w_lo)]);
                } else {
                    for (o, &v) in out[w_lo..w_hi].iter_mut().zip(src[w0..].iter().step_by(g.stride)) {
                        *o = v;
                    }
                }
            }
        }
    });
}

/// The outputs `o` in `[lo, hi)` whose input index `o*stride + offset - pad` lies in
/// `[0, in_len)`; `offset` is the kernel tap's `k * dilation`. Empty ranges are `(hi, hi)`.
pub(crate) fn valid_range(out_len: usize, in_len: usize, stride: usize, pad: usize, offset: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    let hi = (in_len + pad).saturating_sub(offset).div_ceil(stride).min(out_len);
    (lo.min(hi), hi)
}

/// Elements of work below which one more thread does not pay for its start-up
/// (a thread costs tens of microseconds; these kernels move a few bytes per element).
pub(crate) const MIN_WORK_PER_THREAD: usize = 1 << 17;

/// Splits `data` into runs of whole `block`-sized blocks, one run per thread, and calls
/// `f(index of the run's first block, run)` on each. `work` (elements touched, roughly)
/// decides how many threads are worth starting; small jobs run on the calling thread.
pub(crate) fn for_each_block_run<T: Send>(
    data: &mut [T],
    block: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if data.is_empty() {
        return;
    }
    let blocks = if block == 0 { 0 } else { data.len() / block };
    let threads = crate::simd::threads().min(blocks).min(work / MIN_WORK_PER_THREAD);
    if threads <= 1 {
        f(0, data);
        return;
    }
    let per_run = blocks.div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let mut runs = data.chunks_mut(per_run * block).enumerate();
        // The calling thread takes the first run instead of idling in the join.
        let (_, own) = runs.next().expect("at least two runs");
        for (r, run) in runs {
            s.spawn(move || f(r * per_run, run));
        }
        f(0, own);
    });
}

/// `[a, b, inner] -> [b, a, inner]`.
///
/// Uses [`swap_leading_axes_fast`] unless the scalar reference path is forced.
pub fn swap_leading_axes(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        swap_leading_axes_scalar(x, out, a, b, inner)
    } else {
        swap_leading_axes_fast(x, out, a, b, inner)
    }
}

/// The specification: `out[j, i, k] = x[i, j, k]`.
pub fn swap_leading_axes_scalar(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    debug_assert_eq!(x.len(), a * b * inner);
    debug_assert_eq!(out.len(), a * b * inner);
    for i in 0..a {
        for j in 0..b {
            for k in 0..inner {
                out[(j * a + i) * inner + k] = x[(i * b + j) * inner + k];
            }
        }
    }
}

/// Same result as [`swap_leading_axes_scalar`]: slice copies of `inner` elements, the
/// output's `j` rows split across threads when large. A short `inner` makes this a
/// matrix transpose, done in tiles of `TILE` output rows so that the writes stay in a
/// few cache lines while the reads stream through `x`.
pub fn swap_leading_axes_fast(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    const TILE: usize = 16;
    debug_assert_eq!(x.len(), a * b * inner);
    debug_assert_eq!(out.len(), a * b * inner);
    let work = out.len();
    for_each_block_run(out, a * inner, work, |j_first, run| {
        let j_count = if a * inner == 0 { 0 } else { run.len() / (a * inner) };
        for t0 in (0..j_count).step_by(TILE) {
            let t1 = (t0 + TILE).min(j_count);
            for i in 0..a {
                for t in t0..t1 {
                    let j = j_first + t;
                    run[(t * a + i) * inner..][..inner].copy_from_slice(&x[(i * b + j) * inner..][..inner]);
                }
            }
        }
    });
}
