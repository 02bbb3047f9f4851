//! Losses (forward and backward) and the sparsity penalties.

/// Losses. Every loss returns a scalar: the mean over all `rows * cols` elements for
/// `Mse`, `Bce`, `BceWithLogits` (PyTorch / Keras convention) and the mean over rows for
/// `SoftmaxCrossEntropy` (target rows are one-hot or any probability vector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    Mse,
    /// Binary cross-entropy on probabilities; predictions clamped to [BCE_EPS, 1-BCE_EPS].
    Bce,
    /// Numerically stable BCE taking logits.
    BceWithLogits,
    SoftmaxCrossEntropy,
}

impl Loss {
    pub fn code(self) -> u32 {
        self as u32
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::Bce => "bce",
            Self::BceWithLogits => "bce_with_logits",
            Self::SoftmaxCrossEntropy => "softmax_cross_entropy",
        }
    }
}

/// Clamp used by [`Loss::Bce`] so that log(0) never happens.
pub const BCE_EPS: f32 = 1e-7;

/// The loss value for `[rows, cols]` predictions and targets (see [`Loss`]).
pub fn loss_forward(loss: Loss, pred: &[f32], target: &[f32], rows: usize, cols: usize) -> f32 {
    let _ = (loss, pred, target, rows, cols);
    todo!()
}

/// `dpred = dout * dloss/dpred`.
pub fn loss_backward(loss: Loss, pred: &[f32], target: &[f32], dout: f32, dpred: &mut [f32], rows: usize, cols: usize) {
    let _ = (loss, pred, target, dout, dpred, rows, cols);
    todo!()
}

/// `sum |x| / rows`.
pub fn l1_penalty(x: &[f32], rows: usize, cols: usize) -> f32 {
    let _ = (x, rows, cols);
    todo!()
}

/// `dx = dout * sign(x) / rows`, sign(0) = 0.
pub fn l1_penalty_backward(x: &[f32], dout: f32, dx: &mut [f32], rows: usize, cols: usize) {
    let _ = (x, dout, dx, rows, cols);
    todo!()
}

/// Clamp applied to the mean activations of [`kl_sparsity`].
pub const KL_EPS: f32 = 1e-6;

/// `sum_j KL(rho || rho_hat_j)` = `sum_j rho ln(rho/rho_hat_j) + (1-rho) ln((1-rho)/(1-rho_hat_j))`.
pub fn kl_sparsity(rho_hat: &[f32], rho: f32) -> f32 {
    let _ = (rho_hat, rho);
    todo!()
}

/// `d rho_hat_j = dout * (-(rho/rho_hat_j) + (1-rho)/(1-rho_hat_j))` (clamped rho_hat).
pub fn kl_sparsity_backward(rho_hat: &[f32], rho: f32, dout: f32, drho_hat: &mut [f32]) {
    let _ = (rho_hat, rho, dout, drho_hat);
    todo!()
}
