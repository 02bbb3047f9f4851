//! [`LossOps`], the host side of `shaders/loss.wgsl`: losses, L1 activity penalty, KL
//! sparsity.
//!
//! Forward: a partial-sum pass (`<op>_partial`), then reduce.wgsl's `sum_all_finish` (one
//! dispatch when the input fits one workgroup's chunk). Backward: one elementwise (or
//! per-row) pass that reads `dout[0]` on the device. The term code in the params is a
//! `Loss::code()` or one of the penalty codes of `consts.rs`.

use super::consts::{LOSS_TERM_KL, LOSS_TERM_L1};
use super::reduce::{self, check_u32, sum_plan};
use super::{fbits, Core, GpuBackend, GpuBuf, Kernel, Loss, LossOps, Shader, BCE_EPS};
use crate::error::Result;
use autoenc_kernels::loss::KL_EPS;

const SHADER: Shader = Shader { name: "loss", source: include_str!("../../../shaders/loss.wgsl") };
const LOSS_FORWARD_PARTIAL: Kernel = Kernel::new(SHADER, "loss_forward_partial", "rrw");
const LOSS_FORWARD_SOFTMAX_ROWS: Kernel = Kernel::new(SHADER, "loss_forward_softmax_rows", "rrw");
const LOSS_BACKWARD: Kernel = Kernel::new(SHADER, "loss_backward", "rrrw");
const LOSS_BACKWARD_SOFTMAX: Kernel = Kernel::new(SHADER, "loss_backward_softmax", "rrrw");
const L1_PENALTY_PARTIAL: Kernel = Kernel::new(SHADER, "l1_penalty_partial", "rrw");
const L1_PENALTY_BACKWARD: Kernel = Kernel::new(SHADER, "l1_penalty_backward", "rrrw");
const KL_SPARSITY_PARTIAL: Kernel = Kernel::new(SHADER, "kl_sparsity_partial", "rrw");
const KL_SPARSITY_BACKWARD: Kernel = Kernel::new(SHADER, "kl_sparsity_backward", "rrrw");

/// Softmax cross-entropy's code (the row kernels do not switch on it).
const SOFTMAX_CE: u32 = Loss::SoftmaxCrossEntropy as u32;

/// loss.wgsl `Params`: len, cols, code, chunk, alpha, rho, eps.
fn params(len: usize, cols: usize, code: u32, chunk: usize, alpha: f32, rho: f32) -> [u32; 7] {
    let eps = if code == LOSS_TERM_KL { KL_EPS } else { BCE_EPS };
    [len as u32, cols as u32, code, chunk as u32, fbits(alpha), fbits(rho), fbits(eps)]
}

/// `out[0] = alpha * sum_i term(a_i, b_i)` by the `partial` kernel of an op.
#[allow(clippy::too_many_arguments)]
fn sum_terms(
    gpu: &GpuBackend,
    partial: &Kernel,
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
        return gpu.dispatch(partial, &[a, b, out], &params(len, 0, code, chunk, alpha, rho), [1, 1, 1]);
    }
    let partials = gpu.scratch(groups, "loss partials")?;
    gpu.dispatch_1d(partial, &[a, b, &partials], &params(len, 0, code, chunk, 1.0, rho), groups, 1)?;
    reduce::sum_all_finish(gpu, &partials, out, groups, alpha)
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

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl LossOps for GpuBackend {
    fn loss_forward(
        &self,
        loss: Loss,
        pred: &GpuBuf,
        target: &GpuBuf,
        out: &GpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let len = rows * cols;
        check_pair(self, pred, target, len, "loss")?;
        self.check_len(out, 1, "loss out")?;
        if len == 0 {
            return self.fill(out, 0.0);
        }
        let inv = 1.0 / count(loss, rows, cols) as f32;
        if loss != Loss::SoftmaxCrossEntropy {
            return sum_terms(self, &LOSS_FORWARD_PARTIAL, pred, target, out, len, loss.code(), inv, 0.0);
        }
        let row_loss = self.scratch(rows, "softmax_ce row losses")?;
        self.dispatch_1d(
            &LOSS_FORWARD_SOFTMAX_ROWS,
            &[pred, target, &row_loss],
            &params(rows, cols, SOFTMAX_CE, 0, 1.0, 0.0),
            rows,
            1,
        )?;
        reduce::sum_scaled(self, &row_loss, out, rows, inv)
    }

    fn loss_backward(
        &self,
        loss: Loss,
        pred: &GpuBuf,
        target: &GpuBuf,
        dout: &GpuBuf,
        dpred: &GpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let len = rows * cols;
        check_pair(self, pred, target, len, "loss_backward")?;
        self.check_len(dout, 1, "loss_backward dout")?;
        self.check_len(dpred, len, "loss_backward dpred")?;
        if len == 0 {
            return Ok(());
        }
        // Same rounding as the CPU: k / count once, then times dout on the device.
        let k = if loss == Loss::Mse { 2.0 } else { 1.0 };
        let alpha = (k / count(loss, rows, cols) as f64) as f32;
        let bufs = [pred, target, dout, dpred];
        if loss == Loss::SoftmaxCrossEntropy {
            self.dispatch_1d(&LOSS_BACKWARD_SOFTMAX, &bufs, &params(rows, cols, SOFTMAX_CE, 0, alpha, 0.0), rows, 1)
        } else {
            self.dispatch_1d(&LOSS_BACKWARD, &bufs, &params(len, cols, loss.code(), 0, alpha, 0.0), len, 256)
        }
    }

    fn l1_penalty(&self, x: &GpuBuf, out: &GpuBuf, rows: usize, cols: usize) -> Result<()> {
        let len = rows * cols;
        check_u32(len, "l1_penalty")?;
        self.check_len(x, len, "l1_penalty x")?;
        self.check_len(out, 1, "l1_penalty out")?;
        if len == 0 {
            return self.fill(out, 0.0);
        }
        sum_terms(self, &L1_PENALTY_PARTIAL, x, x, out, len, LOSS_TERM_L1, 1.0 / rows as f32, 0.0)
    }

    fn l1_penalty_backward(&self, x: &GpuBuf, dout: &GpuBuf, dx: &GpuBuf, rows: usize, cols: usize) -> Result<()> {
        let len = rows * cols;
        check_u32(len, "l1_penalty_backward")?;
        self.check_len(x, len, "l1_penalty_backward x")?;
        self.check_len(dout, 1, "l1_penalty_backward dout")?;
        self.check_len(dx, len, "l1_penalty_backward dx")?;
        let alpha = 1.0 / rows.max(1) as f32;
        self.dispatch_1d(
            &L1_PENALTY_BACKWARD,
            &[x, x, dout, dx],
            &params(len, cols, LOSS_TERM_L1, 0, alpha, 0.0),
            len,
            256,
        )
    }

    fn kl_sparsity(&self, rho_hat: &GpuBuf, rho: f32, out: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "kl_sparsity")?;
        self.check_len(rho_hat, len, "kl_sparsity rho_hat")?;
        self.check_len(out, 1, "kl_sparsity out")?;
        if len == 0 {
            return self.fill(out, 0.0);
        }
        sum_terms(self, &KL_SPARSITY_PARTIAL, rho_hat, rho_hat, out, len, LOSS_TERM_KL, 1.0, rho)
    }

    fn kl_sparsity_backward(
        &self,
        rho_hat: &GpuBuf,
        rho: f32,
        dout: &GpuBuf,
        drho_hat: &GpuBuf,
        len: usize,
    ) -> Result<()> {
        check_u32(len, "kl_sparsity_backward")?;
        self.check_len(rho_hat, len, "kl_sparsity_backward rho_hat")?;
        self.check_len(dout, 1, "kl_sparsity_backward dout")?;
        self.check_len(drho_hat, len, "kl_sparsity_backward drho_hat")?;
        let bufs = [rho_hat, rho_hat, dout, drho_hat];
        self.dispatch_1d(&KL_SPARSITY_BACKWARD, &bufs, &params(len, 0, LOSS_TERM_KL, 0, 1.0, rho), len, 256)
    }
}
