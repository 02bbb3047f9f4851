//! Host side of `shaders/loss.wgsl`: losses, L1 activity penalty, KL sparsity.
//!
//! Forward: a partial-sum pass, then reduce.wgsl's `sum_finish` (one dispatch when the
//! input fits one workgroup's chunk). Backward: one elementwise (or per-row) pass that
//! reads `dout[0]` on the device.

use super::reduce::{self, check_u32, sum_plan};
use super::{fbits, Backend, GpuBackend, GpuBuf, Kernel, Loss, Shader, BCE_EPS};
use crate::error::Result;
use autoenc_kernels::loss::KL_EPS;

const SHADER: Shader = Shader { name: "loss", source: include_str!("../../../shaders/loss.wgsl") };
const TERMS_PARTIAL: Kernel = Kernel::new(SHADER, "terms_partial", "rrw");
const SOFTMAX_CE_ROWS: Kernel = Kernel::new(SHADER, "softmax_ce_rows", "rrw");
const GRAD_ELEMENTWISE: Kernel = Kernel::new(SHADER, "grad_elementwise", "rrrw");
const SOFTMAX_CE_GRAD: Kernel = Kernel::new(SHADER, "softmax_ce_grad", "rrrw");

/// Term codes of loss.wgsl beyond `Loss::code()`.
const TERM_L1: u32 = 4;
const TERM_KL: u32 = 5;

/// loss.wgsl `Params`: len, cols, code, chunk, alpha, rho, eps.
fn params(len: usize, cols: usize, code: u32, chunk: usize, alpha: f32, rho: f32) -> [u32; 7] {
    let eps = if code == TERM_KL { KL_EPS } else { BCE_EPS };
    [len as u32, cols as u32, code, chunk as u32, fbits(alpha), fbits(rho), fbits(eps)]
}

/// `out[0] = alpha * sum_i term(a_i, b_i)`.
#[allow(clippy::too_many_arguments)]
fn sum_terms(
    gpu: &GpuBackend,
    a: &GpuBuf,
    b: &GpuBuf,
    out: &GpuBuf,
    len: usize,
    code: u32,
    alpha: f32,
    rho: f32,
) -> Result<()> {
    let (groups, chunk) = sum_plan(len);
    if groups == 1 {
        return gpu.dispatch(&TERMS_PARTIAL, &[a, b, out], &params(len, 0, code, chunk, alpha, rho), [1, 1, 1]);
    }
    let partials = gpu.scratch(groups, "loss partials")?;
    gpu.dispatch_1d(&TERMS_PARTIAL, &[a, b, &partials], &params(len, 0, code, chunk, 1.0, rho), groups, 1)?;
    reduce::sum_finish(gpu, &partials, out, groups, alpha)
}

/// The mean's denominator (rows for softmax cross-entropy, every element otherwise).
fn count(loss: Loss, rows: usize, cols: usize) -> usize {
    if loss == Loss::SoftmaxCrossEntropy {
        rows
    } else {
        rows * cols
    }
}

fn check_pair(gpu: &GpuBackend, a: &GpuBuf, b: &GpuBuf, len: usize, what: &str) -> Result<()> {
    check_u32(len, what)?;
    gpu.check_len(a, len, &format!("{what} pred"))?;
    gpu.check_len(b, len, &format!("{what} target"))
}

pub(super) fn forward(
    gpu: &GpuBackend,
    loss: Loss,
    pred: &GpuBuf,
    target: &GpuBuf,
    out: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let len = rows * cols;
    check_pair(gpu, pred, target, len, "loss")?;
    gpu.check_len(out, 1, "loss out")?;
    if len == 0 {
        return gpu.fill(out, 0.0);
    }
    let inv = 1.0 / count(loss, rows, cols) as f32;
    if loss != Loss::SoftmaxCrossEntropy {
        return sum_terms(gpu, pred, target, out, len, loss.code(), inv, 0.0);
    }
    let row_loss = gpu.scratch(rows, "softmax_ce row losses")?;
    gpu.dispatch_1d(&SOFTMAX_CE_ROWS, &[pred, target, &row_loss], &params(rows, cols, 3, 0, 1.0, 0.0), rows, 1)?;
    reduce::sum_scaled(gpu, &row_loss, out, rows, inv)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    gpu: &GpuBackend,
    loss: Loss,
    pred: &GpuBuf,
    target: &GpuBuf,
    dout: &GpuBuf,
    dpred: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let len = rows * cols;
    check_pair(gpu, pred, target, len, "loss_backward")?;
    gpu.check_len(dout, 1, "loss_backward dout")?;
    gpu.check_len(dpred, len, "loss_backward dpred")?;
    if len == 0 {
        return Ok(());
    }
    // Same rounding as the CPU: k / count once, then times dout on the device.
    let k = if loss == Loss::Mse { 2.0 } else { 1.0 };
    let alpha = (k / count(loss, rows, cols) as f64) as f32;
    let bufs = [pred, target, dout, dpred];
    if loss == Loss::SoftmaxCrossEntropy {
        gpu.dispatch_1d(&SOFTMAX_CE_GRAD, &bufs, &params(rows, cols, 3, 0, alpha, 0.0), rows, 1)
    } else {
        gpu.dispatch_1d(&GRAD_ELEMENTWISE, &bufs, &params(len, cols, loss.code(), 0, alpha, 0.0), len, 256)
    }
}

pub(super) fn l1_penalty(gpu: &GpuBackend, x: &GpuBuf, out: &GpuBuf, rows: usize, cols: usize) -> Result<()> {
    let len = rows * cols;
    check_u32(len, "l1_penalty")?;
    gpu.check_len(x, len, "l1_penalty x")?;
    gpu.check_len(out, 1, "l1_penalty out")?;
    if len == 0 {
        return gpu.fill(out, 0.0);
    }
    sum_terms(gpu, x, x, out, len, TERM_L1, 1.0 / rows as f32, 0.0)
}

pub(super) fn l1_penalty_backward(
    gpu: &GpuBackend,
    x: &GpuBuf,
    dout: &GpuBuf,
    dx: &GpuBuf,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let len = rows * cols;
    check_u32(len, "l1_penalty_backward")?;
    gpu.check_len(x, len, "l1_penalty_backward x")?;
    gpu.check_len(dout, 1, "l1_penalty_backward dout")?;
    gpu.check_len(dx, len, "l1_penalty_backward dx")?;
    let alpha = 1.0 / rows.max(1) as f32;
    gpu.dispatch_1d(&GRAD_ELEMENTWISE, &[x, x, dout, dx], &params(len, cols, TERM_L1, 0, alpha, 0.0), len, 256)
}

pub(super) fn kl_sparsity(gpu: &GpuBackend, rho_hat: &GpuBuf, rho: f32, out: &GpuBuf, len: usize) -> Result<()> {
    check_u32(len, "kl_sparsity")?;
    gpu.check_len(rho_hat, len, "kl_sparsity rho_hat")?;
    gpu.check_len(out, 1, "kl_sparsity out")?;
    if len == 0 {
        return gpu.fill(out, 0.0);
    }
    sum_terms(gpu, rho_hat, rho_hat, out, len, TERM_KL, 1.0, rho)
}

pub(super) fn kl_sparsity_backward(
    gpu: &GpuBackend,
    rho_hat: &GpuBuf,
    rho: f32,
    dout: &GpuBuf,
    drho_hat: &GpuBuf,
    len: usize,
) -> Result<()> {
    check_u32(len, "kl_sparsity_backward")?;
    gpu.check_len(rho_hat, len, "kl_sparsity_backward rho_hat")?;
    gpu.check_len(dout, 1, "kl_sparsity_backward dout")?;
    gpu.check_len(drho_hat, len, "kl_sparsity_backward drho_hat")?;
    let bufs = [rho_hat, rho_hat, dout, drho_hat];
    gpu.dispatch_1d(&GRAD_ELEMENTWISE, &bufs, &params(len, 0, TERM_KL, 0, 1.0, rho), len, 256)
}
