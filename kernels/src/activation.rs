//! Elementwise activations, forward and backward.

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
    let _ = (act, x, y);
    todo!()
}

/// `dx = dy * f'(x)` (`y = f(x)` given for the cheap sigmoid/tanh forms).
pub fn activation_backward(act: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let _ = (act, x, y, dy, dx);
    todo!()
}
