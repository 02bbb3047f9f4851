//! [`ActivationOps`] on the CPU: `kernels/src/activation.rs`.

use super::{read, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl ActivationOps for CpuBackend {
    fn bias_activation(
        &self,
        act: Activation,
        x: &CpuBuf,
        bias: &CpuBuf,
        z: &CpuBuf,
        y: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer * channels * inner;
        let (x, bias) = (read(x, len, "bias_activation x")?, read(bias, channels, "bias_activation bias")?);
        let (mut z, mut y) = (write(z, len, "bias_activation z")?, write(y, len, "bias_activation y")?);
        k::activation::bias_activation(act, &x, &bias, &mut z, &mut y, outer, channels, inner);
        Ok(())
    }

    fn activation_forward(&self, act: Activation, x: &CpuBuf, y: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "activation x")?;
        k::activation::activation_forward(act, &x, &mut write(y, len, "activation y")?);
        Ok(())
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &CpuBuf,
        y: &CpuBuf,
        dy: &CpuBuf,
        dx: &CpuBuf,
        len: usize,
    ) -> Result<()> {
        let (x, y, dy) = (
            read(x, len, "activation_backward x")?,
            read(y, len, "activation_backward y")?,
            read(dy, len, "activation_backward dy")?,
        );
        k::activation::activation_backward(act, &x, &y, &dy, &mut write(dx, len, "activation_backward dx")?);
        Ok(())
    }
}
