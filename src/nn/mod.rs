//! Layers and parameters. A model owns a [`Params`] list; each training step binds it to
//! a fresh tape ([`Params::bind`]) and the layers read their weights from the bound vars.

pub mod layers;

pub use layers::{Conv2d, ConvTranspose2d, Linear};

use crate::autodiff::{Tape, Var};
use crate::backend::Backend;
use crate::error::Result;
use crate::tensor::{Shape, Tensor};
use rand::rngs::StdRng;
use rand::Rng;

/// A named trainable tensor.
pub struct Param<B: Backend> {
    pub name: String,
    pub value: Tensor<B>,
}

/// How to draw initial weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot/Xavier uniform, `U(-a, a)`, `a = sqrt(6 / (fan_in + fan_out))`: sigmoid, tanh, linear.
    Xavier,
    /// He/Kaiming uniform, `a = sqrt(6 / fan_in)`: relu family.
    He,
    /// `U(-a, a)`, `a = 1 / sqrt(fan_in)`: PyTorch's default for `nn.Linear` and `nn.Conv2d`,
    /// weights and biases alike (kaiming_uniform with a = sqrt(5) is this bound).
    FanInUniform,
    Zeros,
}

/// The parameters of a model, in a fixed order (the checkpoint order).
pub struct Params<B: Backend> {
    pub list: Vec<Param<B>>,
}

impl<B: Backend> Default for Params<B> {
    fn default() -> Self {
        Params { list: Vec::new() }
    }
}

impl<B: Backend> Params<B> {
    /// Adds a parameter drawn by `init` and returns its index.
    pub fn add(
        &mut self,
        backend: &B,
        rng: &mut StdRng,
        name: String,
        shape: &[usize],
        init: Init,
        fan: (usize, usize),
    ) -> Result<usize> {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::Zeros => vec![0.0; n],
            Init::Xavier | Init::He | Init::FanInUniform => {
                let (fan_in, fan_out) = fan;
                let a = match init {
                    Init::Xavier => (6.0 / (fan_in + fan_out) as f64).sqrt(),
                    Init::He => (6.0 / fan_in as f64).sqrt(),
                    _ => (1.0 / fan_in as f64).sqrt(),
                } as f32;
                (0..n).map(|_| rng.random_range(-a..a)).collect()
            }
        };
        let value = Tensor::from_slice(backend, Shape::new(shape), &data, &name)?;
        self.list.push(Param { name, value });
        Ok(self.list.len() - 1)
    }

    /// Registers every parameter on `tape` as a leaf that receives a gradient.
    pub fn bind<'t>(&self, tape: &'t Tape<B>) -> Bound<'t, B> {
        Bound { tape, vars: self.list.iter().map(|p| tape.param(&p.value)).collect() }
    }

    /// Registers every parameter as a constant (inference: no gradients recorded).
    pub fn bind_frozen<'t>(&self, tape: &'t Tape<B>) -> Bound<'t, B> {
        Bound { tape, vars: self.list.iter().map(|p| tape.constant(&p.value)).collect() }
    }

    pub fn count(&self) -> usize {
        self.list.iter().map(|p| p.value.numel()).sum()
    }
}

/// Parameters bound to one tape.
pub struct Bound<'t, B: Backend> {
    pub tape: &'t Tape<B>,
    pub vars: Vec<Var>,
}

impl<B: Backend> Bound<'_, B> {
    pub fn var(&self, index: usize) -> Var {
        self.vars[index]
    }
    /// The gradient of each parameter after `tape.backward` (None if it got none).
    pub fn grads(&self) -> Vec<Option<Tensor<B>>> {
        self.vars.iter().map(|&v| self.tape.grad(v)).collect()
    }
}
