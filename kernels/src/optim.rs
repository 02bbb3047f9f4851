//! Optimizer updates: SGD with momentum, Adam.

/// Hyper-parameters of one SGD-with-momentum step:
/// `v = momentum*v + (g + wd*p); p -= lr*v` (PyTorch's convention).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// Hyper-parameters of one Adam step (bias-corrected, `step` counts from 1).
/// Weight decay is L2 added to the gradient (PyTorch `Adam`, not `AdamW`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub step: u32,
}

/// `v = momentum*v + (g + wd*p); p -= lr*v`.
pub fn sgd_update(param: &mut [f32], grad: &[f32], velocity: &mut [f32], p: SgdParams) {
    let _ = (param, grad, velocity, p);
    todo!()
}

/// Bias-corrected Adam, L2 weight decay added to the gradient.
pub fn adam_update(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: AdamParams) {
    let _ = (param, grad, m, v, p);
    todo!()
}
