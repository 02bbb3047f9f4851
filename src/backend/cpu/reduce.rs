//! [`ReduceOps`] on the CPU: `kernels/src/reduce.rs`.

use super::{read, scalar, set_scalar, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

impl ReduceOps for CpuBackend {
    fn bias_add(
        &self,
        x: &CpuBuf,
        bias: &CpuBuf,
        out: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer * channels * inner;
        let (x, bias) = (read(x, len, "bias_add x")?, read(bias, channels, "bias_add bias")?);
        k::reduce::bias_add(&x, &bias, &mut write(out, len, "bias_add out")?, outer, channels, inner);
        Ok(())
    }

    fn bias_grad(
        &self,
        dy: &CpuBuf,
        out: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
        accumulate: bool,
    ) -> Result<()> {
        let dy = read(dy, outer * channels * inner, "bias_grad dy")?;
        k::reduce::bias_grad(&dy, &mut write(out, channels, "bias_grad out")?, outer, channels, inner, accumulate);
        Ok(())
    }

    fn sum_all(&self, x: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let s = k::reduce::sum_all(&read(x, len, "sum_all x")?);
        set_scalar(out, s, "sum_all out")
    }

    fn add(&self, a: &CpuBuf, b: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let (a, b) = (read(a, len, "add a")?, read(b, len, "add b")?);
        k::reduce::add(&a, &b, &mut write(out, len, "add out")?);
        Ok(())
    }

    fn mul(&self, a: &CpuBuf, b: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let (a, b) = (read(a, len, "mul a")?, read(b, len, "mul b")?);
        k::reduce::mul(&a, &b, &mut write(out, len, "mul out")?);
        Ok(())
    }

    fn scale(&self, x: &CpuBuf, alpha: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "scale x")?;
        k::reduce::scale(&x, alpha, &mut write(out, len, "scale out")?);
        Ok(())
    }

    fn axpy(&self, alpha: f32, x: &CpuBuf, y: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "axpy x")?;
        k::reduce::axpy(alpha, &x, &mut write(y, len, "axpy y")?);
        Ok(())
    }

    fn scale_by_scalar(&self, x: &CpuBuf, s: &CpuBuf, alpha: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let s = scalar(s, "scale_by_scalar s")?;
        let x = read(x, len, "scale x")?;
        k::reduce::scale_by_scalar(&x, s, alpha, &mut write(out, len, "scale out")?);
        Ok(())
    }
}
