//! The variational autoencoder's test figure: the negative ELBO per image in nats, with
//! its reconstruction and KL parts, from one draw of the latent per test image (as
//! PyTorch's example evaluates it). The draws come from their own stream, the same every
//! epoch, so the curve moves with the model and not with the noise.

use crate::autodiff::Tape;
use crate::backend::prelude::*;
use crate::data::batches::stream_seed;
use crate::error::{Error, Result};
use crate::models::objective::{elbo_terms, Reconstruction};
use crate::models::{Draw, Model};
use crate::tensor::Tensor;

/// The stream of the evaluation's latent draws.
const EVAL_STREAM: u64 = 0x656c626f;

/// Per-image means over a set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ElboEvaluation {
    /// reconstruction + KL (beta = 1, whatever the training's beta).
    pub neg_elbo: f64,
    pub reconstruction: f64,
    pub kl: f64,
}

/// The negative ELBO of `model` over `x` (`dim` values per example) in batches of `batch`.
pub fn evaluate_elbo<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    kind: Reconstruction,
    x: &[f32],
    dim: usize,
    batch: usize,
    seed: u64,
) -> Result<ElboEvaluation> {
    let n = x.len() / dim;
    if n == 0 {
        return Ok(ElboEvaluation::default());
    }
    let draw_seed = stream_seed(seed, 0, EVAL_STREAM);
    let code = model.code_shape(1).iter().product::<usize>() as u64;
    let (mut rec_sum, mut kl_sum) = (0.0f64, 0.0f64);
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let xt =
            Tensor::from_slice(backend, model.input_shape(rows), &x[start * dim..(start + rows) * dim], "eval batch")?;
        let tape = Tape::new(backend);
        let p = model.params().bind_frozen(&tape);
        let draw = Draw { seed: draw_seed, offset: start as u64 * code };
        let fwd = model.forward_sampled(&p, tape.constant(&xt), draw)?;
        let (rec, kl) = elbo_terms(&tape, &fwd, &xt, kind)?;
        rec_sum += backend.download(&tape.value(rec).buf)?[0] as f64 * rows as f64;
        kl_sum += backend.download(&tape.value(kl).buf)?[0] as f64 * rows as f64;
    }
    let (reconstruction, kl) = (rec_sum / n as f64, kl_sum / n as f64);
    if !(reconstruction + kl).is_finite() {
        return Err(Error::NonFinite(format!(
            "test negative ELBO is not finite (reconstruction {reconstruction}, KL {kl}; try a smaller --lr)"
        )));
    }
    Ok(ElboEvaluation { neg_elbo: reconstruction + kl, reconstruction, kl })
}
