//! Validation cases for activation.wgsl: forward, backward, and the fused bias add +
//! activation, for every activation on inputs covering each one's regions.

use super::elementwise::TOL_ELEMENTWISE;
use super::{Both, Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::{Activation, LEAKY_RELU_SLOPE};
use crate::error::Result;

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

/// One activation's forward and backward on both backends, for the cases to judge.
struct ForwardBackward {
    y: Both,
    dx: Both,
    /// The CPU forward's output, which both backwards take.
    yd: Vec<f32>,
    dyd: Vec<f32>,
}

/// Runs the forward on `xd`, then the backward with dy drawn from [-2, 2]. The backward
/// takes y from the CPU forward on both sides, so only the derivative differs.
fn forward_and_backward(p: &mut Pair, act: Activation, xd: &[f32]) -> Result<ForwardBackward> {
    let len = xd.len();
    let x = p.both(xd, "x")?;
    let y = p.output(len, "y")?;
    p.gpu.activation_forward(act, &x.gpu, &y.gpu, len)?;
    p.cpu_run(|c| c.activation_forward(act, &x.cpu, &y.cpu, len))?;
    let yd = p.cpu.download(&y.cpu)?;
    let yb = p.both(&yd, "y")?;
    let dyd = p.uniform(len, -2.0, 2.0);
    let dy = p.both(&dyd, "dy")?;
    let dx = p.output(len, "dx")?;
    p.gpu.activation_backward(act, &x.gpu, &yb.gpu, &dy.gpu, &dx.gpu, len)?;
    p.cpu_run(|c| c.activation_backward(act, &x.cpu, &yb.cpu, &dy.cpu, &dx.cpu, len))?;
    Ok(ForwardBackward { y, dx, yd, dyd })
}

fn activation(p: &mut Pair, act: Activation, len: usize) -> Result<Vec<Row>> {
    let xd = act_inputs(p, len);
    let run = forward_and_backward(p, act, &xd)?;
    // Outputs of magnitude <= 1 from exp (sigmoid, tanh) are judged absolutely: floor 1.
    let floor = if matches!(act, Activation::Sigmoid | Activation::Tanh) { 1.0 } else { 0.0 };
    let fwd = p.compare("forward", &run.y, &[], floor, TOL_ELEMENTWISE)?;
    let scale: Vec<f32> = run.dyd.iter().map(|g| g.abs()).collect();
    let bwd = p.compare("backward", &run.dx, &scale, 0.0, TOL_ELEMENTWISE)?;
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

/// Sigmoid and tanh on saturated inputs, z in [-30, 30], judged relative to the value
/// where the formulation allows it: sigmoid's negative tail `e/(1+e)` keeps its relative
/// accuracy on both sides (a `1 - 1/(1+e)` would give 0), and the backward's `dy f'(y)`
/// from the same y is a product of correctly rounded factors (`1 - y^2` subtracts exactly),
/// so both judge against `|dy f'|` alone. Tanh's forward is judged against a floor of 1:
/// the GPU's `1 - 2/(e^{2|z|} + 1)` is accurate in absolute terms near 0, and its tails
/// are +-1, where absolute is relative. The tolerance: exp within (3 + 2|x|) ulps
/// (Vulkan) for |x| <= 60, plus the few roundings around it; values below f32's normal
/// range may be flushed to 0 by a GPU, hence the floor `MIN_POSITIVE / tol`.
fn activation_tails(p: &mut Pair, act: Activation, len: usize) -> Result<Vec<Row>> {
    let tol = (3.0 + 2.0 * 60.0 + 8.0) * f32::EPSILON as f64;
    let tiny = f32::MIN_POSITIVE as f64 / tol;
    let xd = p.uniform(len, -30.0, 30.0);
    let run = forward_and_backward(p, act, &xd)?;
    let floor = if act == Activation::Tanh { 1.0 } else { tiny };
    let fwd = p.compare("forward", &run.y, &[], floor, tol)?;
    let fprime = |y: f64| if act == Activation::Tanh { 1.0 - y * y } else { y * (1.0 - y) };
    let scale: Vec<f32> =
        run.dyd.iter().zip(&run.yd).map(|(&g, &y)| (g.abs() as f64 * fprime(y as f64)) as f32).collect();
    let bwd = p.compare("backward", &run.dx, &scale, tiny, tol)?;
    Ok(vec![fwd, bwd])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for act in [Activation::Sigmoid, Activation::Tanh] {
        for len in [17usize, 4099] {
            let name = format!("activation.{}", act.name());
            v.push(Case::new(name, format!("{len} z in [-30,30]"), move |p| activation_tails(p, act, len)));
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
    v
}
