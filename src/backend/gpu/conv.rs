//! [`ConvOps`], the host side of `shaders/im2col.wgsl`, `shaders/col2im.wgsl` and
//! `shaders/layout.wgsl`: im2col, col2im and swap_leading_axes (pooling and upsampling are
//! in `pool.rs`).
//!
//! The modules run without runtime bounds checks, so every index a shader computes is
//! bounded here first: the geometry must be well formed (no zero kernel or stride, a
//! window that fits the padded image), every extent must fit the shaders' u32
//! arithmetic, and every buffer must hold what the op reads or writes.

use super::{ConvGeom, ConvOps, GpuBackend, GpuBuf, Kernel, Shader};
use crate::ensure_shape;
use crate::error::Result;

const IM2COL: Shader = Shader { name: "im2col", source: include_str!("../../../shaders/im2col.wgsl") };
const COL2IM: Shader = Shader { name: "col2im", source: include_str!("../../../shaders/col2im.wgsl") };
const LAYOUT: Shader = Shader { name: "layout", source: include_str!("../../../shaders/layout.wgsl") };

const K_IM2COL: Kernel = Kernel::new(IM2COL, "im2col", "rw");
const K_SWAP: Kernel = Kernel::new(LAYOUT, "swap_leading_axes", "rw");
const K_COL2IM: Kernel = Kernel::new(COL2IM, "col2im", "rw");

/// Invocations per workgroup of every kernel here and in `pool.rs` (one element each).
pub(super) const WG: usize = 256;

/// `a * b` or a shape error when it overflows `usize`.
pub(super) fn mul(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| crate::error::Error::Shape(format!("{what}: size overflows")))
}

/// The shaders index with u32: every element count and coordinate must stay below 2^32.
pub(super) fn check_u32(n: usize, what: &str) -> Result<()> {
    ensure_shape!(n < u32::MAX as usize, "{what}: {n} exceeds the GPU kernels' u32 indexing");
    Ok(())
}

/// Product of `dims`, checked against overflow and the u32 index range.
pub(super) fn count(dims: &[usize], what: &str) -> Result<usize> {
    let n = dims.iter().try_fold(1usize, |acc, &d| mul(acc, d, what))?;
    check_u32(n, what)?;
    Ok(n)
}

/// Validates a conv geometry and returns `(out_h, out_w, image_len, col_len)`.
///
/// `ConvGeom::out_h` underflows (panics) on a window larger than the padded image, so
/// [`ConvGeom::check`] runs before it is called.
fn conv_dims(g: &ConvGeom, op: &str) -> Result<(usize, usize, usize, usize)> {
    g.check().map_err(|why| crate::error::Error::Shape(format!("{op}: {why}")))?;
    for (size, pad, stride, axis) in
        [(g.height, g.pad_h, g.stride_h, "height"), (g.width, g.pad_w, g.stride_w, "width")]
    {
        // The largest padded coordinate a shader forms is below size + 2*pad + stride.
        let padded = mul(2, pad, op)?.saturating_add(size);
        check_u32(padded.saturating_add(stride), &format!("{op}: padded {axis}"))?;
    }
    let (oh, ow) = (g.out_h(), g.out_w());
    let image = count(&[g.batch, g.channels, g.height, g.width], &format!("{op} image"))?;
    let cols = count(&[g.channels, g.kernel_h, g.kernel_w, g.batch, oh, ow], &format!("{op} columns"))?;
    Ok((oh, ow, image, cols))
}

/// The `ConvParams` struct shared by im2col.wgsl and col2im.wgsl.
pub(super) fn conv_params(g: &ConvGeom, oh: usize, ow: usize, accumulate: bool) -> [u32; 15] {
    [
        g.batch as u32,
        g.channels as u32,
        g.height as u32,
        g.width as u32,
        g.kernel_h as u32,
        g.kernel_w as u32,
        g.stride_h as u32,
        g.stride_w as u32,
        g.pad_h as u32,
        g.pad_w as u32,
        g.dil_h as u32,
        g.dil_w as u32,
        oh as u32,
        ow as u32,
        accumulate as u32,
    ]
}

impl ConvOps for GpuBackend {
    fn conv2d_algorithm(&self, geom: ConvGeom, out_channels: usize) -> String {
        self.conv2d_describe(geom, out_channels)
    }

    fn conv2d(&self, x: &GpuBuf, w: &GpuBuf, y: &GpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        self.conv2d_gemm(x, w, y, geom, oc)
    }

    fn conv2d_input_grad(&self, dy: &GpuBuf, w: &GpuBuf, dx: &GpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        self.conv2d_input_grad_gemm(dy, w, dx, geom, oc)
    }

    fn conv2d_weight_grad(&self, x: &GpuBuf, dy: &GpuBuf, dw: &GpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        self.conv2d_weight_grad_gemm(x, dy, dw, geom, oc)
    }

    fn im2col(&self, x: &GpuBuf, cols: &GpuBuf, geom: ConvGeom) -> Result<()> {
        let (oh, ow, image, col_len) = conv_dims(&geom, "im2col")?;
        self.check_len(x, image, "im2col x")?;
        self.check_len(cols, col_len, "im2col cols")?;
        self.dispatch_1d(&K_IM2COL, &[x, cols], &conv_params(&geom, oh, ow, false), col_len, WG)
    }

    /// A gather (one invocation per image element), see col2im.wgsl.
    fn col2im(&self, cols: &GpuBuf, x: &GpuBuf, geom: ConvGeom, accumulate: bool) -> Result<()> {
        let (oh, ow, image, col_len) = conv_dims(&geom, "col2im")?;
        self.check_len(cols, col_len, "col2im cols")?;
        self.check_len(x, image, "col2im x")?;
        self.dispatch_1d(&K_COL2IM, &[cols, x], &conv_params(&geom, oh, ow, accumulate), image, WG)
    }

    fn swap_leading_axes(&self, x: &GpuBuf, out: &GpuBuf, a: usize, b: usize, inner: usize) -> Result<()> {
        let len = count(&[a, b, inner], "swap_leading_axes")?;
        self.check_len(x, len, "swap_leading_axes x")?;
        self.check_len(out, len, "swap_leading_axes out")?;
        self.dispatch_1d(&K_SWAP, &[x, out], &[a as u32, b as u32, inner as u32], len, WG)
    }
}

#[cfg(test)]
mod tests {
    use super::super::GpuBackend;
    use crate::backend::prelude::*;
    use crate::backend::{ConvGeom, PoolGeom, UpsampleGeom};
    use crate::error::Error;

    fn gpu() -> Option<GpuBackend> {
        super::super::strict::gpu_or_skip("GPU conv unit tests")
    }

    fn conv(height: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> ConvGeom {
        ConvGeom::square(1, 1, height, height, (kernel, kernel), stride, padding, dilation)
    }

    fn is_shape<T: std::fmt::Debug>(r: crate::error::Result<T>) -> bool {
        matches!(r, Err(Error::Shape(_)))
    }

    /// Geometries that would underflow `out_h` (a panic) or divide by zero are errors.
    #[test]
    fn bad_geometry_and_short_buffers_are_shape_errors() {
        let Some(g) = gpu() else { return };
        let (x, cols) = (g.zeros(100, "x").unwrap(), g.zeros(10_000, "cols").unwrap());
        assert!(is_shape(g.im2col(&x, &cols, conv(5, 9, 1, 1, 1)))); // 9 > 5 + 2
        assert!(is_shape(g.im2col(&x, &cols, conv(5, 3, 1, 0, 3)))); // dilated span 7 > 5
        assert!(is_shape(g.im2col(&x, &cols, conv(5, 3, 0, 1, 1))));
        assert!(is_shape(g.col2im(&cols, &x, conv(5, 3, 1, 1, 0), false)));
        assert!(is_shape(g.im2col(&x, &cols, ConvGeom { stride_w: 0, ..conv(5, 3, 1, 1, 1) })));
        assert!(is_shape(g.im2col(&x, &cols, ConvGeom { pad_w: 0, ..conv(5, 7, 1, 1, 1) }))); // 7 > 5 + 0 wide
        assert!(is_shape(g.im2col(&x, &cols, conv(11, 3, 1, 1, 1)))); // x holds 100 < 121
        assert!(is_shape(g.im2col(&x, &x, conv(3, 1, 1, 0, 1)))); // output aliases input
        let pool = |kernel, stride, padding| PoolGeom {
            batch: 1,
            channels: 1,
            height: 5,
            width: 5,
            kernel,
            stride,
            padding,
            ceil_mode: true,
        };
        let (y, am) = (g.zeros(100, "y").unwrap(), g.zeros(100, "argmax").unwrap());
        assert!(is_shape(g.max_pool2d(&x, &y, &am, pool(8, 2, 1))));
        assert!(is_shape(g.max_pool2d(&x, &y, &am, pool(2, 0, 0))));
        assert!(is_shape(g.max_pool2d_backward(&y, &am, &x, pool(0, 1, 0))));
        let short = g.zeros(3, "short").unwrap();
        assert!(is_shape(g.max_pool2d(&x, &y, &short, pool(2, 2, 0))));
        let up = |scale| UpsampleGeom { batch: 1, channels: 1, height: 5, width: 5, scale };
        assert!(is_shape(g.upsample2d(&x, &y, up(0))));
        assert!(is_shape(g.upsample2d(&x, &y, up(3)))); // y holds 100 < 225
        assert!(is_shape(g.swap_leading_axes(&x, &y, 7, 3, 5)));
        assert!(is_shape(g.swap_leading_axes(&x, &y, usize::MAX, 3, 5)));
        g.flush().unwrap();
    }

    /// More than 65535 * 256 elements: the grid's second dimension must be folded in.
    #[test]
    fn swap_over_65535_workgroups() {
        let Some(g) = gpu() else { return };
        let (a, b, inner) = (2, 3, 2_796_203); // 16_777_218 > 65_535 * 256 elements
        let n = a * b * inner;
        let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let x = g.upload(&data, "x").unwrap();
        let out = g.zeros(n, "out").unwrap();
        g.fill(&out, f32::NAN).unwrap();
        g.swap_leading_axes(&x, &out, a, b, inner).unwrap();
        let v = g.download(&out).unwrap();
        for (j, i, k) in [(0, 0, 0), (2, 1, inner - 1), (1, 0, 12_345), (2, 1, inner - 2)] {
            assert_eq!(v[(j * a + i) * inner + k], data[(i * b + j) * inner + k], "out[{j},{i},{k}]");
        }
        assert!(v.iter().all(|e| !e.is_nan()));
    }
}
