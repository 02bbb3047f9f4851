//! Validation cases for the elementwise kernels (add, mul, scale, axpy, scale_by_scalar,
//! fill), and the tolerances and helpers shared with the reduce, activation, loss and optim
//! cases (`reduce.rs`, `activation.rs`, `loss.rs`, `optim.rs`).
//!
//! Error denominators (see docs/KERNELS.md): elementwise results against the magnitude of
//! their operands (so `a + b` that cancels is judged by `|a| + |b|`), sums against the sum
//! of absolute terms. Tolerances in f32 rounding units (EPS = 2^-23) or fixed 1e-5.

use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::error::Result;

const EPS: f64 = f32::EPSILON as f64;

/// Elementwise ops: arithmetic is exact or 1 rounding on both sides; the WGSL exp / log /
/// division may be a few ulps off (Vulkan allows 3 + 2|x| ulp for exp): 1e-5 = 84 ulps.
pub(super) const TOL_ELEMENTWISE: f64 = 1e-5;

/// GPU sums: a sequential chain of `chain` additions per invocation, then tree levels;
/// the CPU reference sums in f64. Each addition errs by <= 1 ulp of the running |sum|.
pub(super) fn tol_sum(chain: usize) -> f64 {
    (chain + 2) as f64 * EPS
}

/// Longest addition chain of reduce.wgsl's two-stage sum of `n` values: chunk/256
/// per invocation (chunk = max(1024, n/1024)), 8 tree levels, <= 4 per invocation and 8
/// levels in the finishing workgroup, one scale.
pub(super) fn sum_chain(n: usize) -> usize {
    n.div_ceil(1024).max(1024).div_ceil(256) + 8 + 4 + 8 + 1
}

pub(super) fn abs_sum(x: &[f32]) -> f32 {
    x.iter().map(|v| v.abs() as f64).sum::<f64>() as f32
}

/// Poisoned output of `len`, the op on both sides, one compared row.
pub(super) fn unary_case(
    kernel: &'static str,
    len: usize,
    run: impl Fn(&mut Pair, usize) -> Result<Vec<Row>> + 'static,
) -> Case {
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

/// The vec4 copy kernel of `autoenc bench` (shader entry `copy`) against the CPU copy:
/// exact, and the tail past `4 * len4` stays unwritten (NaN on the GPU, 0 on the CPU: a
/// kernel that wrote past its length would fail the tail row).
fn copy_vec4(p: &mut Pair, len4: usize) -> Result<Vec<Row>> {
    let n = 4 * len4;
    let x = p.input(n, -4.0, 4.0, "x")?;
    let out = p.output(n + 3, "out")?;
    p.gpu.copy_vec4(&x.gpu, &out.gpu, len4)?;
    p.cpu_run(|c| c.copy(&x.cpu, &out.cpu))?;
    let (g, c) = (p.gpu.download(&out.gpu)?, p.cpu.download(&out.cpu)?);
    let body = g[..n].iter().zip(&c[..n]).all(|(a, b)| a.to_bits() == b.to_bits());
    let tail = g[n..].iter().all(|v| v.is_nan());
    let bad = if body && tail { 0.0 } else { f64::INFINITY };
    Ok(vec![Row {
        kernel: "copy".into(),
        shape: format!("{len4}x4"),
        max_abs: bad,
        max_rel: bad,
        tol: 0.0,
        pass: body && tail,
    }])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for len4 in [1usize, 65, 17_501] {
        v.push(Case::new("copy", format!("{len4}x4"), move |p| copy_vec4(p, len4)));
    }
    for len in [1usize, 7, 257, 70_001] {
        v.push(unary_case("add", len, |p, n| add_mul(p, n, true)));
        v.push(unary_case("mul", len, |p, n| add_mul(p, n, false)));
        v.push(unary_case("scale", len, |p, n| scale_ops(p, n, "scale")));
        v.push(unary_case("axpy", len, |p, n| scale_ops(p, n, "axpy")));
        v.push(unary_case("scale_by_scalar", len, |p, n| scale_ops(p, n, "scale_by_scalar")));
        v.push(unary_case("fill", len, fill));
    }
    v
}
