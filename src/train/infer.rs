//! Inference with a trained model: reconstructions, codes, decodings, in bounded batches.

use crate::autodiff::Tape;
use crate::backend::prelude::*;
use crate::error::Result;
use crate::models::Model;
use crate::tensor::Tensor;

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

/// Rows per forward pass in inference. It bounds memory for whole datasets: the tape
/// holds every activation of a batch until the batch is done, about 0.24 MB per image
/// for the conv autoencoder, so 256 rows keep that to about 60 MB (512 made inference
/// the peak of a conv training run's memory).
pub const INFER_BATCH: usize = 256;

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
