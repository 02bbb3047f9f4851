//! The supervised phase of a stacked model: the [`Classifier`] learns softmax
//! cross-entropy on one-hot labels; evaluated by its test error after every epoch.

use super::config::TrainConfig;
use super::fit::{fit_from, EpochEnd, EpochStats, Resume, Task};
use crate::autodiff::{ops, Tape, Var};
use crate::backend::prelude::*;
use crate::backend::Loss;
use crate::data::batches::{epoch_rng, gather_labels, gather_rows, one_hot};
use crate::data::noise::Noise;
use crate::error::{Error, Result};
use crate::models::stacked::Classifier;
use crate::nn::{Bound, Params};
use crate::tensor::Tensor;
use rand::rngs::StdRng;

/// The stream of the training inputs' corruption (`--finetune-noise`), apart from the
/// shuffling's and the pretraining noise's.
const INPUT_NOISE_STREAM: u64 = 0x636c_666e_6f69;

/// One epoch of classifier training.
#[derive(Clone, Debug)]
pub struct ClassifierEpoch {
    pub epoch: usize,
    pub train_loss: f64,
    pub test_error: f64,
    pub seconds: f64,
}

/// A classifier and its labelled data, as a [`Task`] for the loop.
pub struct ClassifierTask<'a, B: Backend> {
    backend: &'a B,
    clf: &'a Classifier<B>,
    train_x: &'a [f32],
    train_y: &'a [u8],
    test_x: &'a [f32],
    test_y: &'a [u8],
    /// "finetune" or "classifier": names the phase in the printed lines.
    phase: &'static str,
    /// Corrupts each training batch (a regulariser; the test inputs stay clean).
    noise: Noise,
    seed: u64,
    noise_rng: StdRng,
}

impl<'a, B: Backend> ClassifierTask<'a, B> {
    pub fn new(
        backend: &'a B,
        clf: &'a Classifier<B>,
        (train_x, train_y): (&'a [f32], &'a [u8]),
        (test_x, test_y): (&'a [f32], &'a [u8]),
        phase: &'static str,
        noise: Noise,
        seed: u64,
    ) -> Result<Self> {
        let dim = clf.input_width();
        let n = train_y.len();
        if n == 0 || train_x.len() != n * dim {
            return Err(Error::Shape(format!("classifier: {} values for {n} labels of width {dim}", train_x.len())));
        }
        let noise_rng = epoch_rng(seed, 1, INPUT_NOISE_STREAM);
        Ok(ClassifierTask { backend, clf, train_x, train_y, test_x, test_y, phase, noise, seed, noise_rng })
    }
}

impl<B: Backend> Task<B> for ClassifierTask<'_, B> {
    type Metrics = ClassifierEpoch;

    fn loss_name(&self) -> &'static str {
        "classifier loss"
    }

    fn params(&self) -> &Params<B> {
        &self.clf.params
    }

    fn examples(&self) -> usize {
        self.train_y.len()
    }

    fn batch_loss(&mut self, tape: &Tape<B>, p: &Bound<B>, idx: &[usize]) -> Result<Var> {
        let (dim, classes) = (self.clf.input_width(), self.clf.classes);
        let mut rows = gather_rows(self.train_x, dim, idx);
        self.noise.apply(&mut rows, &mut self.noise_rng);
        let x = Tensor::from_slice(self.backend, [idx.len(), dim], &rows, "classifier batch")?;
        let t = one_hot(&gather_labels(self.train_y, idx), classes)?;
        let target = Tensor::from_slice(self.backend, [idx.len(), classes], &t, "classifier labels")?;
        let logits = self.clf.logits(p, tape.constant(&x))?;
        ops::loss(tape, logits, &target, Loss::SoftmaxCrossEntropy)
    }

    fn end_epoch(&mut self, s: EpochStats) -> Result<ClassifierEpoch> {
        Ok(ClassifierEpoch {
            epoch: s.epoch,
            train_loss: s.train_loss,
            test_error: self.clf.error_rate(self.backend, self.test_x, self.test_y, 512)?,
            seconds: s.start.elapsed().as_secs_f64(),
        })
    }

    fn epoch_line(&self, m: &ClassifierEpoch) -> Option<String> {
        Some(format!(
            "{} epoch {:>3}  train_objective {:.5}  test_error {:.2}%  {:.1}s",
            self.phase,
            m.epoch,
            m.train_loss,
            100.0 * m.test_error,
            m.seconds
        ))
    }

    fn start_epoch(&mut self, epoch: usize) {
        // Reseeded per epoch, so a resumed run corrupts the same pixels.
        self.noise_rng = epoch_rng(self.seed, epoch as u64, INPUT_NOISE_STREAM);
    }
}

/// Trains every parameter of `clf` with softmax cross-entropy on one-hot labels, calling
/// `on_epoch` after each epoch. `phase` names the phase in the printed lines; `cfg.noise`
/// corrupts the training inputs (never the test inputs).
pub fn train_classifier<B: Backend>(
    backend: &B,
    clf: &Classifier<B>,
    train: (&[f32], &[u8]),
    test: (&[f32], &[u8]),
    phase: &'static str,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&ClassifierEpoch) -> Result<()>,
) -> Result<Vec<ClassifierEpoch>> {
    train_classifier_from(backend, clf, train, test, phase, cfg, None, &mut |m, _| on_epoch(m))
}

/// [`train_classifier`], continuing after `resume` when given; `on_epoch` also gets the
/// optimizer, to checkpoint it.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier_from<B: Backend>(
    backend: &B,
    clf: &Classifier<B>,
    train: (&[f32], &[u8]),
    test: (&[f32], &[u8]),
    phase: &'static str,
    cfg: &TrainConfig,
    resume: Option<Resume>,
    on_epoch: &mut dyn FnMut(&ClassifierEpoch, EpochEnd<'_, B>) -> Result<()>,
) -> Result<Vec<ClassifierEpoch>> {
    cfg.validate()?;
    let mut task = ClassifierTask::new(backend, clf, train, test, phase, cfg.noise, cfg.seed)?;
    fit_from(backend, &mut task, cfg, resume, on_epoch)
}
