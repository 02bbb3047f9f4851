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
        let fan = (inputs, outputs);
        let w = params.add(backend, rng, format!("{name}.weight"), &[outputs, inputs], init_for(act), fan)?;
        let b = params.add(backend, rng, format!("{name}.bias"), &[outputs], Init::Zeros, fan)?;
        Ok(Linear { w, b, inputs, outputs })
    }

    /// The pre-activation `z`.
    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::linear(p.tape, x, p.var(self.w), p.var(self.b))
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
        let fan = (in_ch * kernel * kernel, out_ch * kernel * kernel);
        let w =
            params.add(backend, rng, format!("{name}.weight"), &[out_ch, in_ch, kernel, kernel], init_for(act), fan)?;
        let b = params.add(backend, rng, format!("{name}.bias"), &[out_ch], Init::Zeros, fan)?;
        Ok(Conv2d { w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::conv2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv)
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
        let fan = (out_ch * kernel * kernel, in_ch * kernel * kernel);
        let w =
            params.add(backend, rng, format!("{name}.weight"), &[in_ch, out_ch, kernel, kernel], init_for(act), fan)?;
        let b = params.add(backend, rng, format!("{name}.bias"), &[out_ch], Init::Zeros, fan)?;
        Ok(ConvTranspose2d { w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        ops::conv_transpose2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv)
    }
}
