//! [`OptimOps`] on the CPU: `kernels/src/optim.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

impl OptimOps for CpuBackend {
    fn sgd_update(&self, param: &CpuBuf, grad: &CpuBuf, velocity: &CpuBuf, len: usize, p: SgdParams) -> Result<()> {
        let g = read(grad, len, "sgd grad")?;
        let mut v = write(velocity, len, "sgd velocity")?;
        k::optim::sgd_update(&mut write(param, len, "sgd param")?, &g, &mut v, p);
        Ok(())
    }

    fn adam_update(
        &self,
        param: &CpuBuf,
        grad: &CpuBuf,
        m: &CpuBuf,
        v: &CpuBuf,
        len: usize,
        p: AdamParams,
    ) -> Result<()> {
        let g = read(grad, len, "adam grad")?;
        let mut ms = write(m, len, "adam m")?;
        let mut vs = write(v, len, "adam v")?;
        k::optim::adam_update(&mut write(param, len, "adam param")?, &g, &mut ms, &mut vs, p);
        Ok(())
    }
}
