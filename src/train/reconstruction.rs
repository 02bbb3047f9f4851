//! The reconstruction phase: an autoencoder learns to reproduce its (possibly corrupted)
//! inputs under an [`Objective`]; evaluated on the test set after every epoch.

use super::config::TrainConfig;
use super::evaluate::evaluate;
use super::fit::{fit_from, EpochEnd, EpochStats, Resume, Task};
use super::progress::epoch_line;
use crate::autodiff::{Tape, Var};
use crate::backend::prelude::*;
use crate::data::batches::{epoch_rng, gather_rows};
use crate::error::{Error, Result};
use crate::models::objective::Objective;
use crate::models::Model;
use crate::nn::{Bound, Params};
use crate::tensor::Tensor;
use rand::rngs::StdRng;

/// The random stream of the input corruption, reseeded each epoch.
const NOISE_STREAM: u64 = 0x6e6f697365;

/// One row of metrics.csv.
#[derive(Clone, Debug, Default)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub test_loss: f64,
    /// Squared error summed over pixels, averaged over test images (how papers report it).
    pub test_sse_per_image: f64,
    pub seconds: f64,
    /// Mean code activation on the test set.
    pub mean_code: f64,
    /// Mean Frobenius norm of the encoder's Jacobian on the test set (one-layer encoders).
    pub jacobian_norm: Option<f64>,
    /// Steps per second and, on the GPU, kernel dispatches per step.
    pub steps_per_sec: f64,
    pub dispatches_per_step: Option<f64>,
}

/// An autoencoder, its objective and its data, as a [`Task`] for the loop.
pub struct ReconstructionTask<'a, B: Backend, M: Model<B> + ?Sized> {
    backend: &'a B,
    model: &'a M,
    objective: &'a Objective,
    train_x: &'a [f32],
    test_x: &'a [f32],
    dim: usize,
    cfg: &'a TrainConfig,
    noise_rng: StdRng,
}

impl<'a, B: Backend, M: Model<B> + ?Sized> ReconstructionTask<'a, B, M> {
    pub fn new(
        backend: &'a B,
        model: &'a M,
        objective: &'a Objective,
        train_x: &'a [f32],
        test_x: &'a [f32],
        dim: usize,
        cfg: &'a TrainConfig,
    ) -> Result<Self> {
        if train_x.len() / dim == 0 {
            return Err(Error::Config("the training set is empty".into()));
        }
        let noise_rng = epoch_rng(cfg.seed, 1, NOISE_STREAM);
        Ok(ReconstructionTask { backend, model, objective, train_x, test_x, dim, cfg, noise_rng })
    }
}

impl<B: Backend, M: Model<B> + ?Sized> Task<B> for ReconstructionTask<'_, B, M> {
    type Metrics = EpochMetrics;

    fn params(&self) -> &Params<B> {
        self.model.params()
    }

    fn examples(&self) -> usize {
        self.train_x.len() / self.dim
    }

    fn batch_loss(&mut self, tape: &Tape<B>, p: &Bound<B>, idx: &[usize]) -> Result<Var> {
        let rows = idx.len();
        let clean = gather_rows(self.train_x, self.dim, idx);
        let mut input = clean.clone();
        self.cfg.noise.apply(&mut input, &mut self.noise_rng);
        let target = Tensor::from_slice(self.backend, self.model.input_shape(rows), &clean, "batch target")?;
        let x = Tensor::from_slice(self.backend, self.model.input_shape(rows), &input, "batch input")?;
        let fwd = self.model.forward(p, tape.constant(&x))?;
        Ok(self.objective.evaluate(tape, &fwd, &target)?.total)
    }

    fn end_epoch(&mut self, s: EpochStats) -> Result<EpochMetrics> {
        let eval = evaluate(
            self.backend,
            self.model,
            self.objective.reconstruction,
            self.test_x,
            self.dim,
            self.cfg.batch_size.max(256),
        )?;
        Ok(EpochMetrics {
            epoch: s.epoch,
            train_loss: s.train_loss,
            test_loss: eval.loss,
            test_sse_per_image: eval.sse_per_image,
            seconds: s.start.elapsed().as_secs_f64(),
            mean_code: eval.mean_code,
            jacobian_norm: eval.jacobian_norm,
            steps_per_sec: s.steps_per_sec,
            dispatches_per_step: s.dispatches_per_step,
        })
    }

    fn epoch_line(&self, m: &EpochMetrics) -> Option<String> {
        Some(epoch_line(m))
    }

    fn start_epoch(&mut self, epoch: usize) {
        self.noise_rng = epoch_rng(self.cfg.seed, epoch as u64, NOISE_STREAM);
    }
}

/// Trains `model` under `objective` for `cfg.epochs`, calling `on_epoch` after each epoch.
#[allow(clippy::too_many_arguments)]
pub fn train<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    objective: &Objective,
    train_x: &[f32],
    test_x: &[f32],
    dim: usize,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics) -> Result<()>,
) -> Result<Vec<EpochMetrics>> {
    train_from(backend, model, objective, train_x, test_x, dim, cfg, None, &mut |m, _| on_epoch(m))
}

/// [`train`], continuing after `resume` when given; `on_epoch` also gets the optimizer.
#[allow(clippy::too_many_arguments)]
pub fn train_from<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    objective: &Objective,
    train_x: &[f32],
    test_x: &[f32],
    dim: usize,
    cfg: &TrainConfig,
    resume: Option<Resume>,
    on_epoch: &mut dyn FnMut(&EpochMetrics, EpochEnd<'_, B>) -> Result<()>,
) -> Result<Vec<EpochMetrics>> {
    cfg.validate()?;
    let mut task = ReconstructionTask::new(backend, model, objective, train_x, test_x, dim, cfg)?;
    fit_from(backend, &mut task, cfg, resume, on_epoch)
}
