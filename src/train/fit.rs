//! The one training loop. It owns everything every phase shares: seeded shuffling, one
//! tape per step, the optimizer update and its learning-rate schedule, the loss summed on
//! the device and read back every `check_every` steps (never per op), the divergence
//! check, timing, dispatch counts and the progress bar. What a step computes and how an
//! epoch is evaluated belong to the [`Task`].

use super::config::TrainConfig;
use super::guard::DivergenceGuard;
use super::progress::{print_line, progress_bar};
use crate::autodiff::{Tape, Var};
use crate::backend::prelude::*;
use crate::data::batches::shuffled_indices;
use crate::error::Result;
use crate::nn::{Bound, Params};
use crate::optim::{Optimizer, OptimizerState};
use std::time::Instant;

/// What the loop measured in one epoch, whatever the task.
#[derive(Clone, Copy, Debug)]
pub struct EpochStats {
    pub epoch: usize,
    /// The per-example mean of the batch losses (batches weighted by their rows).
    pub train_loss: f64,
    /// When the epoch started (seconds reported include the evaluation).
    pub start: Instant,
    pub steps_per_sec: f64,
    /// Kernel dispatches per step, where the backend counts them.
    pub dispatches_per_step: Option<f64>,
}

/// One thing the loop can train: a model and the objective of one phase.
pub trait Task<B: Backend> {
    /// One row of the phase's metrics.
    type Metrics;
    /// Names the objective in the divergence error ("loss", "classifier loss").
    fn loss_name(&self) -> &'static str {
        "loss"
    }
    /// The parameters the optimizer updates.
    fn params(&self) -> &Params<B>;
    /// Training examples; the loop shuffles `0..examples()` into batches.
    fn examples(&self) -> usize;
    /// The scalar loss (a mean over the batch) of training rows `idx`, on `tape` with the
    /// parameters bound as `p`.
    fn batch_loss(&mut self, tape: &Tape<B>, p: &Bound<B>, idx: &[usize]) -> Result<Var>;
    /// Evaluates the model after an epoch and makes the metrics row.
    fn end_epoch(&mut self, stats: EpochStats) -> Result<Self::Metrics>;
    /// The line printed after each epoch, if any.
    fn epoch_line(&self, m: &Self::Metrics) -> Option<String>;
    /// Called before each epoch's first step (to reseed per-epoch randomness, so a resumed
    /// run draws what an uninterrupted one would).
    fn start_epoch(&mut self, _epoch: usize) {}
}

/// Where a resumed run starts: after epoch `epoch`, with the optimizer as it was then.
pub struct Resume {
    pub epoch: usize,
    pub optimizer: OptimizerState,
}

/// The callback of [`fit_from`], after each epoch.
pub type OnEpoch<'f, M, B> = dyn FnMut(&M, EpochEnd<'_, B>) -> Result<()> + 'f;

/// What `on_epoch` of [`fit_from`] gets besides the metrics: the state to checkpoint.
pub struct EpochEnd<'a, B: Backend> {
    pub epoch: usize,
    pub optimizer: &'a Optimizer<B>,
}

/// Trains `task` for `cfg.epochs`, calling `on_epoch` after each epoch (to write metrics
/// and checkpoints as they come).
pub fn fit<B: Backend, T: Task<B>>(
    backend: &B,
    task: &mut T,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&T::Metrics) -> Result<()>,
) -> Result<Vec<T::Metrics>> {
    fit_from(backend, task, cfg, None, &mut |m, _| on_epoch(m))
}

/// [`fit`], starting after `resume`'s epoch when given; `on_epoch` also gets the
/// optimizer, to checkpoint it.
pub fn fit_from<B: Backend, T: Task<B>>(
    backend: &B,
    task: &mut T,
    cfg: &TrainConfig,
    resume: Option<Resume>,
    on_epoch: &mut OnEpoch<'_, T::Metrics, B>,
) -> Result<Vec<T::Metrics>> {
    cfg.validate()?;
    let n = task.examples();
    let mut optimizer = Optimizer::new(backend, task.params(), cfg.optimizer, cfg.lr, cfg.weight_decay)?;
    let first_epoch = match resume {
        Some(r) => {
            optimizer.restore(backend, task.params(), r.optimizer)?;
            r.epoch + 1
        }
        None => 1,
    };
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let bar = progress_bar(cfg, steps_per_epoch);
    let mut history = Vec::new();
    let mut guard = DivergenceGuard::new();
    for epoch in first_epoch..=cfg.epochs {
        optimizer.lr = cfg.lr_at(epoch);
        task.start_epoch(epoch);
        let start = Instant::now();
        let dispatches_before = backend.dispatch_count();
        let order = shuffled_indices(n, cfg.seed, epoch as u64);
        // The loss is summed on the device over the whole epoch and read back every
        // `check_every` steps; a window's loss is the difference of two read-backs. Never
        // zeroed within the epoch, so the epoch's sum is one sequence of f32 additions
        // whatever `check_every` is (a resumed run may read back at another rate).
        let acc = backend.zeros(1, "epoch loss sum")?;
        let (mut loss_sum, mut weight_sum, mut pending, mut checked_weight) = (0.0f64, 0usize, 0usize, 0usize);
        if let Some(b) = &bar {
            b.reset();
            b.set_message(format!("epoch {epoch}/{}", cfg.epochs));
        }
        for (step, batch_idx) in order.chunks(cfg.batch_size).enumerate() {
            let rows = batch_idx.len();
            let tape = Tape::new(backend);
            let p = task.params().bind(&tape);
            let loss = task.batch_loss(&tape, &p, batch_idx)?;
            tape.backward(loss)?;
            optimizer.step(backend, task.params(), &p.grads())?;
            // Weighted by rows so the epoch mean is per example, whatever the last batch size.
            backend.axpy(rows as f32, &tape.value(loss).buf, &acc, 1)?;
            backend.flush()?;
            weight_sum += rows;
            pending += 1;
            // The run's first step is read alone: its loss (before any update) is the
            // baseline an exploding loss is measured against.
            let baseline = epoch == 1 && step == 0;
            if baseline || pending == cfg.check_every || step + 1 == steps_per_epoch {
                let sum = backend.download(&acc)?[0] as f64;
                guard.check_loss(
                    task.loss_name(),
                    (sum - loss_sum) / (weight_sum - checked_weight) as f64,
                    epoch,
                    step + 1,
                    cfg,
                )?;
                loss_sum = sum;
                checked_weight = weight_sum;
                pending = 0;
                if let Some(b) = &bar {
                    b.set_message(format!("epoch {epoch}/{} loss {:.5}", cfg.epochs, loss_sum / weight_sum as f64));
                }
            }
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let dispatches = match (dispatches_before, backend.dispatch_count()) {
            (Some(a), Some(b)) => Some((b - a) as f64 / steps_per_epoch as f64),
            _ => None,
        };
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / weight_sum as f64,
            start,
            steps_per_sec: steps_per_epoch as f64 / train_seconds,
            dispatches_per_step: dispatches,
        };
        guard.check_params(backend, task.params(), epoch, steps_per_epoch, cfg)?;
        let m = task.end_epoch(stats)?;
        if let Some(line) = task.epoch_line(&m) {
            print_line(bar.as_ref(), &line);
        }
        on_epoch(&m, EpochEnd { epoch, optimizer: &optimizer })?;
        history.push(m);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(history)
}
