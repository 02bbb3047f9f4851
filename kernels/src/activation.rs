//! Elementwise activations, forward and backward, and [`bias_activation`] (a layer's
//! bias add and activation in one call).
//!
//! [`forward_scalar_one`] and [`backward_scalar_one`] are the per-element specification.
//! The x86 versions compute the same formulas on whole vectors: exactly for identity,
//! relu, leaky relu and every backward (the backward of sigmoid/tanh uses `y`, so no
//! transcendental is involved); sigmoid and tanh forward use the vector exp/tanh of
//! `simd_util` (Cephes polynomials, within a few ulp of `f32::exp`/`f32::tanh`).

use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;

/// Elementwise activation functions. `LeakyRelu` uses slope [`LEAKY_RELU_SLOPE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu,
}

impl Activation {
    /// Every activation, in code order (the GPU backend turns this list into WGSL constants).
    pub const ALL: [Self; 5] = [Self::Identity, Self::Sigmoid, Self::Tanh, Self::Relu, Self::LeakyRelu];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "identity" | "linear" | "none" => Self::Identity,
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "leaky_relu" | "leaky-relu" | "lrelu" => Self::LeakyRelu,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::LeakyRelu => "leaky_relu",
        }
    }
    /// The stable integer code shared by kernels and shaders.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// Negative-side slope of [`Activation::LeakyRelu`] (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f32 = 0.01;

/// `y = f(x)`.
pub fn activation_forward(act: Activation, x: &[f32], y: &mut [f32]) {
    activation_forward_with(level(), act, x, y)
}

/// `dx = dy * f'(x)` (`y = f(x)` given for the cheap sigmoid/tanh forms).
pub fn activation_backward(act: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    activation_backward_with(level(), act, x, y, dy, dx)
}

/// `z[o,c,i] = x[o,c,i] + bias[c]` over `[outer, channels, inner]`, then `y = f(z)`: a
/// layer's bias and activation in one call, both outputs written (the backward and the
/// contractive penalty need `z`).
#[allow(clippy::too_many_arguments)]
pub fn bias_activation(
    act: Activation,
    x: &[f32],
    bias: &[f32],
    z: &mut [f32],
    y: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    bias_activation_with(level(), act, x, bias, z, y, outer, channels, inner)
}

/// [`activation_forward`] at a chosen SIMD level (panics if this CPU lacks it).
pub fn activation_forward_with(level: SimdLevel, act: Activation, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "activation_forward: x and y lengths differ");
    dispatch!(level, activation_forward_scalar, forward(act, x, y))
}

/// [`activation_backward`] at a chosen SIMD level (panics if this CPU lacks it).
pub fn activation_backward_with(level: SimdLevel, act: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = dx.len();
    assert!(x.len() == n && y.len() == n && dy.len() == n, "activation_backward: x, y, dy, dx lengths differ");
    dispatch!(level, activation_backward_scalar, backward(act, x, y, dy, dx))
}

/// [`bias_activation`] at a chosen SIMD level (panics if this CPU lacks it).
///
/// Not a separate SIMD kernel: it composes the SIMD `reduce::bias_add` and
/// [`activation_forward`] over the whole tensor. The fusion that saves a launch is the
/// GPU's (`shaders/activation.wgsl` `bias_activation`); on the CPU a second pass over `z`
/// costs little, and running the very same kernels keeps the results bit-identical to a
/// bias add followed by an activation.
#[allow(clippy::too_many_arguments)]
pub fn bias_activation_with(
    level: SimdLevel,
    act: Activation,
    x: &[f32],
    bias: &[f32],
    z: &mut [f32],
    y: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    let len = outer * channels * inner;
    assert!(
        x.len() == len && z.len() == len && y.len() == len && bias.len() == channels,
        "bias_activation: lengths do not match shape"
    );
    crate::reduce::bias_add_with(level, x, bias, z, outer, channels, inner);
    activation_forward_with(level, act, z, y);
}

/// The specification of [`bias_activation`]: [`crate::reduce::bias_add_scalar`], then
/// [`activation_forward_scalar`].
#[allow(clippy::too_many_arguments)]
pub fn bias_activation_scalar(
    act: Activation,
    x: &[f32],
    bias: &[f32],
    z: &mut [f32],
    y: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    crate::reduce::bias_add_scalar(x, bias, z, outer, channels, inner);
    activation_forward_scalar(act, z, y);
}

/// The specification of [`activation_forward`].
pub fn activation_forward_scalar(act: Activation, x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = forward_scalar_one(act, xi);
    }
}

/// The specification of [`activation_backward`].
pub fn activation_backward_scalar(act: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for (i, dxi) in dx.iter_mut().enumerate() {
        *dxi = backward_scalar_one(act, x[i], y[i], dy[i]);
    }
}

/// The logistic function, safe for any `x`: `exp(-|x|)` never overflows, and the branch
/// below 0 avoids forming `1 - tiny`.
pub fn sigmoid(x: f32) -> f32 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// `f(x)` for one element.
pub fn forward_scalar_one(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Identity => x,
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Relu => relu(x),
        Activation::LeakyRelu => leaky_relu(x),
    }
}

/// `dy * f'(x)` for one element, with `y = f(x)` (sigmoid: `y(1-y)`, tanh: `1-y^2`).
/// Relu's derivative at 0 is taken as 0.
pub fn backward_scalar_one(act: Activation, x: f32, y: f32, dy: f32) -> f32 {
    match act {
        Activation::Identity => dy,
        Activation::Sigmoid => sigmoid_backward(y, dy),
        Activation::Tanh => tanh_backward(y, dy),
        Activation::Relu => relu_backward(x, dy),
        Activation::LeakyRelu => leaky_relu_backward(x, dy),
    }
}

// Tested as `x < 0` so that NaN passes through the forward (a diverging run shows NaN).
fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

fn leaky_relu(x: f32) -> f32 {
    if x < 0.0 {
        LEAKY_RELU_SLOPE * x
    } else {
        x
    }
}

fn sigmoid_backward(y: f32, dy: f32) -> f32 {
    dy * (y * (1.0 - y))
}

fn tanh_backward(y: f32, dy: f32) -> f32 {
    dy * (1.0 - y * y)
}

fn relu_backward(x: f32, dy: f32) -> f32 {
    if x > 0.0 {
        dy
    } else {
        0.0
    }
}

fn leaky_relu_backward(x: f32, dy: f32) -> f32 {
    if x > 0.0 {
        dy
    } else {
        LEAKY_RELU_SLOPE * dy
    }
}

/// One body for both x86 levels; `$level` names the `simd_util` module whose vector
/// vocabulary it uses, `$feat` the target features.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    ($level:ident, $feat:literal) => {
        mod $level {
            use super::*;
            use crate::simd_util::$level::*;

            #[target_feature(enable = $feat)]
            pub(super) fn forward(act: Activation, x: &[f32], y: &mut [f32]) {
                let tail = |v| forward_scalar_one(act, v);
                let zero = vzero();
                let slope = splat(LEAKY_RELU_SLOPE);
                match act {
                    Activation::Identity => y.copy_from_slice(x),
                    Activation::Sigmoid => map1(x, y, |v| vsigmoid(v), tail),
                    Activation::Tanh => map1(x, y, |v| vtanh(v), tail),
                    Activation::Relu => map1(x, y, |v| select(vlt(v, zero), zero, v), tail),
                    Activation::LeakyRelu => map1(x, y, |v| select(vlt(v, zero), vmul(slope, v), v), tail),
                }
            }

            #[target_feature(enable = $feat)]
            pub(super) fn backward(act: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
                let one = splat(1.0);
                let zero = vzero();
                let slope = splat(LEAKY_RELU_SLOPE);
                match act {
                    Activation::Identity => dx.copy_from_slice(dy),
                    Activation::Sigmoid => map2(y, dy, dx, |y, g| vmul(g, vmul(y, vsub(one, y))), sigmoid_backward),
                    Activation::Tanh => map2(y, dy, dx, |y, g| vmul(g, vsub(one, vmul(y, y))), tanh_backward),
                    Activation::Relu => map2(x, dy, dx, |x, g| select(vgt(x, zero), g, zero), relu_backward),
                    Activation::LeakyRelu => {
                        map2(x, dy, dx, |x, g| select(vgt(x, zero), g, vmul(slope, g)), leaky_relu_backward)
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(avx512, "avx512f");
#[cfg(target_arch = "x86_64")]
x86_kernels!(avx2, "avx2,fma");
