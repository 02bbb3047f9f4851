//! Host side of `shaders/conv2d.wgsl`: conv2d, its input gradient and its weight gradient
//! as implicit GEMMs (no column matrix; see the shader's header).
//!
//! Like the other conv kernels the shader runs without bounds checks on the buffers, so
//! everything it indexes is bounded here first: a well-formed geometry, every extent
//! within u32, every buffer as long as the op reads or writes.

use super::conv::{check_u32, conv_params, count};
use super::{ConvGeom, GpuBackend, GpuBuf, Kernel, Shader};
use crate::backend::{Core, ReduceOps};
use crate::error::{Error, Result};

const CONV2D: Shader = Shader { name: "conv2d", source: include_str!("../../../shaders/conv2d.wgsl") };
const K_FORWARD: Kernel = Kernel::new(CONV2D, "conv2d", "rrw");
const K_INPUT_GRAD: Kernel = Kernel::new(CONV2D, "conv2d_input_grad", "rrw");
const K_WEIGHT_GRAD: Kernel = Kernel::new(CONV2D, "conv2d_weight_grad", "rrw");

/// Side of the square output tile one workgroup computes.
const TILE: usize = 64;

/// K elements each split of the weight gradient sums: enough to amortize a tile's start,
/// few enough that a batch's `N*OH*OW` spreads over many workgroups.
const WEIGHT_K_CHUNK: usize = 4096;

/// Lengths `(image, weight, output)` of a conv, checked; shape errors name `op`.
struct Lens {
    image: usize,
    weight: usize,
    output: usize,
}

fn lens(g: &ConvGeom, oc: usize, op: &str) -> Result<Lens> {
    g.check().map_err(|why| Error::Shape(format!("{op}: {why}")))?;
    for (size, pad, stride, dil, k, axis) in [
        (g.height, g.pad_h, g.stride_h, g.dil_h, g.kernel_h, "height"),
        (g.width, g.pad_w, g.stride_w, g.dil_w, g.kernel_w, "width"),
    ] {
        // The largest padded coordinates the shader forms: o*stride + k*dil, and i + pad.
        let padded = size.saturating_add(pad.saturating_mul(2));
        check_u32(
            padded.saturating_add(stride).saturating_add(dil.saturating_mul(k)),
            &format!("{op}: padded {axis}"),
        )?;
    }
    ensure_oc(oc, op)?;
    Ok(Lens {
        image: count(&[g.batch, g.channels, g.height, g.width], &format!("{op} image"))?,
        weight: count(&[oc, g.channels, g.kernel_h, g.kernel_w], &format!("{op} weight"))?,
        output: count(&[g.batch, oc, g.out_h(), g.out_w()], &format!("{op} output"))?,
    })
}

fn ensure_oc(oc: usize, op: &str) -> Result<()> {
    crate::ensure_shape!(oc > 0, "{op}: no output channels");
    Ok(())
}

/// The shader's `ConvParams`: the geometry words im2col.wgsl and col2im.wgsl share, then
/// the output channels and the weight gradient's K chunk.
fn params(g: &ConvGeom, oc: usize, k_chunk: usize) -> [u32; 16] {
    let shared = conv_params(g, g.out_h(), g.out_w(), false);
    std::array::from_fn(|i| match i {
        0..14 => shared[i],
        14 => oc as u32,
        _ => k_chunk as u32,
    })
}

impl GpuBackend {
    /// A grid of `rows x cols` tiles; column tiles past the per-dimension limit fold into z.
    fn tile_grid(&self, rows: usize, cols: usize) -> Result<[u32; 3]> {
        let max = self.max_groups() as usize;
        let (ty, tx) = (rows.div_ceil(TILE), cols.div_ceil(TILE));
        let x = tx.clamp(1, max);
        let z = tx.div_ceil(x);
        if ty > max || z > max {
            return Err(Error::Gpu(format!("conv2d: {ty} x {tx} tiles exceed the {max}-per-dimension grid")));
        }
        Ok([x as u32, ty as u32, z as u32])
    }

    pub(super) fn conv2d_gemm(&self, x: &GpuBuf, w: &GpuBuf, y: &GpuBuf, g: ConvGeom, oc: usize) -> Result<()> {
        let l = lens(&g, oc, "conv2d")?;
        self.check_len(x, l.image, "conv2d x")?;
        self.check_len(w, l.weight, "conv2d w")?;
        self.check_len(y, l.output, "conv2d y")?;
        let grid = self.tile_grid(oc, g.batch * g.out_h() * g.out_w())?;
        self.dispatch(&K_FORWARD, &[x, w, y], &params(&g, oc, 0), grid)
    }

    pub(super) fn conv2d_input_grad_gemm(
        &self,
        dy: &GpuBuf,
        w: &GpuBuf,
        dx: &GpuBuf,
        g: ConvGeom,
        oc: usize,
    ) -> Result<()> {
        let l = lens(&g, oc, "conv2d_input_grad")?;
        self.check_len(dy, l.output, "conv2d_input_grad dy")?;
        self.check_len(w, l.weight, "conv2d_input_grad w")?;
        self.check_len(dx, l.image, "conv2d_input_grad dx")?;
        let grid = self.tile_grid(g.channels, g.batch * g.height * g.width)?;
        self.dispatch(&K_INPUT_GRAD, &[dy, w, dx], &params(&g, oc, 0), grid)
    }

    /// The algorithm, for `autoenc bench`.
    pub(super) fn conv2d_describe(&self, g: ConvGeom, _oc: usize) -> String {
        let splits = self.weight_splits(&g);
        format!("implicit gemm {TILE}x{TILE} tiles, weight grad K split {splits}")
    }

    /// Splits of the weight gradient's K = `batch*OH*OW`.
    fn weight_splits(&self, g: &ConvGeom) -> usize {
        (g.batch * g.out_h() * g.out_w()).div_ceil(WEIGHT_K_CHUNK).clamp(1, self.max_groups() as usize)
    }

    /// Split over K (`batch*OH*OW`) in chunks of [`WEIGHT_K_CHUNK`]: one split writes `dw`
    /// directly; several write partial sums that one column-sum pass adds into `dw`.
    pub(super) fn conv2d_weight_grad_gemm(
        &self,
        x: &GpuBuf,
        dy: &GpuBuf,
        dw: &GpuBuf,
        g: ConvGeom,
        oc: usize,
    ) -> Result<()> {
        let l = lens(&g, oc, "conv2d_weight_grad")?;
        self.check_len(x, l.image, "conv2d_weight_grad x")?;
        self.check_len(dy, l.output, "conv2d_weight_grad dy")?;
        self.check_len(dw, l.weight, "conv2d_weight_grad dw")?;
        let k_total = g.batch * g.out_h() * g.out_w();
        let splits = self.weight_splits(&g);
        let chunk = k_total.div_ceil(splits);
        let grid = |z: usize| -> [u32; 3] { [g.col_rows().div_ceil(TILE) as u32, oc.div_ceil(TILE) as u32, z as u32] };
        if splits == 1 {
            return self.dispatch(&K_WEIGHT_GRAD, &[x, dy, dw], &params(&g, oc, chunk), grid(1));
        }
        let partials = self.empty(count(&[splits, l.weight], "conv2d_weight_grad partials")?, "conv2d dW partials")?;
        self.dispatch(&K_WEIGHT_GRAD, &[x, dy, &partials], &params(&g, oc, chunk), grid(splits))?;
        self.bias_grad(&partials, dw, splits, l.weight, 1, false)
    }
}
