//! Host side of `shaders/activation.wgsl`.

use super::{Activation, GpuBackend, GpuBuf};
use crate::error::{Error, Result};

pub(super) fn forward(gpu: &GpuBackend, act: Activation, x: &GpuBuf, y: &GpuBuf, len: usize) -> Result<()> {
    let _ = (gpu, act, x, y, len);
    Err(Error::Gpu("activation_forward not implemented on the GPU yet".into()))
}

pub(super) fn backward(
    gpu: &GpuBackend,
    act: Activation,
    x: &GpuBuf,
    y: &GpuBuf,
    dy: &GpuBuf,
    dx: &GpuBuf,
    len: usize,
) -> Result<()> {
    let _ = (gpu, act, x, y, dy, dx, len);
    Err(Error::Gpu("activation_backward not implemented on the GPU yet".into()))
}
