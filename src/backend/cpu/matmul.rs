//! [`MatmulOps`] on the CPU: `kernels/src/matmul.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

impl MatmulOps for CpuBackend {
    fn matmul(&self, a: &CpuBuf, b: &CpuBuf, c: &CpuBuf, dims: MatmulDims) -> Result<()> {
        if dims.batch == 0 || dims.m == 0 || dims.n == 0 {
            return Ok(());
        }
        let (a, b) = (read(a, dims.a_len(), "matmul A")?, read(b, dims.b_len(), "matmul B")?);
        let mut c = write(c, dims.c_len(), "matmul C")?;
        k::matmul::matmul(&a, &b, &mut c, dims);
        Ok(())
    }
}
