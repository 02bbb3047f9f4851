//! Validation cases for loss.wgsl: every reconstruction loss forward and backward, the
//! L1 penalty and the KL sparsity penalty.

use super::elementwise::{sum_chain, tol_sum, unary_case, TOL_ELEMENTWISE};
use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::{Loss, BCE_EPS};
use crate::error::Result;
use autoenc_kernels::loss::KL_EPS;

/// Predictions and targets suited to each loss.
fn loss_inputs(p: &mut Pair, loss: Loss, rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let n = rows * cols;
    match loss {
        Loss::Mse => (p.uniform(n, -2.0, 2.0), p.uniform(n, -2.0, 2.0)),
        Loss::Bce => {
            let mut pred = p.uniform(n, 0.0, 1.0);
            pred.iter_mut().step_by(11).for_each(|v| *v = 0.0); // hits the clamp
            (pred, p.uniform(n, 0.0, 1.0))
        }
        Loss::BceWithLogits => (p.uniform(n, -8.0, 8.0), p.uniform(n, 0.0, 1.0)),
        Loss::SoftmaxCrossEntropy => {
            let x = p.uniform(n, -5.0, 5.0);
            let mut t = vec![0.0; n];
            for r in 0..rows {
                t[r * cols + p.rng_index(cols)] = 1.0; // one-hot rows
            }
            (x, t)
        }
    }
}

/// Per-element magnitude of the operands of each loss gradient (before `dout / count`).
fn loss_grad_scale(loss: Loss, pred: &[f32], target: &[f32], cols: usize) -> Vec<f32> {
    match loss {
        Loss::Mse => pred.iter().zip(target).map(|(p, t)| p.abs() + t.abs()).collect(),
        Loss::Bce => pred
            .iter()
            .zip(target)
            .map(|(p, t)| {
                let q = p.clamp(BCE_EPS, 1.0 - BCE_EPS);
                (q + t.abs()) / (q * (1.0 - q))
            })
            .collect(),
        Loss::BceWithLogits => target.iter().map(|t| 1.0 + t.abs()).collect(),
        Loss::SoftmaxCrossEntropy => {
            // softmax_c * sum(t) + |t_c| <= sum(t) + |t_c|
            let mut s = Vec::with_capacity(pred.len());
            for row in target.chunks(cols.max(1)) {
                let t_sum: f32 = row.iter().map(|v| v.abs()).sum();
                s.extend(row.iter().map(|t| t_sum + t.abs()));
            }
            s
        }
    }
}

fn loss_case(p: &mut Pair, loss: Loss, rows: usize, cols: usize) -> Result<Vec<Row>> {
    let n = rows * cols;
    let (pd, td) = loss_inputs(p, loss, rows, cols);
    let (pred, target) = (p.both(&pd, "pred")?, p.both(&td, "target")?);
    let out = p.output(1, "loss")?;
    p.gpu.loss_forward(loss, &pred.gpu, &target.gpu, &out.gpu, rows, cols)?;
    p.cpu_run(|c| c.loss_forward(loss, &pred.cpu, &target.cpu, &out.cpu, rows, cols))?;
    // Every loss term is >= 0, so the result is its own scale. Per term: log / exp (a few
    // ulps; log near 1 is accurate to 2^-21 absolute) then the sum. Softmax rows add a
    // 256-wide tree and a max per row.
    let chain = if loss == Loss::SoftmaxCrossEntropy { cols.div_ceil(256) + 8 + sum_chain(rows) } else { sum_chain(n) };
    let fwd = p.compare("forward", &out, &[], f64::MIN_POSITIVE, tol_sum(chain + 16))?;

    let g = 0.7f32;
    let dout = p.both(&[g], "dout")?;
    let dpred = p.output(n, "dpred")?;
    p.gpu.loss_backward(loss, &pred.gpu, &target.gpu, &dout.gpu, &dpred.gpu, rows, cols)?;
    p.cpu_run(|c| c.loss_backward(loss, &pred.cpu, &target.cpu, &dout.cpu, &dpred.cpu, rows, cols))?;
    let count = if loss == Loss::SoftmaxCrossEntropy { rows } else { n };
    let k = if loss == Loss::Mse { 2.0 } else { 1.0 } * g / count as f32;
    let scale: Vec<f32> = loss_grad_scale(loss, &pd, &td, cols).iter().map(|s| s * k).collect();
    let bwd = p.compare("backward", &dpred, &scale, 0.0, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bwd])
}

fn l1_case(p: &mut Pair, rows: usize, cols: usize) -> Result<Vec<Row>> {
    let n = rows * cols;
    let mut xd = p.uniform(n, -1.0, 1.0);
    xd.iter_mut().step_by(7).for_each(|v| *v = 0.0); // sign(0) = 0
    let x = p.both(&xd, "x")?;
    let out = p.output(1, "l1")?;
    p.gpu.l1_penalty(&x.gpu, &out.gpu, rows, cols)?;
    p.cpu_run(|c| c.l1_penalty(&x.cpu, &out.cpu, rows, cols))?;
    let fwd = p.compare("forward", &out, &[], f64::MIN_POSITIVE, tol_sum(sum_chain(n)))?;
    let dout = p.both(&[-1.3], "dout")?;
    let dx = p.output(n, "dx")?;
    p.gpu.l1_penalty_backward(&x.gpu, &dout.gpu, &dx.gpu, rows, cols)?;
    p.cpu_run(|c| c.l1_penalty_backward(&x.cpu, &dout.cpu, &dx.cpu, rows, cols))?;
    let bwd = p.compare("backward", &dx, &[], 1.3 / rows as f64, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bwd])
}

fn kl_case(p: &mut Pair, len: usize) -> Result<Vec<Row>> {
    let rho = 0.05f32;
    let mut rd = p.uniform(len, 0.0, 0.3);
    rd.iter_mut().step_by(5).for_each(|v| *v = rho); // the cancelling point
    rd.iter_mut().skip(2).step_by(9).for_each(|v| *v = 0.0); // the clamp
    let r = p.both(&rd, "rho_hat")?;
    let out = p.output(1, "kl")?;
    p.gpu.kl_sparsity(&r.gpu, rho, &out.gpu, len)?;
    p.cpu_run(|c| c.kl_sparsity(&r.cpu, rho, &out.cpu, len))?;
    // Each term's two halves cancel where rho_hat ~ rho: judge by sum of |halves| + 1
    // per term (the log's absolute accuracy near 1).
    let (rh, r1) = (rho as f64, 1.0 - rho as f64);
    let scale: f64 = rd
        .iter()
        .map(|&v| {
            let q = v.clamp(KL_EPS, 1.0 - KL_EPS) as f64;
            (rh * (rh / q).ln()).abs() + (r1 * (r1 / (1.0 - q)).ln()).abs() + 1.0
        })
        .sum();
    let fwd = p.compare("forward", &out, &[scale as f32], f64::MIN_POSITIVE, tol_sum(sum_chain(len) + 8))?;
    let dout = p.both(&[0.9], "dout")?;
    let d = p.output(len, "drho_hat")?;
    p.gpu.kl_sparsity_backward(&r.gpu, rho, &dout.gpu, &d.gpu, len)?;
    p.cpu_run(|c| c.kl_sparsity_backward(&r.cpu, rho, &dout.cpu, &d.cpu, len))?;
    let scale: Vec<f32> = rd
        .iter()
        .map(|&v| {
            let q = v.clamp(KL_EPS, 1.0 - KL_EPS);
            0.9 * (rho / q + (1.0 - rho) / (1.0 - q))
        })
        .collect();
    let bwd = p.compare("backward", &d, &scale, 0.0, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bwd])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for loss in [Loss::Mse, Loss::Bce, Loss::BceWithLogits, Loss::SoftmaxCrossEntropy] {
        for (r, c) in [(1, 1), (7, 13), (97, 257), (3, 1000)] {
            let name = format!("loss.{}", loss.name());
            v.push(Case::new(name, format!("{r}x{c}"), move |p| loss_case(p, loss, r, c)));
        }
    }
    for (r, c) in [(1, 1), (7, 13), (97, 257)] {
        v.push(Case::new("l1_penalty", format!("{r}x{c}"), move |p| l1_case(p, r, c)));
    }
    for len in [1usize, 13, 257, 5000] {
        v.push(unary_case("kl_sparsity", len, kl_case));
    }
    v
}
