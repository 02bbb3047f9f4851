//! [`PoolOps`] on the CPU: `kernels/src/pool.rs` and `upsample.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

impl PoolOps for CpuBackend {
    fn max_pool2d(&self, x: &CpuBuf, y: &CpuBuf, argmax: &CpuBuf, geom: PoolGeom) -> Result<()> {
        let x = read(x, geom.in_len(), "max_pool2d x")?;
        let mut y = write(y, geom.out_len_total(), "max_pool2d y")?;
        let mut am = write(argmax, geom.out_len_total(), "max_pool2d argmax")?;
        k::pool::max_pool2d(&x, &mut y, bytemuck::cast_slice_mut(&mut am), geom);
        Ok(())
    }

    fn max_pool2d_backward(&self, dy: &CpuBuf, argmax: &CpuBuf, dx: &CpuBuf, geom: PoolGeom) -> Result<()> {
        let dy = read(dy, geom.out_len_total(), "max_pool2d_backward dy")?;
        let am = read(argmax, geom.out_len_total(), "max_pool2d_backward argmax")?;
        k::pool::max_pool2d_backward(
            &dy,
            bytemuck::cast_slice(&am),
            &mut write(dx, geom.in_len(), "max_pool2d_backward dx")?,
            geom,
        );
        Ok(())
    }

    fn upsample2d(&self, x: &CpuBuf, y: &CpuBuf, geom: UpsampleGeom) -> Result<()> {
        let x = read(x, geom.in_len(), "upsample2d x")?;
        k::upsample::upsample2d(&x, &mut write(y, geom.out_len(), "upsample2d y")?, geom);
        Ok(())
    }

    fn upsample2d_backward(&self, dy: &CpuBuf, dx: &CpuBuf, geom: UpsampleGeom) -> Result<()> {
        let dy = read(dy, geom.out_len(), "upsample2d_backward dy")?;
        k::upsample::upsample2d_backward(&dy, &mut write(dx, geom.in_len(), "upsample2d_backward dx")?, geom);
        Ok(())
    }
}
