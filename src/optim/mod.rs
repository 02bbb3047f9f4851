//! Optimizers: the state per parameter and one fused update kernel per parameter per step.

use crate::backend::{AdamParams, Backend, SgdParams};
use crate::error::{Error, Result};
use crate::nn::Params;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    Sgd { momentum: f32 },
    Adam { beta1: f32, beta2: f32, eps: f32 },
}

impl OptimizerKind {
    pub fn parse(name: &str, momentum: f32) -> Result<Self> {
        match name {
            "sgd" => Ok(OptimizerKind::Sgd { momentum }),
            "adam" => Ok(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
            other => Err(Error::Config(format!("unknown optimizer '{other}' (expected sgd or adam)"))),
        }
    }
}

/// Optimizer state: velocity (SGD) or first/second moments (Adam), one buffer each per param.
pub struct Optimizer<B: Backend> {
    pub kind: OptimizerKind,
    pub lr: f32,
    pub weight_decay: f32,
    step: u32,
    state: Vec<(B::Buf, Option<B::Buf>)>,
}

impl<B: Backend> Optimizer<B> {
    pub fn new(backend: &B, params: &Params<B>, kind: OptimizerKind, lr: f32, weight_decay: f32) -> Result<Self> {
        let mut state = Vec::new();
        for p in &params.list {
            let n = p.value.numel();
            let first = backend.zeros(n, &format!("{} optimizer state", p.name))?;
            let second = match kind {
                OptimizerKind::Adam { .. } => Some(backend.zeros(n, &format!("{} adam v", p.name))?),
                OptimizerKind::Sgd { .. } => None,
            };
            state.push((first, second));
        }
        Ok(Optimizer { kind, lr, weight_decay, step: 0, state })
    }

    /// One update of every parameter that received a gradient.
    pub fn step(&mut self, backend: &B, params: &Params<B>, grads: &[Option<Tensor<B>>]) -> Result<()> {
        self.step += 1;
        for ((p, g), (s1, s2)) in params.list.iter().zip(grads).zip(&self.state) {
            let Some(g) = g else { continue };
            let n = p.value.numel();
            match (self.kind, s2) {
                (OptimizerKind::Sgd { momentum }, _) => {
                    let sp = SgdParams { lr: self.lr, momentum, weight_decay: self.weight_decay };
                    backend.sgd_update(&p.value.buf, &g.buf, s1, n, sp)?
                }
                (OptimizerKind::Adam { beta1, beta2, eps }, Some(v)) => {
                    let ap =
                        AdamParams { lr: self.lr, beta1, beta2, eps, weight_decay: self.weight_decay, step: self.step };
                    backend.adam_update(&p.value.buf, &g.buf, s1, v, n, ap)?
                }
                (OptimizerKind::Adam { .. }, None) => unreachable!("adam state has two buffers"),
            }
        }
        Ok(())
    }
}
