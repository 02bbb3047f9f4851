//! Evaluation on a held-out set: forward passes without gradients, the reconstruction
//! loss, the squared error per image, the mean code and the encoder's Jacobian norm.

use crate::autodiff::Tape;
use crate::backend::{Activation, Backend};
use crate::error::{Error, Result};
use crate::models::objective::{reconstruction_loss, Reconstruction};
use crate::models::Model;
use crate::tensor::Tensor;
use autoenc_kernels::activation;

/// Results of a forward pass over a whole set, without gradients.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub loss: f64,
    pub sse_per_image: f64,
    pub mean_code: f64,
    /// Mean `||J_f(x)||_F` over the set, when the encoder is one dense layer.
    pub jacobian_norm: Option<f64>,
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
