//! Stacked autoencoders: the pretraining AE of each layer and the softmax classifier
//! built on the pretrained encoders. Greedy layer-wise pretraining and the supervised
//! phase both run through the one training loop (src/train/).

use super::ae::{DenseAutoencoder, DenseConfig};
use crate::autodiff::{Tape, Var};
use crate::backend::{Activation, Backend};
use crate::error::{Error, Result};
use crate::nn::{Bound, Linear, Params};
use crate::tensor::Tensor;
use rand::rngs::StdRng;
use rand::SeedableRng;

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
