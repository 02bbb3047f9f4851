//! Max pooling (nearest-neighbour upsampling is in `upsample.rs`).

use crate::im2col::for_each_block_run;
use std::hint::select_unpredictable;

/// Max-pooling window over NCHW images. Output size follows PyTorch's `MaxPool2d`
/// (floor, or ceil with `ceil_mode`, where a window must start inside the padded input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub ceil_mode: bool,
}

impl PoolGeom {
    fn out_len(&self, size: usize) -> usize {
        let span = size + 2 * self.padding - self.kernel;
        let mut out = if self.ceil_mode { span.div_ceil(self.stride) + 1 } else { span / self.stride + 1 };
        // PyTorch: the last window must start inside the input or the left padding.
        if self.ceil_mode && (out - 1) * self.stride >= size + self.padding {
            out -= 1;
        }
        out
    }
    pub fn out_h(&self) -> usize {
        self.out_len(self.height)
    }
    pub fn out_w(&self) -> usize {
        self.out_len(self.width)
    }
    pub fn in_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
    pub fn out_len_total(&self) -> usize {
        self.batch * self.channels * self.out_h() * self.out_w()
    }
}

/// `argmax` value of a window that covers no input at all. Only a padding larger than
/// half the kernel (which PyTorch rejects) makes one; its output is -inf and the backward
/// pass skips it.
pub const NO_ARGMAX: u32 = u32::MAX;

/// True when `v` replaces the current window maximum `best`. PyTorch's rule: a strictly
/// greater value wins (so ties keep the first in row-major order) and NaN always wins
/// (so NaN propagates, and the last NaN of a window is its argmax). `|`, not `||`: both
/// sides are cheap, and no short-circuit branch.
#[inline]
fn beats(v: f32, best: f32) -> bool {
    (v > best) | v.is_nan()
}

/// Max pooling; `argmax[o]` = `h*W + w` of the winner within its channel plane.
///
/// Padding counts as -inf and never wins; ties go to the first element in row-major
/// window order; NaN propagates (see `beats`). Uses [`max_pool2d_fast`] unless the
/// scalar reference path is forced (`AUTOENC_FORCE_SCALAR`).
pub fn max_pool2d(x: &[f32], y: &mut [f32], argmax: &mut [u32], geom: PoolGeom) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        max_pool2d_scalar(x, y, argmax, geom)
    } else {
        max_pool2d_fast(x, y, argmax, geom)
    }
}

/// The specification: every window tap tested against the image bounds.
pub fn max_pool2d_scalar(x: &[f32], y: &mut [f32], argmax: &mut [u32], g: PoolGeom) {
    debug_assert_eq!(x.len(), g.in_len());
    debug_assert_eq!(y.len(), g.out_len_total());
    debug_assert_eq!(argmax.len(), g.out_len_total());
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    for p in 0..g.batch * g.channels {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let mut best = f32::NEG_INFINITY;
                let mut best_at = NO_ARGMAX;
                for ki in 0..g.kernel {
                    for kj in 0..g.kernel {
                        let h = (oh * g.stride + ki) as isize - g.padding as isize;
                        let w = (ow * g.stride + kj) as isize - g.padding as isize;
                        if !(0..g.height as isize).contains(&h) || !(0..g.width as isize).contains(&w) {
                            continue;
                        }
                        let at = h as usize * g.width + w as usize;
                        let v = x[p * g.height * g.width + at];
                        // The first real tap always sets the index, so an all -inf window
                        // still points at a real input.
                        if best_at == NO_ARGMAX || beats(v, best) {
                            best = v;
                            best_at = at as u32;
                        }
                    }
                }
                let o = (p * oh_n + oh) * ow_n + ow;
                y[o] = best;
                argmax[o] = best_at;
            }
        }
    }
}

/// Same result as [`max_pool2d_scalar`], bit for bit: the window is clipped to the image
/// once per output (so the inner loops run over plain slices, same visiting order), the
/// running max is updated without branches, and `(n, c)` planes are split across threads
/// when large.
pub fn max_pool2d_fast(x: &[f32], y: &mut [f32], argmax: &mut [u32], g: PoolGeom) {
    debug_assert_eq!(x.len(), g.in_len());
    debug_assert_eq!(y.len(), g.out_len_total());
    debug_assert_eq!(argmax.len(), g.out_len_total());
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let (in_plane, out_plane) = (g.height * g.width, oh_n * ow_n);
    // Clipped window [lo, hi) along one axis, per output index.
    let clip = |o: usize, size: usize| {
        let start = o * g.stride;
        (start.max(g.padding) - g.padding, (start + g.kernel).min(size + g.padding).saturating_sub(g.padding))
    };
    let h_windows: Vec<_> = (0..oh_n).map(|oh| clip(oh, g.height)).collect();
    let w_windows: Vec<_> = (0..ow_n).map(|ow| clip(ow, g.width)).collect();
    let pool_planes = |first: usize, y: &mut [f32], argmax: &mut [u32]| {
        for (i, (y, argmax)) in y.chunks_mut(out_plane).zip(argmax.chunks_mut(out_plane)).enumerate() {
            let plane = &x[(first + i) * in_plane..][..in_plane];
            for (oh, &(h_lo, h_hi)) in h_windows.iter().enumerate() {
                for (ow, &(w_lo, w_hi)) in w_windows.iter().enumerate() {
                    let mut best = f32::NEG_INFINITY;
                    let mut best_at = NO_ARGMAX;
                    if h_lo < h_hi && w_lo < w_hi {
                        best_at = (h_lo * g.width + w_lo) as u32;
                        for h in h_lo..h_hi {
                            for (w, &v) in plane[h * g.width..][w_lo..w_hi].iter().enumerate() {
                                // Which tap wins is a coin toss on real data: a branch here
                                // mispredicts so often that random inputs ran 3x slower
                                // than sorted ones. Conditional moves instead, on the bit
                                // pattern (a float select still became a branch).
                                let take = beats(v, best);
                                best = f32::from_bits(select_unpredictable(take, v.to_bits(), best.to_bits()));
                                best_at = select_unpredictable(take, (h * g.width + w_lo + w) as u32, best_at);
                            }
                        }
                    }
                    y[oh * ow_n + ow] = best;
                    argmax[oh * ow_n + ow] = best_at;
                }
            }
        }
    };
    let planes = g.batch * g.channels;
    let threads = threads_for(planes, x.len());
    if threads <= 1 {
        pool_planes(0, y, argmax);
        return;
    }
    // y and argmax are split at the same plane boundaries, one pair per thread.
    let per = planes.div_ceil(threads);
    let runs = y.chunks_mut(per * out_plane).zip(argmax.chunks_mut(per * out_plane)).collect();
    crate::workers::run_each(runs, &|r, (y, a)| pool_planes(r * per, y, a));
}

/// Threads worth starting for `planes` independent planes and `work` elements touched.
fn threads_for(planes: usize, work: usize) -> usize {
    crate::simd::threads().min(planes).min(work / crate::im2col::MIN_WORK_PER_THREAD)
}

/// `dx` (overwritten) receives each `dy` at its argmax.
///
/// Windows overlap when stride < kernel, so one input can win several windows: the
/// gradients add up. Uses [`max_pool2d_backward_fast`] unless scalar is forced.
pub fn max_pool2d_backward(dy: &[f32], argmax: &[u32], dx: &mut [f32], geom: PoolGeom) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        max_pool2d_backward_scalar(dy, argmax, dx, geom)
    } else {
        max_pool2d_backward_fast(dy, argmax, dx, geom)
    }
}

/// The specification: `dx = 0; dx[plane + argmax[o]] += dy[o]`.
pub fn max_pool2d_backward_scalar(dy: &[f32], argmax: &[u32], dx: &mut [f32], g: PoolGeom) {
    debug_assert_eq!(dy.len(), g.out_len_total());
    debug_assert_eq!(argmax.len(), g.out_len_total());
    debug_assert_eq!(dx.len(), g.in_len());
    dx.fill(0.0);
    let (in_plane, out_plane) = (g.height * g.width, g.out_h() * g.out_w());
    for o in 0..dy.len() {
        if argmax[o] != NO_ARGMAX {
            dx[(o / out_plane) * in_plane + argmax[o] as usize] += dy[o];
        }
    }
}

/// Same result as [`max_pool2d_backward_scalar`], bit for bit (same order of additions
/// within each plane), with `(n, c)` planes split across threads when large.
pub fn max_pool2d_backward_fast(dy: &[f32], argmax: &[u32], dx: &mut [f32], g: PoolGeom) {
    debug_assert_eq!(dy.len(), g.out_len_total());
    debug_assert_eq!(argmax.len(), g.out_len_total());
    debug_assert_eq!(dx.len(), g.in_len());
    let (in_plane, out_plane) = (g.height * g.width, g.out_h() * g.out_w());
    for_each_block_run(dx, in_plane, dx.len() + dy.len(), |first, run| {
        for (i, dx) in run.chunks_mut(in_plane).enumerate() {
            dx.fill(0.0);
            let at = (first + i) * out_plane;
            for (&d, &a) in dy[at..at + out_plane].iter().zip(&argmax[at..at + out_plane]) {
                if a != NO_ARGMAX {
                    dx[a as usize] += d;
                }
            }
        }
    });
}
