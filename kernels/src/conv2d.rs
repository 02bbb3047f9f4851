//! 2-D convolution, its input gradient and its weight gradient, over NCHW images with the
//! per-axis geometry of [`ConvGeom`] (no bias: the tape adds it with the activation).
//!
//! `conv_transpose2d` is the same three maps with the roles swapped (its forward is
//! [`conv2d_input_grad`], its input gradient [`conv2d`], its weight gradient
//! [`conv2d_weight_grad`] with image and output gradient exchanged), so these three serve
//! both layers.
//!
//! The fast versions never build the whole `[C*KH*KW, N*OH*OW]` column matrix: they take
//! the batch a block of images at a time ([`ImageBlocks`]: as many whole images as fit a
//! column block of [`COL_BLOCK_FLOATS`], so one block stays in L2), write that block's
//! columns with the fast im2col, and run one matmul on it. Blocks are independent tasks
//! of the worker pool; each participant keeps its own scratch, so the memory a call
//! needs is a few column blocks per thread, whatever the batch. When the batch has too
//! few blocks to go round the threads, the blocks run one after another and each
//! matmul / im2col uses the threads instead.

use crate::col2im::col2im_fast;
use crate::im2col::im2col_fast;
use crate::layout::swap_leading_axes_fast;
use crate::matmul::{matmul_with, MatmulDims};
use crate::{ConvGeom, SimdLevel};
use std::cell::RefCell;

/// Floats of one column block (512 KiB): with the matmul's packed panels it stays in a
/// 1-2 MiB L2. Larger blocks only add cache misses; smaller ones shrink the matmul's `n`.
pub const COL_BLOCK_FLOATS: usize = 1 << 17;

/// `y [N, OC, OH, OW]` (overwritten) `= sum_{c,ki,kj} w[oc, c, ki, kj] x[n, c, ih, iw]`
/// with `ih = oh*stride_h + ki*dil_h - pad_h` (likewise `iw`); taps in the padding add 0.
pub fn conv2d(x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_with(crate::simd::level(), x, w, y, g, out_channels)
}

/// The input gradient: `dx [N, C, H, W]` (overwritten) is the adjoint of [`conv2d`] in
/// `x` applied to `dy [N, OC, OH, OW]`.
pub fn conv2d_input_grad(dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_input_grad_with(crate::simd::level(), dy, w, dx, g, out_channels)
}

/// The weight gradient: `dw [OC, C, KH, KW]` (overwritten)
/// `= sum_{n,oh,ow} dy[n, oc, oh, ow] x[n, c, ih, iw]`.
pub fn conv2d_weight_grad(x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_weight_grad_with(crate::simd::level(), x, dy, dw, g, out_channels)
}

// ---- the specification ------------------------------------------------------------------

/// The input coordinate tap `k` of output `o` reads on one axis, or `None` in the padding.
#[inline]
fn tap(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    (o * stride + k * dil).checked_sub(pad).filter(|&i| i < size)
}

/// Calls `f(oh, ow, ih, iw, ki, kj)` for every output position and every kernel tap that
/// lands inside the image, in the order the specifications sum: output row-major, then
/// taps `(ki, kj)` row-major.
fn for_each_tap(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
    for oh in 0..g.out_h() {
        for ow in 0..g.out_w() {
            for ki in 0..g.kernel_h {
                let Some(ih) = tap(oh, ki, g.stride_h, g.pad_h, g.dil_h, g.height) else { continue };
                for kj in 0..g.kernel_w {
                    let Some(iw) = tap(ow, kj, g.stride_w, g.pad_w, g.dil_w, g.width) else { continue };
                    f(oh, ow, ih, iw, ki, kj);
                }
            }
        }
    }
}

/// [`conv2d`] straight from the definition: each output sums its taps over channels
/// `c`, then `(ki, kj)`, in f32.
pub fn conv2d_scalar(x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, w, y, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    y.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let out = &mut y[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&x[(n * g.channels + c) * plane_in..], &w[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    out[oh * g.out_w() + ow] += k[ki * g.kernel_w + kj] * img[ih * g.width + iw];
                });
            }
        }
    }
}

/// [`conv2d_input_grad`] from the definition: every `dy` element scatters `w * dy` onto
/// the inputs its taps read (the transpose of [`conv2d_scalar`]'s loops).
pub fn conv2d_input_grad_scalar(dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(dx, w, dy, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    dx.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let grad = &dy[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&mut dx[(n * g.channels + c) * plane_in..], &w[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    img[ih * g.width + iw] += k[ki * g.kernel_w + kj] * grad[oh * g.out_w() + ow];
                });
            }
        }
    }
}

/// [`conv2d_weight_grad`] from the definition.
pub fn conv2d_weight_grad_scalar(x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, dw, dy, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    dw.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let grad = &dy[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&x[(n * g.channels + c) * plane_in..], &mut dw[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    k[ki * g.kernel_w + kj] += grad[oh * g.out_w() + ow] * img[ih * g.width + iw];
                });
            }
        }
    }
}

/// Panics unless the geometry is well formed and image, weight and output hold exactly
/// what it says (`[N,C,H,W]`, `[OC,C,KH,KW]`, `[N,OC,OH,OW]`).
fn check_lens(image: &[f32], w: &[f32], out: &[f32], g: &ConvGeom, oc_n: usize) {
    if let Err(why) = g.check() {
        panic!("conv2d: {why}");
    }
    assert_eq!(image.len(), g.image_len(), "conv2d: image length for {g:?}");
    assert_eq!(w.len(), oc_n * g.col_rows(), "conv2d: weight length for {oc_n} output channels");
    assert_eq!(out.len(), g.batch * oc_n * g.out_h() * g.out_w(), "conv2d: output length for {g:?}");
}

// ---- the blocked versions ---------------------------------------------------------------

/// The batch cut into blocks of whole images whose columns fit one column block: the
/// plan the blocked versions follow (public so that `autoenc bench` can show it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageBlocks {
    /// Images per block (the last block may hold fewer).
    pub per_block: usize,
    pub blocks: usize,
}

impl std::fmt::Display for ImageBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.spread() { "blocks over the pool" } else { "threads inside each block" };
        write!(f, "blocked im2col+gemm, {} x {} img, {how}", self.blocks, self.per_block)
    }
}

impl ImageBlocks {
    pub fn new(g: &ConvGeom) -> Self {
        let per_image = (g.col_rows() * g.out_h() * g.out_w()).max(1);
        let per_block = (COL_BLOCK_FLOATS / per_image).clamp(1, g.batch.max(1));
        ImageBlocks { per_block, blocks: g.batch.div_ceil(per_block) }
    }

    /// First image and image count of block `b`, and its geometry.
    fn block(&self, g: &ConvGeom, b: usize) -> (usize, ConvGeom) {
        let first = b * self.per_block;
        (first, ConvGeom { batch: self.per_block.min(g.batch - first), ..*g })
    }

    /// Whether the blocks are pool tasks (enough of them to keep every thread busy).
    fn spread(&self) -> bool {
        self.blocks >= 2 * crate::workers::slots()
    }

    /// Runs `f(block)` on every block: as pool tasks when [`Self::spread`] (the kernels
    /// inside then run on their task's thread), else in turn.
    fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.spread() {
            crate::workers::run(self.blocks, &|_, b| f(b));
        } else {
            (0..self.blocks).for_each(f);
        }
    }
}

thread_local! {
    /// Per-thread scratch: column block, `[OC, n*P]` block and spare, grown on demand.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` with two scratch slices of `a` and `b` floats (contents unspecified).
fn with_scratch<R>(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|s| {
        let [sa, sb] = &mut *s.borrow_mut();
        for (v, len) in [(&mut *sa, a), (&mut *sb, b)] {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        }
        f(&mut sa[..a], &mut sb[..b])
    })
}

/// A shared `&mut [f32]` that blocks write disjoint ranges of (each block owns its images).
struct Disjoint(*mut f32, usize);
unsafe impl Sync for Disjoint {}
impl Disjoint {
    /// # Safety
    /// No two live slices may overlap.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.1);
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// [`conv2d`] with its matmuls at `level`. Per block: im2col of the block's images, one
/// matmul `W [OC, CK] x cols [CK, n*P]`, and for a block of several images the swap of
/// `[OC, n, P]` into the NCHW output (one image's result is its NCHW plane already).
pub fn conv2d_with(level: SimdLevel, x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, w, y, &g, oc_n);
    if level == SimdLevel::Scalar {
        return conv2d_scalar(x, w, y, g, oc_n);
    }
    let (blocks, ck, pix) = (ImageBlocks::new(&g), g.col_rows(), g.out_h() * g.out_w());
    let out = Disjoint(y.as_mut_ptr(), y.len());
    blocks.run(&|b| {
        let (first, bg) = blocks.block(&g, b);
        let np = bg.batch * pix;
        let x_block = &x[first * g.channels * g.height * g.width..][..bg.image_len()];
        // SAFETY: block b alone writes the outputs of its images.
        let y_block = unsafe { out.slice(first * oc_n * pix, bg.batch * oc_n * pix) };
        let swap_len = if bg.batch > 1 { oc_n * np } else { 0 };
        with_scratch(ck * np, swap_len, |cols, ycn| {
            im2col_fast(x_block, cols, bg);
            if bg.batch == 1 {
                matmul_with(level, w, cols, y_block, MatmulDims::new(oc_n, ck, np));
            } else {
                matmul_with(level, w, cols, ycn, MatmulDims::new(oc_n, ck, np));
                swap_leading_axes_fast(ycn, y_block, oc_n, bg.batch, pix);
            }
        });
    });
}

/// [`conv2d_input_grad`] with its matmuls at `level`. Per block: `dcols = W^T dY` on the
/// block's `dY` (swapped to `[OC, n*P]` when it holds several images), then col2im into
/// the block's images, which no other block touches.
pub fn conv2d_input_grad_with(level: SimdLevel, dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(dx, w, dy, &g, oc_n);
    if level == SimdLevel::Scalar {
        return conv2d_input_grad_scalar(dy, w, dx, g, oc_n);
    }
    let (blocks, ck, pix) = (ImageBlocks::new(&g), g.col_rows(), g.out_h() * g.out_w());
    let out = Disjoint(dx.as_mut_ptr(), dx.len());
    blocks.run(&|b| {
        let (first, bg) = blocks.block(&g, b);
        let np = bg.batch * pix;
        let dy_block = &dy[first * oc_n * pix..][..bg.batch * oc_n * pix];
        // SAFETY: block b alone writes the gradients of its images.
        let dx_block = unsafe { out.slice(first * g.channels * g.height * g.width, bg.image_len()) };
        let swap_len = if bg.batch > 1 { oc_n * np } else { 0 };
        with_scratch(ck * np, swap_len, |dcols, dycn| {
            let dims = MatmulDims::new(ck, oc_n, np).trans_a(true);
            if bg.batch == 1 {
                matmul_with(level, w, dy_block, dcols, dims);
            } else {
                swap_leading_axes_fast(dy_block, dycn, bg.batch, oc_n, pix);
                matmul_with(level, w, dycn, dcols, dims);
            }
            col2im_fast(dcols, dx_block, bg, false);
        });
    });
}

/// Partial sums of the weight gradient: block `b` adds into partial `b % WEIGHT_PARTIALS`.
/// A constant, not the thread count, so that the result is the same on every machine;
/// 16 keeps up to 8 threads busy.
const WEIGHT_PARTIALS: usize = 16;

/// [`conv2d_weight_grad`] with its matmuls at `level`. Per block: its columns and
/// `dY_block cols^T`, added into partial sum `b % WEIGHT_PARTIALS` (one pool task per
/// partial, its blocks in order); the partials are then added in order, so the result
/// does not depend on which thread ran what.
pub fn conv2d_weight_grad_with(level: SimdLevel, x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, dw, dy, &g, oc_n);
    if level == SimdLevel::Scalar {
        return conv2d_weight_grad_scalar(x, dy, dw, g, oc_n);
    }
    let (blocks, ck, pix) = (ImageBlocks::new(&g), g.col_rows(), g.out_h() * g.out_w());
    let (wlen, parts) = (oc_n * ck, blocks.blocks.min(WEIGHT_PARTIALS));
    let mut partials = vec![0.0f32; wlen * parts.saturating_sub(1)];
    // Partial 0 is dw itself.
    let (head, rest) = (Disjoint(dw.as_mut_ptr(), wlen), Disjoint(partials.as_mut_ptr(), partials.len()));
    let task = |t: usize| {
        // SAFETY: task t alone writes partial t.
        let part = unsafe {
            if t == 0 {
                head.slice(0, wlen)
            } else {
                rest.slice((t - 1) * wlen, wlen)
            }
        };
        for b in (t..blocks.blocks).step_by(parts) {
            let (first, bg) = blocks.block(&g, b);
            let np = bg.batch * pix;
            let x_block = &x[first * g.channels * g.height * g.width..][..bg.image_len()];
            let dy_block = &dy[first * oc_n * pix..][..bg.batch * oc_n * pix];
            let swap_len = if bg.batch > 1 { oc_n * np } else { 0 };
            with_scratch(ck * np, swap_len, |cols, dycn| {
                im2col_fast(x_block, cols, bg);
                let dims = MatmulDims::new(oc_n, np, ck).trans_b(true).accumulate(b >= parts);
                if bg.batch == 1 {
                    matmul_with(level, dy_block, cols, part, dims);
                } else {
                    swap_leading_axes_fast(dy_block, dycn, bg.batch, oc_n, pix);
                    matmul_with(level, dycn, cols, part, dims);
                }
            });
        }
    };
    if parts >= 2 * crate::workers::slots() {
        crate::workers::run(parts, &|_, t| task(t));
    } else {
        (0..parts).for_each(task);
    }
    for part in partials.chunks_exact(wlen) {
        for (d, &p) in dw.iter_mut().zip(part) {
            *d += p;
        }
    }
}
