//! Host side of `shaders/activation.wgsl`.

use super::reduce::check_u32;
use super::{fbits, Activation, ActivationOps, GpuBackend, GpuBuf, Kernel, Shader, LEAKY_RELU_SLOPE};
use crate::error::{Error, Result};

const SHADER: Shader = Shader { name: "activation", source: include_str!("../../../shaders/activation.wgsl") };
const FORWARD: Kernel = Kernel::new(SHADER, "activation_forward", "rw");
const BACKWARD: Kernel = Kernel::new(SHADER, "activation_backward", "rrrw");
const BIAS_FORWARD: Kernel = Kernel::new(SHADER, "bias_activation", "rrww");

/// The activation.wgsl `Params` struct (shared by all its entry points): len, act, slope,
/// channels, inner. `forward` and `backward` pass `channels = inner = 1` (unused there).
fn params(act: Activation, len: usize, channels: usize, inner: usize) -> [u32; 5] {
    [len as u32, act.code(), fbits(LEAKY_RELU_SLOPE), channels as u32, inner as u32]
}

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl ActivationOps for GpuBackend {
    /// `z = x + bias[c]`, `y = f(z)` in one dispatch. The shader reads `bias[(i / inner) %
    /// channels]` for `i < len`, so `channels <= bias.len()` covers every bias index (and
    /// `len > 0` implies `channels, inner > 0`: no division by zero). `dispatch` refuses `z`
    /// or `y` aliasing another argument.
    fn bias_activation(
        &self,
        act: Activation,
        x: &GpuBuf,
        bias: &GpuBuf,
        z: &GpuBuf,
        y: &GpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer
            .checked_mul(channels)
            .and_then(|n| n.checked_mul(inner))
            .ok_or_else(|| Error::Shape(format!("bias_activation: {outer}x{channels}x{inner} elements overflow")))?;
        check_u32(len, "bias_activation")?;
        self.check_len(x, len, "bias_activation x")?;
        self.check_len(bias, channels, "bias_activation bias")?;
        self.check_len(z, len, "bias_activation z")?;
        self.check_len(y, len, "bias_activation y")?;
        self.dispatch_1d(&BIAS_FORWARD, &[x, bias, z, y], &params(act, len, channels, inner), len, 256)
    }

    fn activation_forward(&self, act: Activation, x: &GpuBuf, y: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "activation")?;
        self.check_len(x, len, "activation x")?;
        self.check_len(y, len, "activation y")?;
        self.dispatch_1d(&FORWARD, &[x, y], &params(act, len, 1, 1), len, 256)
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &GpuBuf,
        y: &GpuBuf,
        dy: &GpuBuf,
        dx: &GpuBuf,
        len: usize,
    ) -> Result<()> {
        check_u32(len, "activation_backward")?;
        self.check_len(x, len, "activation_backward x")?;
        self.check_len(y, len, "activation_backward y")?;
        self.check_len(dy, len, "activation_backward dy")?;
        self.check_len(dx, len, "activation_backward dx")?;
        self.dispatch_1d(&BACKWARD, &[x, y, dy, dx], &params(act, len, 1, 1), len, 256)
    }
}

#[cfg(test)]
mod tests {
    use super::super::GpuBackend;
    use crate::backend::prelude::*;
    use crate::backend::Activation;
    use crate::error::Error;

    fn gpu() -> Option<GpuBackend> {
        super::super::strict::gpu_or_skip("GPU activation unit tests")
    }

    fn is_shape(r: crate::error::Result<()>) -> bool {
        matches!(r, Err(Error::Shape(_)))
    }

    /// Short buffers, aliased outputs and overflowing shapes are refused before recording.
    #[test]
    fn bias_activation_shape_errors() {
        let Some(g) = gpu() else { return };
        let act = Activation::Relu;
        let (x, b) = (g.zeros(12, "x").unwrap(), g.zeros(3, "bias").unwrap());
        let (z, y) = (g.zeros(12, "z").unwrap(), g.zeros(12, "y").unwrap());
        let short = g.zeros(11, "short").unwrap();
        let before = g.dispatch_count();
        assert!(is_shape(g.bias_activation(act, &x, &b, &z, &y, 2, 3, 3))); // 18 > 12
        assert!(is_shape(g.bias_activation(act, &short, &b, &z, &y, 2, 3, 2)));
        assert!(is_shape(g.bias_activation(act, &x, &b, &short, &y, 2, 3, 2)));
        assert!(is_shape(g.bias_activation(act, &x, &b, &z, &short, 2, 3, 2)));
        assert!(is_shape(g.bias_activation(act, &x, &b, &z, &y, 1, 4, 3))); // bias holds 3 < 4
        assert!(is_shape(g.bias_activation(act, &x, &b, &z, &z, 2, 3, 2))); // z aliases y
        assert!(is_shape(g.bias_activation(act, &x, &b, &x, &y, 2, 3, 2))); // z aliases x
        assert!(is_shape(g.bias_activation(act, &x, &b, &z, &y, usize::MAX, 3, 2)));
        assert_eq!(g.dispatch_count(), before, "nothing recorded");
        g.bias_activation(act, &x, &b, &z, &y, 2, 3, 2).unwrap();
        assert_eq!(g.dispatch_count(), before + 1, "one dispatch for bias + activation");
        g.flush().unwrap();
    }
}
