//! Validation cases for reduce.wgsl, activation.wgsl (forward, backward, and the fused
//! bias add + activation), loss.wgsl and optim.wgsl.
//!
//! Error denominators (see docs/KERNELS.md): elementwise results against the magnitude of
//! their operands (so `a + b` that cancels is judged by `|a| + |b|`), sums against the sum
//! of absolute terms. Tolerances in f32 rounding units (EPS = 2^-23) or fixed 1e-5.

use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::{Activation, AdamParams, Loss, SgdParams, BCE_EPS, LEAKY_RELU_SLOPE};
use crate::error::Result;
use autoenc_kernels::loss::KL_EPS;

const EPS: f64 = f32::EPSILON as f64;

/// Elementwise ops: arithmetic is exact or 1 rounding on both sides; the WGSL exp / log /
/// division may be a few ulps off (Vulkan allows 3 + 2|x| ulp for exp): 1e-5 = 84 ulps.
const TOL_ELEMENTWISE: f64 = 1e-5;

/// GPU sums: a sequential chain of `chain` additions per invocation, then tree levels;
/// the CPU reference sums in f64. Each addition errs by <= 1 ulp of the running |sum|.
fn tol_sum(chain: usize) -> f64 {
    (chain + 2) as f64 * EPS
}

/// Longest addition chain of reduce.wgsl's two-stage sum of `n` values: chunk/256
/// per invocation (chunk = max(1024, n/1024)), 8 tree levels, <= 4 per invocation and 8
/// levels in the finishing workgroup, one scale.
fn sum_chain(n: usize) -> usize {
    n.div_ceil(1024).max(1024).div_ceil(256) + 8 + 4 + 8 + 1
}

fn abs_sum(x: &[f32]) -> f32 {
    x.iter().map(|v| v.abs() as f64).sum::<f64>() as f32
}

/// Poisoned output of `len`, the op on both sides, one compared row.
fn unary_case(kernel: &'static str, len: usize, run: impl Fn(&mut Pair, usize) -> Result<Vec<Row>> + 'static) -> Case {
    Case::new(kernel, format!("{len}"), move |p| run(p, len))
}

fn add_mul(p: &mut Pair, len: usize, add: bool) -> Result<Vec<Row>> {
    let (ad, bd) = (p.uniform(len, -2.0, 2.0), p.uniform(len, -2.0, 2.0));
    let (a, b) = (p.both(&ad, "a")?, p.both(&bd, "b")?);
    let out = p.output(len, "out")?;
    if add {
        p.gpu.add(&a.gpu, &b.gpu, &out.gpu, len)?;
        p.cpu_run(|c| c.add(&a.cpu, &b.cpu, &out.cpu, len))?;
    } else {
        p.gpu.mul(&a.gpu, &b.gpu, &out.gpu, len)?;
        p.cpu_run(|c| c.mul(&a.cpu, &b.cpu, &out.cpu, len))?;
    }
    let scale: Vec<f32> =
        ad.iter().zip(&bd).map(|(x, y)| if add { x.abs() + y.abs() } else { (x * y).abs() }).collect();
    Ok(vec![p.compare("", &out, &scale, 0.0, TOL_ELEMENTWISE)?])
}

fn scale_ops(p: &mut Pair, len: usize, which: &str) -> Result<Vec<Row>> {
    let xd = p.uniform(len, -2.0, 2.0);
    let x = p.both(&xd, "x")?;
    let alpha = -0.37f32;
    let (out, scale) = match which {
        "scale" => {
            let out = p.output(len, "out")?;
            p.gpu.scale(&x.gpu, alpha, &out.gpu, len)?;
            p.cpu_run(|c| c.scale(&x.cpu, alpha, &out.cpu, len))?;
            (out, xd.iter().map(|v| (alpha * v).abs()).collect::<Vec<_>>())
        }
        "scale_by_scalar" => {
            let s = p.both(&[1.75], "s")?;
            let out = p.output(len, "out")?;
            p.gpu.scale_by_scalar(&x.gpu, &s.gpu, alpha, &out.gpu, len)?;
            p.cpu_run(|c| c.scale_by_scalar(&x.cpu, &s.cpu, alpha, &out.cpu, len))?;
            (out, xd.iter().map(|v| (alpha * 1.75 * v).abs()).collect())
        }
        _ => {
            // axpy: in place on y, which starts equal on both sides.
            let yd = p.uniform(len, -2.0, 2.0);
            let y = p.both(&yd, "y")?;
            p.gpu.axpy(alpha, &x.gpu, &y.gpu, len)?;
            p.cpu_run(|c| c.axpy(alpha, &x.cpu, &y.cpu, len))?;
            (y, xd.iter().zip(&yd).map(|(a, b)| (alpha * a).abs() + b.abs()).collect())
        }
    };
    Ok(vec![p.compare("", &out, &scale, 0.0, TOL_ELEMENTWISE)?])
}

fn fill(p: &mut Pair, len: usize) -> Result<Vec<Row>> {
    let out = p.output(len, "out")?;
    p.gpu.fill(&out.gpu, -3.25)?;
    p.cpu_run(|c| c.fill(&out.cpu, -3.25))?;
    Ok(vec![p.compare("", &out, &[], 1.0, 0.0)?])
}

fn sum_all(p: &mut Pair, len: usize) -> Result<Vec<Row>> {
    let xd = p.uniform(len, -1.0, 1.0);
    let x = p.both(&xd, "x")?;
    let out = p.output(1, "out")?;
    p.gpu.sum_all(&x.gpu, &out.gpu, len)?;
    p.cpu_run(|c| c.sum_all(&x.cpu, &out.cpu, len))?;
    Ok(vec![p.compare("", &out, &[abs_sum(&xd)], f64::MIN_POSITIVE, tol_sum(sum_chain(len)))?])
}

fn bias_add(p: &mut Pair, outer: usize, ch: usize, inner: usize) -> Result<Vec<Row>> {
    let len = outer * ch * inner;
    let (xd, bd) = (p.uniform(len, -2.0, 2.0), p.uniform(ch, -2.0, 2.0));
    let (x, b) = (p.both(&xd, "x")?, p.both(&bd, "bias")?);
    let out = p.output(len, "out")?;
    p.gpu.bias_add(&x.gpu, &b.gpu, &out.gpu, outer, ch, inner)?;
    p.cpu_run(|c| c.bias_add(&x.cpu, &b.cpu, &out.cpu, outer, ch, inner))?;
    let scale: Vec<f32> = (0..len).map(|i| xd[i].abs() + bd[(i / inner) % ch].abs()).collect();
    Ok(vec![p.compare("", &out, &scale, 0.0, TOL_ELEMENTWISE)?])
}

fn bias_grad(p: &mut Pair, outer: usize, ch: usize, inner: usize, acc: bool) -> Result<Vec<Row>> {
    let len = outer * ch * inner;
    let dyd = p.uniform(len, -1.0, 1.0);
    let dy = p.both(&dyd, "dy")?;
    let old = p.uniform(ch, -1.0, 1.0);
    let out = if acc { p.both(&old, "out")? } else { p.output(ch, "out")? };
    p.gpu.bias_grad(&dy.gpu, &out.gpu, outer, ch, inner, acc)?;
    p.cpu_run(|c| c.bias_grad(&dy.cpu, &out.cpu, outer, ch, inner, acc))?;
    let mut scale = vec![0.0f32; ch];
    for (i, v) in dyd.iter().enumerate() {
        scale[(i / inner) % ch] += v.abs();
    }
    if acc {
        scale.iter_mut().zip(&old).for_each(|(s, o)| *s += o.abs());
    }
    // cols kernel: outer/8 per invocation + 8 lanes; planes: outer*inner/256 + 8 levels.
    let chain = if inner == 1 { outer.div_ceil(8) + 8 } else { (outer * inner).div_ceil(256) + 8 } + 1;
    Ok(vec![p.compare("", &out, &scale, f64::MIN_POSITIVE, tol_sum(chain))?])
}

/// Inputs that cover each activation's regions, including exact zeros for relu.
fn act_inputs(p: &mut Pair, len: usize) -> Vec<f32> {
    let mut x = p.uniform(len, -6.0, 6.0);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 17 == 3 {
            *v = 0.0;
        }
        if i % 29 == 5 {
            *v *= 20.0; // saturating sigmoid / tanh
        }
    }
    x
}

fn activation(p: &mut Pair, act: Activation, len: usize) -> Result<Vec<Row>> {
    let xd = act_inputs(p, len);
    let x = p.both(&xd, "x")?;
    let y = p.output(len, "y")?;
    p.gpu.activation_forward(act, &x.gpu, &y.gpu, len)?;
    p.cpu_run(|c| c.activation_forward(act, &x.cpu, &y.cpu, len))?;
    // Outputs of magnitude <= 1 from exp (sigmoid, tanh) are judged absolutely: floor 1.
    let floor = if matches!(act, Activation::Sigmoid | Activation::Tanh) { 1.0 } else { 0.0 };
    let fwd = p.compare("forward", &y, &[], floor, TOL_ELEMENTWISE)?;
    // Backward takes y from the CPU forward on both sides, so only the derivative differs.
    let yd = p.cpu.download(&y.cpu)?;
    let yb = p.both(&yd, "y")?;
    let dyd = p.uniform(len, -2.0, 2.0);
    let dy = p.both(&dyd, "dy")?;
    let dx = p.output(len, "dx")?;
    p.gpu.activation_backward(act, &x.gpu, &yb.gpu, &dy.gpu, &dx.gpu, len)?;
    p.cpu_run(|c| c.activation_backward(act, &x.cpu, &yb.cpu, &dy.cpu, &dx.cpu, len))?;
    let scale: Vec<f32> = dyd.iter().map(|g| g.abs()).collect();
    let bwd = p.compare("backward", &dx, &scale, 0.0, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bwd])
}

/// The fused bias add + activation: `z` against `|x| + |bias|` (one rounding, as
/// bias_add), `y` as the activation forward (sigmoid / tanh against a floor of 1, the
/// piecewise-linear ones against `|f'(z)| (|x| + |bias|)`). Inputs cover each activation's
/// regions (act_inputs), channels whose bias is 0 and elements with `x = -bias` exactly,
/// so `z` hits relu's kink at both signs of zero.
fn bias_activation(p: &mut Pair, act: Activation, outer: usize, ch: usize, inner: usize) -> Result<Vec<Row>> {
    let len = outer * ch * inner;
    let mut bd = p.uniform(ch, -2.0, 2.0);
    bd.iter_mut().step_by(4).for_each(|v| *v = 0.0);
    let mut xd = act_inputs(p, len);
    for (i, v) in xd.iter_mut().enumerate().skip(6).step_by(13) {
        *v = -bd[(i / inner) % ch];
    }
    let (x, b) = (p.both(&xd, "x")?, p.both(&bd, "bias")?);
    let (z, y) = (p.output(len, "z")?, p.output(len, "y")?);
    p.gpu.bias_activation(act, &x.gpu, &b.gpu, &z.gpu, &y.gpu, outer, ch, inner)?;
    p.cpu_run(|c| c.bias_activation(act, &x.cpu, &b.cpu, &z.cpu, &y.cpu, outer, ch, inner))?;
    let zscale: Vec<f32> = (0..len).map(|i| xd[i].abs() + bd[(i / inner) % ch].abs()).collect();
    let zrow = p.compare("z", &z, &zscale, 0.0, TOL_ELEMENTWISE)?;
    let yrow = if matches!(act, Activation::Sigmoid | Activation::Tanh) {
        p.compare("y", &y, &[], 1.0, TOL_ELEMENTWISE)?
    } else {
        let zd = p.cpu.download(&z.cpu)?;
        let slope = |v: f32| match act {
            Activation::Relu if v < 0.0 => 0.0,
            Activation::LeakyRelu if v < 0.0 => LEAKY_RELU_SLOPE,
            _ => 1.0,
        };
        let yscale: Vec<f32> = zscale.iter().zip(&zd).map(|(s, &v)| slope(v) * s).collect();
        p.compare("y", &y, &yscale, 0.0, TOL_ELEMENTWISE)?
    };
    Ok(vec![zrow, yrow])
}

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

/// Parameters of the size of one update (so the update is not lost in the parameter's
/// rounding), random gradients and optimizer state; compares every in-place output.
fn optim_case(p: &mut Pair, len: usize, adam: bool) -> Result<Vec<Row>> {
    let lr = 0.01f32;
    let param = p.input(len, -0.02, 0.02, "param")?;
    let grad = p.input(len, -1.0, 1.0, "grad")?;
    let s1 = p.input(len, -0.5, 0.5, "m")?;
    let mut rows = Vec::new();
    if adam {
        let s2 = p.input(len, 0.0, 0.5, "v")?;
        let hp = AdamParams { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, step: 3 };
        p.gpu.adam_update(&param.gpu, &grad.gpu, &s1.gpu, &s2.gpu, len, hp)?;
        p.cpu_run(|c| c.adam_update(&param.cpu, &grad.cpu, &s1.cpu, &s2.cpu, len, hp))?;
        rows.push(p.compare("v", &s2, &[], 1e-3, TOL_ELEMENTWISE)?);
    } else {
        let hp = SgdParams { lr, momentum: 0.9, weight_decay: 0.01 };
        p.gpu.sgd_update(&param.gpu, &grad.gpu, &s1.gpu, len, hp)?;
        p.cpu_run(|c| c.sgd_update(&param.cpu, &grad.cpu, &s1.cpu, len, hp))?;
    }
    rows.insert(0, p.compare("param", &param, &[], lr as f64, TOL_ELEMENTWISE)?);
    rows.insert(1, p.compare(if adam { "m" } else { "velocity" }, &s1, &[], 1e-2, TOL_ELEMENTWISE)?);
    Ok(rows)
}

impl Pair<'_> {
    /// A uniform index in `0..n`.
    pub fn rng_index(&mut self, n: usize) -> usize {
        use rand::Rng;
        self.rng.random_range(0..n.max(1))
    }
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for len in [1usize, 7, 257, 70_001] {
        v.push(unary_case("add", len, |p, n| add_mul(p, n, true)));
        v.push(unary_case("mul", len, |p, n| add_mul(p, n, false)));
        v.push(unary_case("scale", len, |p, n| scale_ops(p, n, "scale")));
        v.push(unary_case("axpy", len, |p, n| scale_ops(p, n, "axpy")));
        v.push(unary_case("scale_by_scalar", len, |p, n| scale_ops(p, n, "scale_by_scalar")));
        v.push(unary_case("fill", len, fill));
    }
    for len in [0usize, 1, 7, 256, 257, 1025, 70_001, 1_000_003] {
        v.push(unary_case("sum_all", len, sum_all));
    }
    for (o, c, i) in [(1, 1, 1), (7, 13, 1), (97, 257, 1), (300, 517, 1), (5, 3, 7), (2, 13, 97), (3, 1, 4099)] {
        v.push(Case::new("bias_add", format!("{o}x{c}x{i}"), move |p| bias_add(p, o, c, i)));
        for acc in [false, true] {
            let shape = format!("{o}x{c}x{i}{}", if acc { " acc" } else { "" });
            v.push(Case::new("bias_grad", shape, move |p| bias_grad(p, o, c, i, acc)));
        }
    }
    for act in [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu] {
        for len in [1usize, 257, 70_001] {
            v.push(Case::new(format!("activation.{}", act.name()), format!("{len}"), move |p| activation(p, act, len)));
        }
    }
    for act in [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu] {
        // 1, primes, dense rows past one 256-wide workgroup, NCHW planes (inner > 1), and
        // 70 007 elements (274 workgroups).
        for (o, c, i) in [(1, 1, 1), (7, 13, 1), (97, 257, 1), (5, 3, 7), (2, 13, 97), (1, 7, 10_001)] {
            let name = format!("bias_activation.{}", act.name());
            v.push(Case::new(name, format!("{o}x{c}x{i}"), move |p| bias_activation(p, act, o, c, i)));
        }
    }
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
    for len in [1usize, 257, 70_001] {
        v.push(unary_case("sgd_update", len, |p, n| optim_case(p, n, false)));
        v.push(unary_case("adam_update", len, |p, n| optim_case(p, n, true)));
    }
    v
}
