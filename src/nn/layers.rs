//! Linear and convolution layers: parameter indices plus the op that uses them.

use super::{Bound, Init, Params};
use crate::autodiff::ops::{self, ConvParams};
use crate::autodiff::Var;
use crate::backend::{Activation, Backend};
use crate::error::Result;
use rand::rngs::StdRng;

fn init_for(act: Activation) -> Init {
    match act {
        Activation::Relu | Activation::LeakyRelu => Init::He,
        _ => Init::Xavier,
    }
}

/// Adds `{name}.weight` (drawn for `act` with fan-in/fan-out `fan`) and a zero
/// `{name}.bias`; returns their indices.
#[allow(clippy::too_many_arguments)]
fn weight_and_bias<B: Backend>(
    params: &mut Params<B>,
    backend: &B,
    rng: &mut StdRng,
    name: &str,
    weight_shape: &[usize],
    bias_len: usize,
    fan: (usize, usize),
    act: Activation,
) -> Result<(usize, usize)> {
    let w = params.add(backend, rng, format!("{name}.weight"), weight_shape, init_for(act), fan)?;
    let b = params.add(backend, rng, format!("{name}.bias"), &[bias_len], Init::Zeros, fan)?;
    Ok((w, b))
}

/// `z = x W^T + b`, `W: [out, in]`.
#[derive(Clone, Debug)]
pub struct Linear {
    pub w: usize,
    pub b: usize,
    pub inputs: usize,
    pub outputs: usize,
}

impl Linear {
    /// Initialised for the activation that follows it (He for relu, Xavier otherwise).
    pub fn new<B: Backend>(
        params: &mut Params<B>,
        backend: &B,
        rng: &mut StdRng,
        name: &str,
        inputs: usize,
        outputs: usize,
        act: Activation,
    ) -> Result<Self> {
        let (w, b) = weight_and_bias(params, backend, rng, name, &[outputs, inputs], outputs, (inputs, outputs), act)?;
        Ok(Linear { w, b, inputs, outputs })
    }

    /// Weight and bias both drawn from `U(-1/sqrt(inputs), 1/sqrt(inputs))`, PyTorch's
    /// `nn.Linear` default (the models that follow a PyTorch recipe use it).
    pub fn fan_in_uniform<B: Backend>(
        params: &mut Params<B>,
        backend: &B,
        rng: &mut StdRng,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        let (fan, init) = ((inputs, outputs), Init::FanInUniform);
        let w = params.add(backend, rng, format!("{name}.weight"), &[outputs, inputs], init, fan)?;
        let b = params.add(backend, rng, format!("{name}.bias"), &[outputs], init, fan)?;
        Ok(Linear { w, b, inputs, outputs })
    }

    /// The pre-activation `z`.
    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::linear(p.tape, x, p.var(self.w), p.var(self.b))
    }

    /// `(z, f(z))`, the bias and activation fused into one kernel
    /// ([`ops::linear_activation`]).
    pub fn forward_activation<B: Backend>(&self, p: &Bound<B>, x: Var, act: Activation) -> Result<(Var, Var)> {
        ops::linear_activation(p.tape, x, p.var(self.w), p.var(self.b), act)
    }
}

/// `Conv2d`, weight `[out, in, k, k]`.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub w: usize,
    pub b: usize,
    pub conv: ConvParams,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new<B: Backend>(
        params: &mut Params<B>,
        backend: &B,
        rng: &mut StdRng,
        name: &str,
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        conv: ConvParams,
        act: Activation,
    ) -> Result<Self> {
        let (k2, shape) = (kernel * kernel, [out_ch, in_ch, kernel, kernel]);
        let (w, b) = weight_and_bias(params, backend, rng, name, &shape, out_ch, (in_ch * k2, out_ch * k2), act)?;
        Ok(Conv2d { w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::conv2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv)
    }

    /// `(z, f(z))` with the bias and activation fused ([`ops::conv2d_activation`]).
    pub fn forward_activation<B: Backend>(&self, p: &Bound<B>, x: Var, act: Activation) -> Result<(Var, Var)> {
        ops::conv2d_activation(p.tape, x, p.var(self.w), p.var(self.b), self.conv, act)
    }
}

/// `ConvTranspose2d`, weight `[in, out, k, k]` (PyTorch's layout).
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    pub w: usize,
    pub b: usize,
    pub conv: ConvParams,
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new<B: Backend>(
        params: &mut Params<B>,
        backend: &B,
        rng: &mut StdRng,
        name: &str,
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        conv: ConvParams,
        act: Activation,
    ) -> Result<Self> {
        // Each output pixel sums in_ch * k^2 / stride^2 taps on average; PyTorch takes fan-in
        // from the weight's second dimension (out_ch here), and so do we.
        let (k2, shape) = (kernel * kernel, [in_ch, out_ch, kernel, kernel]);
        let (w, b) = weight_and_bias(params, backend, rng, name, &shape, out_ch, (out_ch * k2, in_ch * k2), act)?;
        Ok(ConvTranspose2d { w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::conv_transpose2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv)
    }

    /// `(z, f(z))` with the bias and activation fused ([`ops::conv_transpose2d_activation`]).
    pub fn forward_activation<B: Backend>(&self, p: &Bound<B>, x: Var, act: Activation) -> Result<(Var, Var)> {
        ops::conv_transpose2d_activation(p.tape, x, p.var(self.w), p.var(self.b), self.conv, act)
    }
}
