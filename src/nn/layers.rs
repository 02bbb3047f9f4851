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

/// A conv layer's shape error with the layer's name in front, so that a geometry with
/// an empty output says which layer of the model it is.
fn in_layer<T>(name: &str, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        crate::error::Error::Shape(m) => crate::error::Error::Shape(format!("layer {name}: {m}")),
        other => other,
    })
}

/// `Conv2d`, weight `[out, in, k, k]`.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub name: String,
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
        Ok(Conv2d { name: name.into(), w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        in_layer(&self.name, ops::conv2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv))
    }

    /// `(z, f(z))` with the bias and activation fused ([`ops::conv2d_activation`]).
    pub fn forward_activation<B: Backend>(&self, p: &Bound<B>, x: Var, act: Activation) -> Result<(Var, Var)> {
        in_layer(&self.name, ops::conv2d_activation(p.tape, x, p.var(self.w), p.var(self.b), self.conv, act))
    }
}

/// `ConvTranspose2d`, weight `[in, out, k, k]` (PyTorch's layout).
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    pub name: String,
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
        Ok(ConvTranspose2d { name: name.into(), w, b, conv })
    }

    pub fn forward<B: Backend>(&self, p: &Bound<B>, x: Var) -> Result<Var> {
        in_layer(&self.name, ops::conv_transpose2d(p.tape, x, p.var(self.w), p.var(self.b), self.conv))
    }

    /// `(z, f(z))` with the bias and activation fused ([`ops::conv_transpose2d_activation`]).
    pub fn forward_activation<B: Backend>(&self, p: &Bound<B>, x: Var, act: Activation) -> Result<(Var, Var)> {
        let (w, b) = (p.var(self.w), p.var(self.b));
        in_layer(&self.name, ops::conv_transpose2d_activation(p.tape, x, w, b, self.conv, act))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Tape;
    use crate::{CpuBackend, Tensor};
    use rand::SeedableRng;

    /// A conv layer fed an image its kernel cannot fit says which layer it is.
    #[test]
    fn a_conv_geometry_error_names_the_layer() {
        let be = CpuBackend::new();
        let (mut params, mut rng) = (Params::default(), StdRng::seed_from_u64(1));
        let valid = ConvParams::square(1, 0, 1, 0);
        let conv = Conv2d::new(&mut params, &be, &mut rng, "encoder.7", 1, 2, 5, valid, Activation::Relu).unwrap();
        let convt = ConvTranspose2d::new(
            &mut params,
            &be,
            &mut rng,
            "decoder.2",
            1,
            2,
            3,
            ConvParams::square(1, 3, 1, 0),
            Activation::Relu,
        )
        .unwrap();
        let tape = Tape::new(&be);
        let bound = params.bind(&tape);
        let x = tape.constant(&Tensor::from_slice(&be, [1, 1, 3, 3], &[0.5; 9], "x").unwrap());
        for (r, layer) in [
            (conv.forward(&bound, x).map(|_| ()), "layer encoder.7: conv2d"),
            (conv.forward_activation(&bound, x, Activation::Relu).map(|_| ()), "layer encoder.7: conv2d"),
            (convt.forward(&bound, x).map(|_| ()), "layer decoder.2: conv_transpose2d"),
            (convt.forward_activation(&bound, x, Activation::Relu).map(|_| ()), "layer decoder.2: conv_transpose2d"),
        ] {
            let m = r.expect_err("a 5x5 kernel on a 3x3 image, or padding 3 around it, was accepted").to_string();
            assert!(m.contains(layer) && m.contains("empty output"), "{m}");
        }
    }
}
