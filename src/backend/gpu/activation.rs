//! Host side of `shaders/activation.wgsl`.

use super::reduce::check_u32;
use super::{fbits, Activation, GpuBackend, GpuBuf, Kernel, Shader, LEAKY_RELU_SLOPE};
use crate::error::Result;

const SHADER: Shader = Shader { name: "activation", source: include_str!("../../../shaders/activation.wgsl") };
const FORWARD: Kernel = Kernel::new(SHADER, "forward", "rw");
const BACKWARD: Kernel = Kernel::new(SHADER, "backward", "rrrw");

fn params(act: Activation, len: usize) -> [u32; 3] {
    [len as u32, act.code(), fbits(LEAKY_RELU_SLOPE)]
}

pub(super) fn forward(gpu: &GpuBackend, act: Activation, x: &GpuBuf, y: &GpuBuf, len: usize) -> Result<()> {
    check_u32(len, "activation")?;
    gpu.check_len(x, len, "activation x")?;
    gpu.check_len(y, len, "activation y")?;
    gpu.dispatch_1d(&FORWARD, &[x, y], &params(act, len), len, 256)
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
    check_u32(len, "activation_backward")?;
    gpu.check_len(x, len, "activation_backward x")?;
    gpu.check_len(y, len, "activation_backward y")?;
    gpu.check_len(dy, len, "activation_backward dy")?;
    gpu.check_len(dx, len, "activation_backward dx")?;
    gpu.dispatch_1d(&BACKWARD, &[x, y, dy, dx], &params(act, len), len, 256)
}
