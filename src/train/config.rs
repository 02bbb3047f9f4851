//! The training configuration shared by every phase (reconstruction, pretraining, the
//! classifier).

use crate::data::noise::Noise;
use crate::error::{Error, Result};
use crate::optim::OptimizerKind;

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    /// The learning rate is multiplied by this after every epoch (1 = constant).
    pub lr_decay: f32,
    pub optimizer: OptimizerKind,
    pub weight_decay: f32,
    pub seed: u64,
    /// Corruption of the inputs (denoising); the loss always compares with the clean input.
    pub noise: Noise,
    /// Read the accumulated loss back (and check it is finite) every this many steps.
    pub check_every: usize,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
}

impl TrainConfig {
    /// The learning rate used in `epoch` (counted from 1).
    pub fn lr_at(&self, epoch: usize) -> f32 {
        self.lr * self.lr_decay.powi(epoch as i32 - 1)
    }

    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::Config("--batch-size must be at least 1".into()));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Config(format!("--lr must be a positive number, got {}", self.lr)));
        }
        if !(self.lr_decay.is_finite() && self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return Err(Error::Config(format!("--lr-decay must be in (0, 1], got {}", self.lr_decay)));
        }
        if self.check_every == 0 {
            return Err(Error::Config("check interval must be at least 1".into()));
        }
        Ok(())
    }
}
