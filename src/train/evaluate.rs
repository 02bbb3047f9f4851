//! Evaluation on a held-out set: forward passes without gradients, the reconstruction
//! loss, the squared error per image, the mean code and the encoder's Jacobian norm.
//!
//! Everything is computed on the device with Backend ops; per batch only the loss (a
//! scalar) and small `[rows]` vectors come back: each row's squared error, code sum and,
//! for the Jacobian norm, squared norm (its square root is taken on the host). They are
//! accumulated in f64 on the host, as the host sums they replace were.

use crate::autodiff::Tape;
use crate::backend::prelude::*;
use crate::backend::{Activation, MatmulDims};
use crate::error::{Error, Result};
use crate::models::objective::{reconstruction_loss, Reconstruction};
use crate::models::Model;
use crate::tensor::Tensor;

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
    evaluate_against(backend, model, kind, x, x, dim, batch)
}

/// [`evaluate`] with the reconstructions of `input` scored against `target` (a denoising
/// model's corrupted inputs against the clean images); the code statistics are those of
/// `input`.
pub fn evaluate_against<B: Backend, M: Model<B> + ?Sized>(
    backend: &B,
    model: &M,
    kind: Reconstruction,
    input: &[f32],
    target: &[f32],
    dim: usize,
    batch: usize,
) -> Result<Evaluation> {
    if input.len() != target.len() {
        return Err(Error::Shape(format!(
            "evaluate: {} input values against {} target values",
            input.len(),
            target.len()
        )));
    }
    let n = input.len() / dim;
    if n == 0 {
        return Ok(Evaluation::default());
    }
    let (mut loss, mut sse, mut code_sum, mut code_count) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    let mut jacobian_sum: Option<f64> = None;
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let range = start * dim..(start + rows) * dim;
        let xt = Tensor::from_slice(backend, model.input_shape(rows), &input[range.clone()], "eval batch")?;
        let tt = if std::ptr::eq(input, target) {
            xt.clone()
        } else {
            Tensor::from_slice(backend, model.input_shape(rows), &target[range], "eval target")?
        };
        let tape = Tape::new(backend);
        let p = model.params().bind_frozen(&tape);
        let fwd = model.forward(&p, tape.constant(&xt))?;
        let l = reconstruction_loss(&tape, &fwd, &tt, kind)?;
        loss += backend.download(&tape.value(l).buf)?[0] as f64 * rows as f64;
        // The squared error and the code, summed per row on the device (f32 over one
        // image at a time), the rows added up here in f64.
        let recon = tape.value(fwd.recon);
        let len = recon.numel();
        let diff = backend.empty(len, "eval recon - x")?;
        let neg_x = backend.empty(len, "eval -x")?;
        backend.scale(&tt.buf, -1.0, &neg_x, len)?;
        backend.add(&recon.buf, &neg_x, &diff, len)?;
        let sq = backend.empty(len, "eval (recon - x)^2")?;
        backend.mul(&diff, &diff, &sq, len)?;
        sse += sum_rows(backend, &sq, rows, len / rows)?;
        let code = tape.value(fwd.code);
        code_sum += sum_rows(backend, &code.buf, rows, code.numel() / rows)?;
        code_count += code.numel();
        if let (Some((z, w, act)), true) = (fwd.code_layer, fwd.single_layer_encoder) {
            let sq = jacobian_sq_norms(backend, act, &tape.value(z), &tape.value(w), rows)?;
            *jacobian_sum.get_or_insert(0.0) += backend.download(&sq)?.iter().map(|&v| (v as f64).sqrt()).sum::<f64>();
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

/// `sum_c x[r, c]` for each row of `x: [rows, cols]` on the device (a matmul against
/// ones), downloaded as `rows` values and added up in f64.
fn sum_rows<B: Backend>(backend: &B, x: &B::Buf, rows: usize, cols: usize) -> Result<f64> {
    let ones = backend.upload(&vec![1.0; cols], "eval ones")?;
    let out = backend.empty(rows, "eval row sums")?;
    backend.matmul(x, &ones, &out, MatmulDims::new(rows, cols, 1))?;
    Ok(backend.download(&out)?.iter().map(|&v| v as f64).sum())
}

/// `||J_f(x_r)||_F^2 = sum_j f'(z_rj)^2 sum_i W_ji^2` for each row of `z: [rows, hidden]`
/// with `W: [hidden, inputs]`, on the device: f' from activation_backward with dy = 1, the
/// row sums of W^2 and the per-row dot products as matmuls against ones. Returns a
/// `[rows]` buffer.
pub fn jacobian_sq_norms<B: Backend>(
    backend: &B,
    act: Activation,
    z: &Tensor<B>,
    w: &Tensor<B>,
    rows: usize,
) -> Result<B::Buf> {
    let len = z.numel();
    let hidden = len / rows.max(1);
    let inputs = w.numel() / hidden.max(1);
    let y = backend.empty(len, "jacobian f(z)")?;
    backend.activation_forward(act, &z.buf, &y, len)?;
    let ones = backend.upload(&vec![1.0; len.max(inputs)], "jacobian ones")?;
    let fprime = backend.empty(len, "jacobian f'(z)")?;
    backend.activation_backward(act, &z.buf, &y, &ones, &fprime, len)?;
    let fprime_sq = backend.empty(len, "jacobian f'(z)^2")?;
    backend.mul(&fprime, &fprime, &fprime_sq, len)?;
    let w_sq = backend.empty(w.numel(), "jacobian W^2")?;
    backend.mul(&w.buf, &w.buf, &w_sq, w.numel())?;
    let row_sq = backend.empty(hidden, "jacobian sum_i W_ji^2")?;
    backend.matmul(&w_sq, &ones, &row_sq, MatmulDims::new(hidden, inputs, 1))?;
    let out = backend.empty(rows, "jacobian norms^2")?;
    backend.matmul(&fprime_sq, &row_sq, &out, MatmulDims::new(rows, hidden, 1))?;
    Ok(out)
}
