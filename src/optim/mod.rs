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

/// The optimizer's state on the host, to checkpoint and restore: the step count and,
/// per parameter, the first buffer (SGD velocity or Adam m) and Adam's v.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub step: u32,
    pub buffers: Vec<(Vec<f32>, Option<Vec<f32>>)>,
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

    /// The state as host arrays.
    pub fn snapshot(&self, backend: &B) -> Result<OptimizerState> {
        let mut buffers = Vec::new();
        for (s1, s2) in &self.state {
            let second = match s2 {
                Some(v) => Some(backend.download(v)?),
                None => None,
            };
            buffers.push((backend.download(s1)?, second));
        }
        Ok(OptimizerState { step: self.step, buffers })
    }

    /// Replaces the state with `saved` (from [`snapshot`](Self::snapshot) of the same
    /// parameters and kind).
    pub fn restore(&mut self, backend: &B, params: &Params<B>, saved: OptimizerState) -> Result<()> {
        if saved.buffers.len() != self.state.len() {
            return Err(Error::Checkpoint(format!(
                "optimizer state has {} parameters, the model {}",
                saved.buffers.len(),
                self.state.len()
            )));
        }
        let mut state = Vec::new();
        for (p, (first, second)) in params.list.iter().zip(saved.buffers) {
            let n = p.value.numel();
            let adam = matches!(self.kind, OptimizerKind::Adam { .. });
            if first.len() != n || second.as_ref().map(|v| v.len()) != adam.then_some(n) {
                return Err(Error::Checkpoint(format!("optimizer state of '{}' does not match the parameter", p.name)));
            }
            let s1 = backend.upload(&first, &format!("{} optimizer state", p.name))?;
            let s2 = match second {
                Some(v) => Some(backend.upload(&v, &format!("{} adam v", p.name))?),
                None => None,
            };
            state.push((s1, s2));
        }
        self.state = state;
        self.step = saved.step;
        Ok(())
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
