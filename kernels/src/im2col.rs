//! im2col (conv windows -> matrix columns). The axis swap used around it is in `layout.rs`.

/// Geometry of a 2-D convolution window over NCHW images, shared by im2col / col2im.
///
/// The column matrix is in the *batched* layout `[C*KH*KW, N*OH*OW]`: row
/// `(c*KH + ki)*KW + kj`, column `(n*OH + oh)*OW + ow`, so that one matmul serves the
/// whole batch. Padding reads zeros. Stride, padding and dilation are per axis, as
/// PyTorch's `(sh, sw)`, `(ph, pw)`, `(dh, dw)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    pub dil_h: usize,
    pub dil_w: usize,
}

impl ConvGeom {
    /// The same stride, padding and dilation on both axes.
    #[allow(clippy::too_many_arguments)]
    pub fn square(
        batch: usize,
        channels: usize,
        height: usize,
        width: usize,
        kernel: (usize, usize),
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> Self {
        ConvGeom {
            batch,
            channels,
            height,
            width,
            kernel_h: kernel.0,
            kernel_w: kernel.1,
            stride_h: stride,
            stride_w: stride,
            pad_h: padding,
            pad_w: padding,
            dil_h: dilation,
            dil_w: dilation,
        }
    }

    /// Why this geometry has no well-formed output, or `Ok` (then `out_h` / `out_w` are
    /// at least 1 and do not underflow): kernel, stride and dilation at least 1, and the
    /// dilated kernel no larger than the padded input on each axis.
    pub fn check(&self) -> Result<(), String> {
        let axes = [
            ("height", self.height, self.kernel_h, self.stride_h, self.pad_h, self.dil_h),
            ("width", self.width, self.kernel_w, self.stride_w, self.pad_w, self.dil_w),
        ];
        for (axis, size, k, s, p, d) in axes {
            if k == 0 || s == 0 || d == 0 {
                return Err(format!("kernel {axis} {k}, stride {s} and dilation {d} must all be at least 1"));
            }
            let padded = p.checked_mul(2).and_then(|p2| p2.checked_add(size));
            let span = d.checked_mul(k - 1).and_then(|x| x.checked_add(1));
            match (padded, span) {
                (Some(padded), Some(span)) if span <= padded => {}
                _ => {
                    return Err(format!(
                        "dilated kernel {axis} {d}*({k}-1)+1 exceeds padded input {axis} {size} + 2*{p}: empty output"
                    ))
                }
            }
        }
        Ok(())
    }

    pub fn out_h(&self) -> usize {
        (self.height + 2 * self.pad_h - self.dil_h * (self.kernel_h - 1) - 1) / self.stride_h + 1
    }
    pub fn out_w(&self) -> usize {
        (self.width + 2 * self.pad_w - self.dil_w * (self.kernel_w - 1) - 1) / self.stride_w + 1
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
                            let h = (oh * g.stride_h + ki * g.dil_h) as isize - g.pad_h as isize;
                            let w = (ow * g.stride_w + kj * g.dil_w) as isize - g.pad_w as isize;
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
/// matrix is an `OH x OW` plane filled one output row at a time: rows that fall in the
/// vertical padding are zero-filled, the others are one [`RowTap::gather`] of an input
/// row (a slice copy at stride 1). Blocks are split across threads when large.
///
/// (AVX-512 masked row moves were tried here, on the 2-core Zen 4 dev box: up to 30%
/// slower than slice copies for stride-1 rows, 1.4x faster only for stride-2 rows of
/// 28-wide images; not worth the unsafe code, so the plain version stays.)
pub fn im2col_fast(x: &[f32], cols: &mut [f32], g: ConvGeom) {
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(cols.len(), g.col_rows() * g.col_cols());
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let plane_len = g.height * g.width;
    // In-bounds output rows per vertical tap, and the row move of each horizontal tap.
    let h_ranges: Vec<_> =
        (0..g.kernel_h).map(|ki| valid_range(oh_n, g.height, g.stride_h, g.pad_h, ki * g.dil_h)).collect();
    let w_taps: Vec<_> =
        (0..g.kernel_w).map(|kj| RowTap::new(ow_n, g.width, g.stride_w, g.pad_w, kj * g.dil_w)).collect();
    let work = cols.len();
    for_each_block_run(cols, oh_n * ow_n, work, |first, run| {
        for (i, block) in run.chunks_mut(oh_n * ow_n).enumerate() {
            let (row, n) = ((first + i) / g.batch, (first + i) % g.batch);
            let c = row / (g.kernel_h * g.kernel_w);
            let (ki, kj) = ((row / g.kernel_w) % g.kernel_h, row % g.kernel_w);
            let plane = &x[(n * g.channels + c) * plane_len..][..plane_len];
            let (h_lo, h_hi) = h_ranges[ki];
            for (oh, out) in block.chunks_mut(ow_n).enumerate() {
                if oh < h_lo || oh >= h_hi {
                    out.fill(0.0);
                } else {
                    let h = oh * g.stride_h + ki * g.dil_h - g.pad_h;
                    w_taps[kj].gather(&plane[h * g.width..][..g.width], out);
                }
            }
        }
    });
}

/// One horizontal kernel tap's row move, shared by the fast im2col and col2im: output
/// `o` of a row reads input `o*stride + off`, `off = k*dilation - pad` (< 0 when the
/// tap starts in the left padding), and
/// `lo..hi` are the outputs for which that index lies inside the input row. Computed
/// once per tap, so the row loops do no divisions and no per-element bounds tests.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowTap {
    stride: usize,
    lo: usize,
    hi: usize,
    /// Input index of output `lo` (>= 0 by construction of `lo`).
    first_input: usize,
}

impl RowTap {
    /// The tap at `offset = k * dilation` of a conv with this stride and padding.
    pub(crate) fn new(out_len: usize, in_len: usize, stride: usize, pad: usize, offset: usize) -> Self {
        let (lo, hi) = valid_range(out_len, in_len, stride, pad, offset);
        Self { stride, lo, hi, first_input: (lo * stride + offset).saturating_sub(pad) }
    }

    /// `out[o] = src[o*stride + off]`, or 0 where that index is outside the row `src`.
    #[inline]
    pub(crate) fn gather(&self, src: &[f32], out: &mut [f32]) {
        let (lo, hi) = (self.lo, self.hi);
        out[..lo].fill(0.0);
        out[hi..].fill(0.0);
        if lo == hi {
            return;
        }
        let src = &src[self.first_input..];
        if self.stride == 1 {
            out[lo..hi].copy_from_slice(&src[..hi - lo]);
        } else {
            for (o, &v) in out[lo..hi].iter_mut().zip(src.iter().step_by(self.stride)) {
                *o = v;
            }
        }
    }

    /// The adjoint of [`Self::gather`]: `dst[o*stride + off] += src[o]` wherever that
    /// index is inside the row `dst`.
    #[inline]
    pub(crate) fn scatter_add(&self, src: &[f32], dst: &mut [f32]) {
        let (lo, hi) = (self.lo, self.hi);
        if lo == hi {
            return;
        }
        let dst = &mut dst[self.first_input..];
        if self.stride == 1 {
            // A plain zip, which vectorizes (step_by(1) does not).
            for (d, &v) in dst.iter_mut().zip(&src[lo..hi]) {
                *d += v;
            }
        } else {
            for (d, &v) in dst.iter_mut().step_by(self.stride).zip(&src[lo..hi]) {
                *d += v;
            }
        }
    }
}

/// The outputs `o` in `[lo, hi)` whose input index `o*stride + offset - pad` lies in
/// `[0, in_len)`; `offset` is the kernel tap's `k * dilation`. Empty ranges are `(hi, hi)`.
pub(crate) fn valid_range(out_len: usize, in_len: usize, stride: usize, pad: usize, offset: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    let hi = (in_len + pad).saturating_sub(offset).div_ceil(stride).min(out_len);
    (lo.min(hi), hi)
}

/// Elements of work below which one more thread does not pay for its start-up (chosen when
/// a thread was spawned per call, tens of microseconds; these kernels move a few bytes per
/// element; not re-measured with the worker pool).
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
    let blocks = data.len().checked_div(block).unwrap_or(0);
    let threads = crate::simd::threads().min(blocks).min(work / MIN_WORK_PER_THREAD);
    if threads <= 1 {
        f(0, data);
        return;
    }
    let per_run = blocks.div_ceil(threads);
    crate::workers::run_each(data.chunks_mut(per_run * block).collect(), &|r, run| f(r * per_run, run));
}
