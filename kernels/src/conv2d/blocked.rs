//! The blocked algorithm: the batch a block of whole images at a time ([`ImageBlocks`]:
//! as many images as fit a column block of [`COL_BLOCK_FLOATS`], so one block stays in
//! L2), that block's columns written by the fast im2col, one matmul on them. Blocks are
//! independent tasks of the worker pool; each participant keeps its own scratch, so a
//! call needs a few column blocks per thread, whatever the batch. When the batch has
//! too few blocks to go round the threads, the blocks run one after another and each
//! matmul / im2col uses the threads instead.

use super::{spread, sum_partials, Disjoint, WEIGHT_PARTIALS};
use crate::col2im::col2im_fast;
use crate::im2col::im2col_fast;
use crate::layout::swap_leading_axes_fast;
use crate::matmul::{matmul_with, MatmulDims};
use crate::{ConvGeom, SimdLevel};
use std::cell::RefCell;

/// Floats of one column block (512 KiB): with the matmul's packed panels it stays in a
/// 1-2 MiB L2. Larger blocks only add cache misses; smaller ones shrink the matmul's `n`.
pub const COL_BLOCK_FLOATS: usize = 1 << 17;

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
        spread(self.blocks)
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

/// [`super::conv2d`] by blocks. Per block: im2col of the block's images, one matmul
/// `W [OC, CK] x cols [CK, n*P]`, and for a block of several images the swap of
/// `[OC, n, P]` into the NCHW output (one image's result is its NCHW plane already).
pub(super) fn conv2d(
    level: SimdLevel,
    blocks: ImageBlocks,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    g: ConvGeom,
    oc_n: usize,
) {
    let (ck, pix) = (g.col_rows(), g.out_h() * g.out_w());
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

/// [`super::conv2d_input_grad`] by blocks. Per block: `dcols = W^T dY` on the block's
/// `dY` (swapped to `[OC, n*P]` when it holds several images), then col2im into the
/// block's images, which no other block touches.
pub(super) fn conv2d_input_grad(
    level: SimdLevel,
    blocks: ImageBlocks,
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    g: ConvGeom,
    oc_n: usize,
) {
    let (ck, pix) = (g.col_rows(), g.out_h() * g.out_w());
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

/// [`super::conv2d_weight_grad`] by blocks. Per block: its columns and
/// `dY_block cols^T`, added into partial sum `b % WEIGHT_PARTIALS` (one task per partial,
/// its blocks in order); the partials are then added in order, so the result does not
/// depend on which thread ran what.
pub(super) fn conv2d_weight_grad(
    level: SimdLevel,
    blocks: ImageBlocks,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    g: ConvGeom,
    oc_n: usize,
) {
    let (ck, pix) = (g.col_rows(), g.out_h() * g.out_w());
    let parts = blocks.blocks.min(WEIGHT_PARTIALS);
    sum_partials(dw, parts, &|t, part| {
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
    });
}
