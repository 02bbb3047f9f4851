//! Validation cases for activation.wgsl: forward, backward, and the fused bias add +
//! activation, for every activation on inputs covering each one's regions.

use super::elementwise::TOL_ELEMENTWISE;
use super::{Case, Pair, Row};
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

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
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
