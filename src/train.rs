//! The training loop: seeded batches, corruption, one tape per step, the optimizer
//! update, periodic loss read-back (never per op), evaluation on the test set.

use crate::autodiff::Tape;
use crate::backend::{Activation, Backend};
use crate::data::batches::{gather_rows, shuffled_indices};
use crate::data::noise::Noise;
use crate::error::{Error, Result};
use crate::models::objective::{reconstruction_loss, Objective, Reconstruction};
use crate::models::Model;
use crate::optim::{Optimizer, OptimizerKind};
use crate::tensor::Tensor;
use autoenc_kernels::activation;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::IsTerminal;
use std::time::Instant;

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

/// Results of a forward pass over a whole set, without gradients.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub loss: f64,
    pub sse_per_image: f64,
    pub mean_code: f64,
    /// Mean `||J_f(x)||_F` over the set, when the encoder is one dense layer.
    pub jacobian_norm: Option<f64>,
}

/// Trains `model` for `cfg.epochs`, calling `on_epoch` after each epoch (to write metrics
/// and checkpoints as they come).
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
    cfg.validate()?;
    let n = train_x.len() / dim;
    if n == 0 {
        return Err(Error::Config("the training set is empty".into()));
    }
    let mut optimizer = Optimizer::new(backend, model.params(), cfg.optimizer, cfg.lr, cfg.weight_decay)?;
    let mut noise_rng = StdRng::seed_from_u64(cfg.seed ^ 0x6e6f697365);
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let bar = progress_bar(cfg, steps_per_epoch);
    let mut history = Vec::new();
    for epoch in 1..=cfg.epochs {
        optimizer.lr = cfg.lr_at(epoch);
        let start = Instant::now();
        let dispatches_before = backend.dispatch_count();
        let order = shuffled_indices(n, cfg.seed, epoch as u64);
        // The loss is summed on the device and read back every `check_every` steps.
        let acc = backend.zeros(1, "epoch loss sum")?;
        let (mut loss_sum, mut weight_sum, mut pending) = (0.0f64, 0usize, 0usize);
        if let Some(b) = &bar {
            b.reset();
            b.set_message(format!("epoch {epoch}/{}", cfg.epochs));
        }
        for (step, batch_idx) in order.chunks(cfg.batch_size).enumerate() {
            let rows = batch_idx.len();
            let clean = gather_rows(train_x, dim, batch_idx);
            let mut input = clean.clone();
            cfg.noise.apply(&mut input, &mut noise_rng);
            let target = Tensor::from_slice(backend, model.input_shape(rows), &clean, "batch target")?;
            let x = Tensor::from_slice(backend, model.input_shape(rows), &input, "batch input")?;

            let tape = Tape::new(backend);
            let p = model.params().bind(&tape);
            let xv = tape.constant(&x);
            let fwd = model.forward(&p, xv)?;
            let terms = objective.evaluate(&tape, &fwd, &target)?;
            tape.backward(terms.total)?;
            optimizer.step(backend, model.params(), &p.grads())?;
            // Weighted by rows so the epoch mean is per example, whatever the last batch size.
            backend.axpy(rows as f32, &tape.value(terms.total).buf, &acc, 1)?;
            backend.flush()?;
            weight_sum += rows;
            pending += 1;
            if pending == cfg.check_every || step + 1 == steps_per_epoch {
                let v = backend.download(&acc)?[0] as f64;
                if !v.is_finite() {
                    return Err(Error::NonFinite(format!(
                        "loss became {v} in epoch {epoch} near step {} (try a smaller --lr)",
                        step + 1
                    )));
                }
                loss_sum = v;
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
        let eval = evaluate(backend, model, objective.reconstruction, test_x, dim, cfg.batch_size.max(256))?;
        let m = EpochMetrics {
            epoch,
            train_loss: loss_sum / weight_sum as f64,
            test_loss: eval.loss,
            test_sse_per_image: eval.sse_per_image,
            seconds: start.elapsed().as_secs_f64(),
            mean_code: eval.mean_code,
            jacobian_norm: eval.jacobian_norm,
            steps_per_sec: steps_per_epoch as f64 / train_seconds,
            dispatches_per_step: dispatches,
        };
        if let Some(b) = &bar {
            b.println(epoch_line(&m));
        } else {
            eprintln!("{}", epoch_line(&m));
        }
        on_epoch(&m)?;
        history.push(m);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(history)
}

fn progress_bar(cfg: &TrainConfig, steps: usize) -> Option<ProgressBar> {
    if !cfg.progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(steps as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps ({per_sec}, eta {eta})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

pub fn epoch_line(m: &EpochMetrics) -> String {
    let mut s = format!(
        "epoch {:>3}  train_loss {:.6}  test_loss {:.6}  test_sse/img {:.3}  {:.1}s  {:.1} steps/s",
        m.epoch, m.train_loss, m.test_loss, m.test_sse_per_image, m.seconds, m.steps_per_sec
    );
    if let Some(d) = m.dispatches_per_step {
        s.push_str(&format!("  {d:.0} dispatches/step"));
    }
    s
}

/// Forward passes over `x` (no gradients): the reconstruction loss, the summed squared
/// error per image and the mean code activation.
pub fn evaluate<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    kind: Reconstruction,
    x: &[f32],
    dim: usize,
    batch: usize,
) -> Result<Evaluation> {
    let n = x.len() / dim;
    if n == 0 {
        return Ok(Evaluation::default());
    }
    let (mut loss, mut sse, mut code_sum, mut code_count) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    let mut jacobian_sum: Option<f64> = None;
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let xb = &x[start * dim..(start + rows) * dim];
        let xt = Tensor::from_slice(backend, model.input_shape(rows), xb, "eval batch")?;
        let tape = Tape::new(backend);
        let p = model.params().bind_frozen(&tape);
        let fwd = model.forward(&p, tape.constant(&xt))?;
        let l = reconstruction_loss(&tape, &fwd, &xt, kind)?;
        loss += backend.download(&tape.value(l).buf)?[0] as f64 * rows as f64;
        let recon = tape.value(fwd.recon).to_vec(backend)?;
        sse += recon.iter().zip(xb).map(|(&r, &t)| ((r - t) as f64).powi(2)).sum::<f64>();
        let code = tape.value(fwd.code).to_vec(backend)?;
        code_sum += code.iter().map(|&c| c as f64).sum::<f64>();
        code_count += code.len();
        if let (Some((z, w, act)), true) = (fwd.code_layer, fwd.single_layer_encoder) {
            let norms = jacobian_norms(act, &tape.value(z).to_vec(backend)?, &tape.value(w).to_vec(backend)?, rows);
            *jacobian_sum.get_or_insert(0.0) += norms.iter().sum::<f64>();
        }
    }
    if !loss.is_finite() {
        return Err(Error::NonFinite(format!("test loss is {loss} (try a smaller --lr)")));
    }
    Ok(Evaluation {
        loss: loss / n as f64,
        sse_per_image: sse / n as f64,
        mean_code: code_sum / code_count.max(1) as f64,
        jacobian_norm: jacobian_sum.map(|s| s / n as f64),
    })
}

/// `||J_f(x_r)||_F = sqrt(sum_j f'(z_rj)^2 sum_i W_ji^2)` for each row of `z: [rows, hidden]`,
/// on the host with the CPU reference kernels (f' from activation_backward with dy = 1).
pub fn jacobian_norms(act: Activation, z: &[f32], w: &[f32], rows: usize) -> Vec<f64> {
    let hidden = z.len() / rows.max(1);
    let inputs = w.len() / hidden.max(1);
    let row_sq: Vec<f64> = w.chunks(inputs.max(1)).map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum()).collect();
    let mut y = vec![0.0; z.len()];
    activation::activation_forward(act, z, &mut y);
    let mut fprime = vec![0.0; z.len()];
    activation::activation_backward(act, z, &y, &vec![1.0; z.len()], &mut fprime);
    fprime
        .chunks(hidden.max(1))
        .map(|d| d.iter().zip(&row_sq).map(|(&g, s)| (g as f64).powi(2) * s).sum::<f64>().sqrt())
        .collect()
}

/// Which output of the forward pass to collect.
#[derive(Clone, Copy)]
enum Output {
    Recon,
    Code,
}

/// Forward passes over `x` in batches of [`INFER_BATCH`], collecting one output.
fn infer<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    x: &[f32],
    dim: usize,
    what: Output,
) -> Result<Vec<f32>> {
    let n = x.len() / dim;
    let mut out = Vec::new();
    for start in (0..n).step_by(INFER_BATCH) {
        let rows = INFER_BATCH.min(n - start);
        let xt = Tensor::from_slice(
            backend,
            model.input_shape(rows),
            &x[start * dim..(start + rows) * dim],
            "inference input",
        )?;
        let tape = Tape::new(backend);
        let p = model.params().bind_frozen(&tape);
        let fwd = model.forward(&p, tape.constant(&xt))?;
        let v = match what {
            Output::Recon => fwd.recon,
            Output::Code => fwd.code,
        };
        out.extend(tape.value(v).to_vec(backend)?);
    }
    Ok(out)
}

/// Rows per forward pass in inference (bounds device memory for whole datasets).
pub const INFER_BATCH: usize = 512;

/// Reconstructions of `x` (after the output activation).
pub fn reconstruct<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    x: &[f32],
    dim: usize,
) -> Result<Vec<f32>> {
    infer(backend, model, x, dim, Output::Recon)
}

/// Codes of `x`.
pub fn encode<B: Backend, M: Model<B> + ?Sized>(backend: &B, model: &M, x: &[f32], dim: usize) -> Result<Vec<f32>> {
    infer(backend, model, x, dim, Output::Code)
}

/// Decodes `codes` (`n` codes) into reconstructions.
pub fn decode<B: Backend, M: Model<B> + ?Sized>(backend: &B, model: &M, codes: &[f32], n: usize) -> Result<Vec<f32>> {
    let ct = Tensor::from_slice(backend, model.code_shape(n), codes, "decode input")?;
    let tape = Tape::new(backend);
    let p = model.params().bind_frozen(&tape);
    let recon = model.decode(&p, tape.constant(&ct))?;
    tape.value(recon).to_vec(backend)
}
