//! The divergence guard: stops a run whose loss turns non-finite or explodes (over
//! [`EXPLOSION_FACTOR`] times the best loss so far, and above the first), or whose parameters turn
//! non-finite, naming the epoch, the step and the likely cause. The caller's last
//! checkpoint is the last good state.

use super::config::TrainConfig;
use crate::backend::prelude::*;
use crate::error::{Error, Result};
use crate::nn::Params;
use crate::optim::OptimizerKind;

/// A mean loss this many times the best seen so far is divergence, not noise.
pub const EXPLOSION_FACTOR: f64 = 1e3;

/// Losses below this count as this much when measuring an explosion (a loss of 1e-9
/// rising to 1e-6 is not divergence).
const LOSS_FLOOR: f64 = 1e-6;

/// Losses below this fraction of the first one checked count as that fraction: a classifier
/// that memorised its training set (cross-entropy 1e-5) and comes back to 1e-2 is still far
/// below its starting 2.3, not diverging; an explosion must at least pass the first loss.
const FIRST_LOSS_FLOOR: f64 = 1.0 / EXPLOSION_FACTOR;

#[derive(Debug, Default)]
pub struct DivergenceGuard {
    best: Option<f64>,
    first: Option<f64>,
}

impl DivergenceGuard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the mean loss of the steps since the last check.
    pub fn check_loss(
        &mut self,
        loss_name: &str,
        mean: f64,
        epoch: usize,
        step: usize,
        cfg: &TrainConfig,
    ) -> Result<()> {
        let floor = self.first.map_or(LOSS_FLOOR, |f| LOSS_FLOOR.max(FIRST_LOSS_FLOOR * f));
        let exploded = self.best.is_some_and(|b| mean > EXPLOSION_FACTOR * b.max(floor));
        if !mean.is_finite() || exploded {
            let what = match self.best {
                Some(b) if mean.is_finite() => {
                    format!("{loss_name} rose to {mean:.4e}, over {EXPLOSION_FACTOR:e} x the best {b:.4e},")
                }
                _ => format!("{loss_name} became {mean}"),
            };
            return Err(Error::NonFinite(format!("{what} in epoch {epoch} near step {step}; {}", likely_cause(cfg))));
        }
        self.best = Some(self.best.map_or(mean, |b| b.min(mean)));
        self.first.get_or_insert(mean);
        Ok(())
    }

    /// Checks every parameter is finite (after an epoch, before it is checkpointed).
    pub fn check_params<B: Backend>(
        &self,
        backend: &B,
        params: &Params<B>,
        epoch: usize,
        step: usize,
        cfg: &TrainConfig,
    ) -> Result<()> {
        for p in &params.list {
            if let Some(v) = p.value.to_vec(backend)?.into_iter().find(|v| !v.is_finite()) {
                return Err(Error::NonFinite(format!(
                    "parameter '{}' became {v} in epoch {epoch} by step {step}; {}",
                    p.name,
                    likely_cause(cfg)
                )));
            }
        }
        Ok(())
    }
}

/// What most likely made the run diverge.
fn likely_cause(cfg: &TrainConfig) -> String {
    match cfg.optimizer {
        OptimizerKind::Sgd { momentum } if momentum >= 0.95 => format!(
            "likely cause: the learning rate (--lr {}) with a high momentum (--momentum {momentum}); try a smaller --lr or --momentum",
            cfg.lr
        ),
        OptimizerKind::Sgd { momentum } => format!(
            "likely cause: the learning rate is too large for SGD (--lr {}, --momentum {momentum}); try a smaller --lr",
            cfg.lr
        ),
        OptimizerKind::Adam { .. } => {
            format!("likely cause: the learning rate is too large (--lr {}); try a smaller --lr", cfg.lr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::noise::Noise;

    fn cfg(optimizer: OptimizerKind) -> TrainConfig {
        TrainConfig {
            epochs: 3,
            batch_size: 8,
            lr: 0.5,
            lr_decay: 1.0,
            optimizer,
            weight_decay: 0.0,
            seed: 0,
            noise: Noise::None,
            check_every: 1,
            progress: false,
        }
    }

    #[test]
    fn an_exploding_loss_names_epoch_step_and_cause() {
        let c = cfg(OptimizerKind::Sgd { momentum: 0.99 });
        let mut g = DivergenceGuard::new();
        g.check_loss("loss", 0.7, 1, 1, &c).unwrap();
        g.check_loss("loss", 0.2, 1, 2, &c).unwrap();
        g.check_loss("loss", 150.0, 1, 3, &c).unwrap(); // 750 x the best: still allowed
        let e = g.check_loss("loss", 201.0, 2, 5, &c).unwrap_err().to_string();
        assert!(
            e.contains("epoch 2") && e.contains("step 5") && e.contains("--lr 0.5") && e.contains("--momentum 0.99"),
            "{e}"
        );
    }

    #[test]
    fn a_non_finite_loss_stops_at_once_and_tiny_losses_do_not_trip() {
        let c = cfg(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
        let mut g = DivergenceGuard::new();
        assert!(g.check_loss("loss", f64::NAN, 1, 1, &c).unwrap_err().to_string().contains("NaN"));
        let mut g = DivergenceGuard::new();
        g.check_loss("loss", 1e-12, 1, 1, &c).unwrap();
        g.check_loss("loss", 1e-4, 1, 2, &c).unwrap(); // under the floor: noise, not divergence
        assert!(g.check_loss("loss", f64::INFINITY, 1, 3, &c).is_err());
    }

    #[test]
    fn a_memorised_classifier_may_wobble_but_not_pass_its_first_loss() {
        let c = cfg(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
        let mut g = DivergenceGuard::new();
        g.check_loss("classifier loss", 2.3, 1, 1, &c).unwrap();
        g.check_loss("classifier loss", 1.1e-5, 20, 100, &c).unwrap();
        // 1,350 x the best, but 150 x below the start: a wobble (seen in a fine-tuning run).
        g.check_loss("classifier loss", 1.48e-2, 20, 300, &c).unwrap();
        g.check_loss("classifier loss", 2.0, 20, 320, &c).unwrap();
        let e = g.check_loss("classifier loss", 2.4, 20, 340, &c).unwrap_err().to_string();
        assert!(e.contains("rose to 2.4") && e.contains("step 340"), "{e}");
    }
}
