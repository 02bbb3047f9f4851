//! [`LossOps`] on the CPU: `kernels/src/loss.rs`.

use super::{read, scalar, set_scalar, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl LossOps for CpuBackend {
    fn loss_forward(
        &self,
        loss: Loss,
        pred: &CpuBuf,
        target: &CpuBuf,
        out: &CpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let (p, t) = (read(pred, rows * cols, "loss pred")?, read(target, rows * cols, "loss target")?);
        let v = k::loss::loss_forward(loss, &p, &t, rows, cols);
        drop((p, t));
        set_scalar(out, v, "loss out")
    }

    fn loss_backward(
        &self,
        loss: Loss,
        pred: &CpuBuf,
        target: &CpuBuf,
        dout: &CpuBuf,
        dpred: &CpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let g = scalar(dout, "loss_backward dout")?;
        let (p, t) =
            (read(pred, rows * cols, "loss_backward pred")?, read(target, rows * cols, "loss_backward target")?);
        k::loss::loss_backward(loss, &p, &t, g, &mut write(dpred, rows * cols, "loss_backward dpred")?, rows, cols);
        Ok(())
    }

    fn l1_penalty(&self, x: &CpuBuf, out: &CpuBuf, rows: usize, cols: usize) -> Result<()> {
        let v = k::loss::l1_penalty(&read(x, rows * cols, "l1 x")?, rows, cols);
        set_scalar(out, v, "l1 out")
    }

    fn l1_penalty_backward(&self, x: &CpuBuf, dout: &CpuBuf, dx: &CpuBuf, rows: usize, cols: usize) -> Result<()> {
        let g = scalar(dout, "l1_backward dout")?;
        let x = read(x, rows * cols, "l1_backward x")?;
        k::loss::l1_penalty_backward(&x, g, &mut write(dx, rows * cols, "l1_backward dx")?, rows, cols);
        Ok(())
    }

    fn kl_sparsity(&self, rho_hat: &CpuBuf, rho: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let v = k::loss::kl_sparsity(&read(rho_hat, len, "kl rho_hat")?, rho);
        set_scalar(out, v, "kl out")
    }

    fn kl_sparsity_backward(
        &self,
        rho_hat: &CpuBuf,
        rho: f32,
        dout: &CpuBuf,
        drho_hat: &CpuBuf,
        len: usize,
    ) -> Result<()> {
        let g = scalar(dout, "kl_backward dout")?;
        let r = read(rho_hat, len, "kl_backward rho_hat")?;
        k::loss::kl_sparsity_backward(&r, rho, g, &mut write(drho_hat, len, "kl_backward d")?);
        Ok(())
    }
}
