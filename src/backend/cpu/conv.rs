//! [`ConvOps`] on the CPU: `kernels/src/conv2d.rs`, `im2col.rs`, `col2im.rs` and `layout.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

/// `(image, weight, output)` lengths of a conv, or the shape error naming why it has none.
fn conv_lens(g: &ConvGeom, oc: usize, op: &str) -> Result<(usize, usize, usize)> {
    g.check().map_err(|why| crate::error::Error::Shape(format!("{op}: {why}")))?;
    Ok((g.image_len(), oc * g.col_rows(), g.batch * oc * g.out_h() * g.out_w()))
}

impl ConvOps for CpuBackend {
    fn conv2d_algorithm(&self, geom: ConvGeom, out_channels: usize) -> String {
        k::conv2d::Algorithm::for_shape(&geom, out_channels).to_string()
    }

    fn conv2d(&self, x: &CpuBuf, w: &CpuBuf, y: &CpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        let (xl, wl, yl) = conv_lens(&geom, oc, "conv2d")?;
        let (x, w) = (read(x, xl, "conv2d x")?, read(w, wl, "conv2d w")?);
        k::conv2d::conv2d(&x, &w, &mut write(y, yl, "conv2d y")?, geom, oc);
        Ok(())
    }

    fn conv2d_input_grad(&self, dy: &CpuBuf, w: &CpuBuf, dx: &CpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        let (xl, wl, yl) = conv_lens(&geom, oc, "conv2d_input_grad")?;
        let (dy, w) = (read(dy, yl, "conv2d_input_grad dy")?, read(w, wl, "conv2d_input_grad w")?);
        k::conv2d::conv2d_input_grad(&dy, &w, &mut write(dx, xl, "conv2d_input_grad dx")?, geom, oc);
        Ok(())
    }

    fn conv2d_weight_grad(&self, x: &CpuBuf, dy: &CpuBuf, dw: &CpuBuf, geom: ConvGeom, oc: usize) -> Result<()> {
        let (xl, wl, yl) = conv_lens(&geom, oc, "conv2d_weight_grad")?;
        let (x, dy) = (read(x, xl, "conv2d_weight_grad x")?, read(dy, yl, "conv2d_weight_grad dy")?);
        k::conv2d::conv2d_weight_grad(&x, &dy, &mut write(dw, wl, "conv2d_weight_grad dw")?, geom, oc);
        Ok(())
    }

    fn im2col(&self, x: &CpuBuf, cols: &CpuBuf, geom: ConvGeom) -> Result<()> {
        let x = read(x, geom.image_len(), "im2col x")?;
        k::im2col::im2col(&x, &mut write(cols, geom.col_rows() * geom.col_cols(), "im2col cols")?, geom);
        Ok(())
    }

    fn col2im(&self, cols: &CpuBuf, x: &CpuBuf, geom: ConvGeom, accumulate: bool) -> Result<()> {
        let c = read(cols, geom.col_rows() * geom.col_cols(), "col2im cols")?;
        k::col2im::col2im(&c, &mut write(x, geom.image_len(), "col2im x")?, geom, accumulate);
        Ok(())
    }

    fn swap_leading_axes(&self, x: &CpuBuf, out: &CpuBuf, a: usize, b: usize, inner: usize) -> Result<()> {
        let len = a * b * inner;
        let x = read(x, len, "swap_leading_axes x")?;
        k::layout::swap_leading_axes(&x, &mut write(out, len, "swap_leading_axes out")?, a, b, inner);
        Ok(())
    }
}
