//! The reconstruction phase: an autoencoder learns to reproduce its (possibly corrupted)
//! inputs under an [`Objective`]; evaluated on the test set after every epoch.

use super::config::TrainConfig;
use super::elbo::{evaluate_elbo, ElboEvaluation};
use super::evaluate::{evaluate, evaluate_against};
use super::fit::{fit_from, EpochEnd, EpochStats, Resume, Task};
use super::progress::epoch_line;
use crate::autodiff::{Tape, Var};
use crate::backend::prelude::*;
use crate::data::batches::{epoch_rng, gather_rows, stream_seed};
use crate::error::{Error, Result};
use crate::models::objective::Objective;
use crate::models::{Draw, Model};
use crate::nn::{Bound, Params};
use crate::tensor::Tensor;
use rand::rngs::StdRng;

/// The random stream of the input corruption, reseeded each epoch.
const NOISE_STREAM: u64 = 0x6e6f697365;
/// The stream of the test images' corruption: drawn once per run (epoch 0, which no
/// training epoch uses), so every epoch's noisy-input figures score the same inputs.
const TEST_NOISE_STREAM: u64 = 0x746e6f697365;
/// The stream of a variational model's latent draws (eps), keyed by epoch; within an
/// epoch, step s uses the draws from s * batch_size * code on.
const LATENT_STREAM: u64 = 0x6c6174656e74;

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
    /// The variational autoencoder's test negative ELBO and its parts.
    pub elbo: Option<ElboEvaluation>,
    /// Runs with `--noise`: the test images corrupted as in training, reconstructed and
    /// scored against the clean ones (the denoising papers' figure).
    pub noisy_input: Option<NoisyInputEvaluation>,
}

/// A denoising run's test figures on corrupted inputs, against the clean images.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NoisyInputEvaluation {
    /// The reconstruction loss (as `test_recon_loss`, but from corrupted inputs).
    pub loss: f64,
    /// Squared error summed over pixels, averaged over test images.
    pub sse_per_image: f64,
}

/// An autoencoder, its objective and its data, as a [`Task`] for the loop.
pub struct ReconstructionTask<'a, B: Backend, M: Model<B> + ?Sized> {
    backend: &'a B,
    model: &'a M,
    objective: &'a Objective,
    train_x: &'a [f32],
    test_x: &'a [f32],
    /// The test images corrupted once, when the run has noise.
    noisy_test_x: Option<Vec<f32>>,
    dim: usize,
    cfg: &'a TrainConfig,
    noise_rng: StdRng,
    /// The epoch's latent stream and the step within the epoch (variational models).
    latent_seed: u64,
    step: u64,
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
        let latent_seed = stream_seed(cfg.seed, 1, LATENT_STREAM);
        let noisy_test_x = (!cfg.noise.is_none()).then(|| {
            let mut x = test_x.to_vec();
            cfg.noise.apply(&mut x, &mut epoch_rng(cfg.seed, 0, TEST_NOISE_STREAM));
            x
        });
        Ok(ReconstructionTask {
            backend,
            model,
            objective,
            train_x,
            test_x,
            noisy_test_x,
            dim,
            cfg,
            noise_rng,
            latent_seed,
            step: 0,
        })
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
        let fwd = if self.objective.variational.is_some() {
            let code = self.model.code_shape(1).iter().product::<usize>() as u64;
            let draw = Draw { seed: self.latent_seed, offset: self.step * self.cfg.batch_size as u64 * code };
            self.model.forward_sampled(p, tape.constant(&x), draw)?
        } else {
            self.model.forward(p, tape.constant(&x))?
        };
        self.step += 1;
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
        let elbo = match self.objective.variational {
            Some(_) => Some(evaluate_elbo(
                self.backend,
                self.model,
                self.objective.reconstruction,
                self.test_x,
                self.dim,
                self.cfg.batch_size.max(256),
                self.cfg.seed,
            )?),
            None => None,
        };
        let noisy_input = match &self.noisy_test_x {
            Some(noisy) => {
                let batch = self.cfg.batch_size.max(256);
                let e = evaluate_against(
                    self.backend,
                    self.model,
                    self.objective.reconstruction,
                    noisy,
                    self.test_x,
                    self.dim,
                    batch,
                )?;
                Some(NoisyInputEvaluation { loss: e.loss, sse_per_image: e.sse_per_image })
            }
            None => None,
        };
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
            elbo,
            noisy_input,
        })
    }

    fn epoch_line(&self, m: &EpochMetrics) -> Option<String> {
        Some(epoch_line(m))
    }

    fn start_epoch(&mut self, epoch: usize) {
        self.noise_rng = epoch_rng(self.cfg.seed, epoch as u64, NOISE_STREAM);
        self.latent_seed = stream_seed(self.cfg.seed, epoch as u64, LATENT_STREAM);
        self.step = 0;
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
