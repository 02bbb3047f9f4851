//! Host side of `shaders/loss.wgsl`.

use super::{GpuBackend, GpuBuf, Loss};
use crate::error::{Error, Result};

fn todo(op: &str) -> Result<()> {
    Err(Error::Gpu(format!("{op} not implemented on the GPU yet")))
}

pub(super) fn forward(
    gpu: &GpuBackend,
    loss: Loss,
    pred: &GpuBuf,
    target: &GpuBuf,
    out: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let _ = (gpu, loss, pred, target, out, rows, cols);
    todo("loss_forward")
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    gpu: &GpuBackend,
    loss: Loss,
    pred: &GpuBuf,
    target: &GpuBuf,
    dout: &GpuBuf,
    dpred: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let _ = (gpu, loss, pred, target, dout, dpred, rows, cols);
    todo("loss_backward")
}

pub(super) fn l1_penalty(gpu: &GpuBackend, x: &GpuBuf, out: &GpuBuf, rows: usize, cols: usize) -> Result<()> {
    let _ = (gpu, x, out, rows, cols);
    todo("l1_penalty")
}

pub(super) fn l1_penalty_backward(
    gpu: &GpuBackend,
    x: &GpuBuf,
    dout: &GpuBuf,
    dx: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let _ = (gpu, x, dout, dx, rows, cols);
    todo("l1_penalty_backward")
}

pub(super) fn kl_sparsity(gpu: &GpuBackend, rho_hat: &GpuBuf, rho: f32, out: &GpuBuf, len: usize) -> Result<()> {
    let _ = (gpu, rho_hat, rho, out, len);
    todo("kl_sparsity")
}

pub(super) fn kl_sparsity_backward(
    gpu: &GpuBackend,
    rho_hat: &GpuBuf,
    rho: f32,
    dout: &GpuBuf,
    drho_hat: &GpuBuf,
    len: usize,
) -> Result<()> {
    let _ = (gpu, rho_hat, rho, dout, drho_hat, len);
    todo("kl_sparsity_backward")
}
