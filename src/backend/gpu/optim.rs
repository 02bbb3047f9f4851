//! Host side of `shaders/optim.wgsl`.

use super::{AdamParams, GpuBackend, GpuBuf, SgdParams};
use crate::error::{Error, Result};

pub(super) fn sgd_update(
    gpu: &GpuBackend,
    param: &GpuBuf,
    grad: &GpuBuf,
    velocity: &GpuBuf,
    len: usize,
    p: SgdParams,
) -> Result<()> {
    let _ = (gpu, param, grad, velocity, len, p);
    Err(Error::Gpu("sgd_update not implemented on the GPU yet".into()))
}

pub(super) fn adam_update(
    gpu: &GpuBackend,
    param: &GpuBuf,
    grad: &GpuBuf,
    m: &GpuBuf,
    v: &GpuBuf,
    len: usize,
    p: AdamParams,
) -> Result<()> {
    let _ = (gpu, param, grad, m, v, len, p);
    Err(Error::Gpu("adam_update not implemented on the GPU yet".into()))
}
