//! Validation cases for reduce.wgsl: the whole-buffer sum, the bias add and the bias
//! gradient (a sum per channel). Sums are judged against the sum of absolute terms, with a
//! tolerance of one rounding unit per addition of the GPU's longest chain.

use super::elementwise::{abs_sum, sum_chain, tol_sum, unary_case, TOL_ELEMENTWISE};
use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::error::Result;

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

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
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
    v
}
