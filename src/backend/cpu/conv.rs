//! [`ConvOps`] on the CPU: `kernels/src/im2col.rs`, `col2im.rs` and `layout.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

impl ConvOps for CpuBackend {
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
