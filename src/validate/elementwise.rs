//! Validation cases for reduce.wgsl, activation.wgsl, loss.wgsl and optim.wgsl.

use super::{Case, Pair, Row};
use crate::backend::Backend;
use crate::error::Result;

/// Elementwise f32 ops computed with the same formula on both sides: a few ulps.
const TOL_ELEMENTWISE: f64 = 1e-5;

fn binary(p: &mut Pair, len: usize, which: &'static str) -> Result<Vec<Row>> {
    let a = p.input(len, -2.0, 2.0, "a")?;
    let b = p.input(len, -2.0, 2.0, "b")?;
    let out = p.output(len, "out")?;
    match which {
        "add" => p.gpu.add(&a.gpu, &b.gpu, &out.gpu, len)?,
        _ => p.gpu.mul(&a.gpu, &b.gpu, &out.gpu, len)?,
    }
    p.cpu_run(|c| match which {
        "add" => c.add(&a.cpu, &b.cpu, &out.cpu, len),
        _ => c.mul(&a.cpu, &b.cpu, &out.cpu, len),
    })?;
    Ok(vec![p.compare("", &out, &[], 1.0, TOL_ELEMENTWISE)?])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for len in [1usize, 7, 257, 70_001] {
        v.push(Case::new("add", format!("{len}"), move |p| binary(p, len, "add")));
        v.push(Case::new("mul", format!("{len}"), move |p| binary(p, len, "mul")));
    }
    v
}
