//! Stacked autoencoders: greedy layer-wise pretraining (each AE trained on the codes of
//! the one below), then a softmax classifier on the top code, fine-tuned with the whole
//! stack or trained alone on the frozen stack.

use super::ae::{DenseAutoencoder, DenseConfig};
use crate::autodiff::{ops, Tape, Var};
use crate::backend::{Activation, Backend, Loss};
use crate::data::batches::{gather_labels, gather_rows, one_hot, shuffled_indices};
use crate::error::{Error, Result};
use crate::nn::{Bound, Linear, Params};
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::train::TrainConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;

/// The pretraining AE for layer `widths[i] -> widths[i+1]`: one sigmoid code layer and a
/// sigmoid output (inputs and codes all live in [0, 1], so BCE applies at every level).
pub fn layer_config(input: usize, code: usize) -> DenseConfig {
    DenseConfig {
        input,
        hidden: Vec::new(),
        code,
        activation: Activation::Sigmoid,
        code_activation: Activation::Sigmoid,
        output_activation: Activation::Sigmoid,
    }
}

/// A feed-forward classifier: dense sigmoid layers then a linear head trained with
/// softmax cross-entropy.
pub struct Classifier<B: Backend> {
    pub params: Params<B>,
    layers: Vec<Linear>,
    head: Linear,
    pub classes: usize,
}

impl<B: Backend> Classifier<B> {
    /// The encoder halves of `pretrained` (copied) under a freshly initialised head.
    pub fn from_pretrained(
        backend: &B,
        pretrained: &[DenseAutoencoder<B>],
        input: usize,
        classes: usize,
        seed: u64,
    ) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Params::default();
        let mut layers = Vec::new();
        let mut width = input;
        for (i, ae) in pretrained.iter().enumerate() {
            let enc = ae.encoder_layers().next().ok_or_else(|| Error::Config("empty pretrained AE".into()))?;
            if enc.inputs != width {
                return Err(Error::Shape(format!(
                    "pretrained layer {i} takes {} inputs, expected {width}",
                    enc.inputs
                )));
            }
            let layer = Linear::new(
                &mut params,
                backend,
                &mut rng,
                &format!("stack.{i}"),
                enc.inputs,
                enc.outputs,
                Activation::Sigmoid,
            )?;
            for (dst, src) in [(layer.w, enc.w), (layer.b, enc.b)] {
                let values = ae.params.list[src].value.to_vec(backend)?;
                let p = &mut params.list[dst];
                p.value = Tensor::from_slice(backend, p.value.shape.clone(), &values, &p.name)?;
            }
            width = enc.outputs;
            layers.push(layer);
        }
        let head = Linear::new(&mut params, backend, &mut rng, "head", width, classes, Activation::Identity)?;
        Ok(Classifier { params, layers, head, classes })
    }

    pub fn input_width(&self) -> usize {
        self.layers.first().map(|l| l.inputs).unwrap_or(self.head.inputs)
    }

    pub fn logits(&self, p: &Bound<B>, mut x: Var) -> Result<Var> {
        for layer in &self.layers {
            x = layer.forward_activation(p, x, Activation::Sigmoid)?.1;
        }
        self.head.forward(p, x)
    }

    /// Class predictions for `x` (rows of `input_width()`).
    pub fn predict(&self, backend: &B, x: &[f32], batch: usize) -> Result<Vec<u8>> {
        let dim = self.input_width();
        let n = x.len() / dim;
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(batch.max(1)) {
            let rows = batch.min(n - start);
            let xt = Tensor::from_slice(backend, [rows, dim], &x[start * dim..(start + rows) * dim], "predict input")?;
            let tape = Tape::new(backend);
            let p = self.params.bind_frozen(&tape);
            let logits = tape.value(self.logits(&p, tape.constant(&xt))?).to_vec(backend)?;
            for row in logits.chunks(self.classes) {
                let best = row.iter().enumerate().fold(0, |b, (i, &v)| if v > row[b] { i } else { b });
                out.push(best as u8);
            }
        }
        Ok(out)
    }

    /// Fraction of `y` predicted wrongly.
    pub fn error_rate(&self, backend: &B, x: &[f32], y: &[u8], batch: usize) -> Result<f64> {
        let pred = self.predict(backend, x, batch)?;
        let wrong = pred.iter().zip(y).filter(|(p, t)| p != t).count();
        Ok(wrong as f64 / y.len().max(1) as f64)
    }
}

/// One epoch of classifier training.
#[derive(Clone, Debug)]
pub struct ClassifierEpoch {
    pub epoch: usize,
    pub train_loss: f64,
    pub test_error: f64,
    pub seconds: f64,
}

/// Trains every parameter of `clf` with softmax cross-entropy on one-hot labels.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier<B: Backend>(
    backend: &B,
    clf: &Classifier<B>,
    train_x: &[f32],
    train_y: &[u8],
    test_x: &[f32],
    test_y: &[u8],
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&ClassifierEpoch) -> Result<()>,
) -> Result<Vec<ClassifierEpoch>> {
    cfg.validate()?;
    let dim = clf.input_width();
    let n = train_y.len();
    if n == 0 || train_x.len() != n * dim {
        return Err(Error::Shape(format!("classifier: {} values for {n} labels of width {dim}", train_x.len())));
    }
    let mut optimizer = Optimizer::new(backend, &clf.params, cfg.optimizer, cfg.lr, cfg.weight_decay)?;
    let mut history = Vec::new();
    for epoch in 1..=cfg.epochs {
        optimizer.lr = cfg.lr_at(epoch);
        let start = Instant::now();
        let acc = backend.zeros(1, "classifier loss sum")?;
        for idx in shuffled_indices(n, cfg.seed, epoch as u64).chunks(cfg.batch_size) {
            let x = Tensor::from_slice(backend, [idx.len(), dim], &gather_rows(train_x, dim, idx), "classifier batch")?;
            let t = one_hot(&gather_labels(train_y, idx), clf.classes)?;
            let target = Tensor::from_slice(backend, [idx.len(), clf.classes], &t, "classifier labels")?;
            let tape = Tape::new(backend);
            let p = clf.params.bind(&tape);
            let logits = clf.logits(&p, tape.constant(&x))?;
            let loss = ops::loss(&tape, logits, &target, Loss::SoftmaxCrossEntropy)?;
            tape.backward(loss)?;
            optimizer.step(backend, &clf.params, &p.grads())?;
            backend.axpy(idx.len() as f32, &tape.value(loss).buf, &acc, 1)?;
            backend.flush()?;
        }
        let train_loss = backend.download(&acc)?[0] as f64 / n as f64;
        if !train_loss.is_finite() {
            return Err(Error::NonFinite(format!("classifier loss became {train_loss} in epoch {epoch}")));
        }
        let m = ClassifierEpoch {
            epoch,
            train_loss,
            test_error: clf.error_rate(backend, test_x, test_y, 512)?,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&m)?;
        history.push(m);
    }
    Ok(history)
}
