//! [`PoolOps`], the host side of `shaders/pool.wgsl` and `shaders/upsample.wgsl`: max
//! pooling and nearest-neighbour upsampling. The shape checks follow `conv.rs` (the
//! modules run without runtime bounds checks: every index is bounded here first).

use super::conv::{check_u32, count, mul, WG};
use super::{GpuBackend, GpuBuf, Kernel, PoolGeom, PoolOps, Shader, UpsampleGeom};
use crate::ensure_shape;
use crate::error::Result;

const POOL: Shader = Shader { name: "pool", source: include_str!("../../../shaders/pool.wgsl") };
const UPSAMPLE: Shader = Shader { name: "upsample", source: include_str!("../../../shaders/upsample.wgsl") };

const K_MAX_POOL: Kernel = Kernel::new(POOL, "max_pool2d", "rww");
const K_MAX_POOL_BW: Kernel = Kernel::new(POOL, "max_pool2d_backward", "rrw");
const K_UPSAMPLE: Kernel = Kernel::new(UPSAMPLE, "upsample2d", "rw");
const K_UPSAMPLE_BW: Kernel = Kernel::new(UPSAMPLE, "upsample2d_backward", "rw");

/// Validates a pooling geometry and returns `(out_h, out_w, in_len, out_len)`.
/// (`PoolGeom::out_h` underflows on a kernel larger than the padded image.)
fn pool_dims(g: &PoolGeom, op: &str) -> Result<(usize, usize, usize, usize)> {
    ensure_shape!(g.kernel > 0 && g.stride > 0, "{op}: kernel {} and stride {} must be at least 1", g.kernel, g.stride);
    for (size, axis) in [(g.height, "height"), (g.width, "width")] {
        let padded = mul(2, g.padding, op)?.saturating_add(size);
        // Window ends reach below padded + stride + kernel.
        check_u32(padded.saturating_add(g.stride).saturating_add(g.kernel), &format!("{op}: padded {axis}"))?;
        ensure_shape!(
            g.kernel <= padded,
            "{op}: kernel {} exceeds padded input {axis} {padded} ({size} + 2*{})",
            g.kernel,
            g.padding
        );
    }
    let (oh, ow) = (g.out_h(), g.out_w());
    let input = count(&[g.batch, g.channels, g.height, g.width], &format!("{op} input"))?;
    let output = count(&[g.batch, g.channels, oh, ow], &format!("{op} output"))?;
    Ok((oh, ow, input, output))
}

/// The pool.wgsl `PoolParams` struct.
fn pool_params(g: &PoolGeom, oh: usize, ow: usize) -> [u32; 9] {
    [
        g.batch as u32,
        g.channels as u32,
        g.height as u32,
        g.width as u32,
        g.kernel as u32,
        g.stride as u32,
        g.padding as u32,
        oh as u32,
        ow as u32,
    ]
}

/// Validates an upsampling geometry and returns `(in_len, out_len)`.
fn upsample_dims(g: &UpsampleGeom, op: &str) -> Result<(usize, usize)> {
    ensure_shape!(g.scale > 0, "{op}: scale must be at least 1");
    let input = count(&[g.batch, g.channels, g.height, g.width], &format!("{op} input"))?;
    let output = count(&[g.batch, g.channels, g.height, g.scale, g.width, g.scale], &format!("{op} output"))?;
    Ok((input, output))
}

fn upsample_params(g: &UpsampleGeom) -> [u32; 5] {
    [g.batch as u32, g.channels as u32, g.height as u32, g.width as u32, g.scale as u32]
}

impl PoolOps for GpuBackend {
    /// `argmax` is an f32 buffer holding u32 bit patterns; the shader binds it as `array<u32>`.
    fn max_pool2d(&self, x: &GpuBuf, y: &GpuBuf, argmax: &GpuBuf, geom: PoolGeom) -> Result<()> {
        let (oh, ow, input, output) = pool_dims(&geom, "max_pool2d")?;
        self.check_len(x, input, "max_pool2d x")?;
        self.check_len(y, output, "max_pool2d y")?;
        self.check_len(argmax, output, "max_pool2d argmax")?;
        self.dispatch_1d(&K_MAX_POOL, &[x, y, argmax], &pool_params(&geom, oh, ow), output, WG)
    }

    /// A gather over the windows containing each input (see pool.wgsl). The argmax values
    /// are only compared, never used as addresses, so garbage in `argmax` cannot read out of
    /// bounds.
    fn max_pool2d_backward(&self, dy: &GpuBuf, argmax: &GpuBuf, dx: &GpuBuf, geom: PoolGeom) -> Result<()> {
        let (oh, ow, input, output) = pool_dims(&geom, "max_pool2d_backward")?;
        self.check_len(dy, output, "max_pool2d_backward dy")?;
        self.check_len(argmax, output, "max_pool2d_backward argmax")?;
        self.check_len(dx, input, "max_pool2d_backward dx")?;
        self.dispatch_1d(&K_MAX_POOL_BW, &[dy, argmax, dx], &pool_params(&geom, oh, ow), input, WG)
    }

    fn upsample2d(&self, x: &GpuBuf, y: &GpuBuf, geom: UpsampleGeom) -> Result<()> {
        let (input, output) = upsample_dims(&geom, "upsample2d")?;
        self.check_len(x, input, "upsample2d x")?;
        self.check_len(y, output, "upsample2d y")?;
        self.dispatch_1d(&K_UPSAMPLE, &[x, y], &upsample_params(&geom), output, WG)
    }

    /// A gather: each input element sums its `scale x scale` block.
    fn upsample2d_backward(&self, dy: &GpuBuf, dx: &GpuBuf, geom: UpsampleGeom) -> Result<()> {
        let (input, output) = upsample_dims(&geom, "upsample2d_backward")?;
        self.check_len(dy, output, "upsample2d_backward dy")?;
        self.check_len(dx, input, "upsample2d_backward dx")?;
        self.dispatch_1d(&K_UPSAMPLE_BW, &[dy, dx], &upsample_params(&geom), input, WG)
    }
}
