//! Validation cases for gaussian.wgsl: the generator's counter stage bit for bit, its
//! draws within 1e-5 absolute, the reparameterization and the Gaussian KL forward and
//! backward.

use super::elementwise::{sum_chain, tol_sum, TOL_ELEMENTWISE};
use super::{Case, Pair, Row};
use crate::backend::gpu::GpuBackend;
use crate::backend::prelude::*;
use crate::error::Result;
use autoenc_kernels::gaussian::normal_fill_bits;

/// Draws: the same Philox words, then the same polynomials on both sides; the WGSL
/// compiler may fuse or reorder them and its sqrt may be a few ulp off: |z| < 6, so a few
/// ulp of the result is 2e-6, well inside this.
const TOL_DRAWS: f64 = 1e-5;

/// `(seed, offset, len)`: one draw, odd offsets inside a block, the carry of the offset's
/// low word, the block counter's high word, long fills.
const STREAMS: [(u64, u64, usize); 6] = [
    (0, 0, 1),
    (7, 3, 257),
    (0xdead_beef_0bad_cafe, (1 << 32) - 5, 1001),
    (u64::MAX, (1 << 34) - 7, 300),
    (42, 1 << 40, 5000),
    (1, 0, 70_001),
];

fn shape(seed: u64, offset: u64, len: usize) -> String {
    format!("seed {seed:#x} @{offset} x{len}")
}

/// The GPU's u32 words against `normal_fill_bits`: `max_abs` counts the differing words.
fn bits_case(p: &mut Pair, seed: u64, offset: u64, len: usize) -> Result<Vec<Row>> {
    let gpu: &GpuBackend = p.gpu;
    let out = p.output(len, "normal bits")?;
    gpu.normal_fill_bits(seed, offset, &out.gpu, len)?;
    let got: Vec<u32> = gpu.download(&out.gpu)?.iter().map(|v| v.to_bits()).collect();
    let mut want = vec![0u32; len];
    normal_fill_bits(seed, offset, &mut want);
    let wrong = got.iter().zip(&want).filter(|(g, w)| g != w).count() + len.saturating_sub(got.len());
    let bad = if wrong == 0 { 0.0 } else { f64::INFINITY };
    Ok(vec![Row {
        kernel: "normal_fill_bits".into(),
        shape: shape(seed, offset, len),
        max_abs: wrong as f64,
        max_rel: bad,
        tol: 0.0,
        pass: wrong == 0,
    }])
}

fn draws_case(p: &mut Pair, seed: u64, offset: u64, len: usize) -> Result<Vec<Row>> {
    let out = p.output(len, "normal")?;
    p.gpu.normal_fill(seed, offset, &out.gpu, len)?;
    p.cpu_run(|c| c.normal_fill(seed, offset, &out.cpu, len))?;
    // Floor 1 on the denominator, and the absolute error itself must stay within 1e-5.
    let mut row = p.compare("", &out, &[], 1.0, TOL_DRAWS)?;
    row.pass &= row.max_abs <= TOL_DRAWS;
    Ok(vec![row])
}

/// mu in [-3, 3], logvar in [-6, 3], eps from the generator.
fn latent_inputs(p: &mut Pair, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mu = p.uniform(n, -3.0, 3.0);
    let mut lv = p.uniform(n, -6.0, 3.0);
    lv.iter_mut().step_by(7).for_each(|v| *v = 0.0);
    let mut eps = vec![0.0; n];
    autoenc_kernels::gaussian::normal_fill(n as u64, 0, &mut eps);
    (mu, lv, eps)
}

fn reparameterize_case(p: &mut Pair, len: usize) -> Result<Vec<Row>> {
    let (mu, lv, eps) = latent_inputs(p, len);
    let (m, l, e) = (p.both(&mu, "mu")?, p.both(&lv, "logvar")?, p.both(&eps, "eps")?);
    let z = p.output(len, "z")?;
    p.gpu.reparameterize_forward(&m.gpu, &l.gpu, &e.gpu, &z.gpu, len)?;
    p.cpu_run(|c| c.reparameterize_forward(&m.cpu, &l.cpu, &e.cpu, &z.cpu, len))?;
    let noise: Vec<f32> = (0..len).map(|i| ((0.5 * lv[i]).exp() * eps[i]).abs()).collect();
    let zscale: Vec<f32> = (0..len).map(|i| mu[i].abs() + noise[i]).collect();
    let fwd = p.compare("forward", &z, &zscale, 0.0, TOL_ELEMENTWISE)?;

    let dzd = p.uniform(len, -2.0, 2.0);
    let dz = p.both(&dzd, "dz")?;
    let (dmu, dlv) = (p.output(len, "dmu")?, p.output(len, "dlogvar")?);
    p.gpu.reparameterize_backward(&l.gpu, &e.gpu, &dz.gpu, &dmu.gpu, &dlv.gpu, len)?;
    p.cpu_run(|c| c.reparameterize_backward(&l.cpu, &e.cpu, &dz.cpu, &dmu.cpu, &dlv.cpu, len))?;
    let dscale: Vec<f32> = (0..len).map(|i| 0.5 * (dzd[i] * noise[i]).abs()).collect();
    let bmu = p.compare("backward.dmu", &dmu, &[], 0.0, 0.0)?;
    let blv = p.compare("backward.dlogvar", &dlv, &dscale, 0.0, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bmu, blv])
}

fn kl_case(p: &mut Pair, rows: usize, cols: usize) -> Result<Vec<Row>> {
    let n = rows * cols;
    let (mu, lv, _) = latent_inputs(p, n);
    let (m, l) = (p.both(&mu, "mu")?, p.both(&lv, "logvar")?);
    let out = p.output(1, "kl")?;
    p.gpu.gaussian_kl_forward(&m.gpu, &l.gpu, &out.gpu, rows, cols)?;
    p.cpu_run(|c| c.gaussian_kl_forward(&m.cpu, &l.cpu, &out.cpu, rows, cols))?;
    // Each term's parts cancel near lv = 0, mu = 0: judge by the sum of their sizes.
    let r = rows.max(1) as f64;
    let size: f64 = mu.iter().zip(&lv).map(|(&m, &l)| 0.5 * (1.0 + l.abs() + m * m + l.exp()) as f64).sum::<f64>() / r;
    let fwd = p.compare("forward", &out, &[size as f32], f64::MIN_POSITIVE, tol_sum(sum_chain(n) + 8))?;

    let g = -0.8f32;
    let dout = p.both(&[g], "dout")?;
    let (dmu, dlv) = (p.output(n, "dmu")?, p.output(n, "dlogvar")?);
    p.gpu.gaussian_kl_backward(&m.gpu, &l.gpu, &dout.gpu, &dmu.gpu, &dlv.gpu, rows, cols)?;
    p.cpu_run(|c| c.gaussian_kl_backward(&m.cpu, &l.cpu, &dout.cpu, &dmu.cpu, &dlv.cpu, rows, cols))?;
    let k = (g as f64 / r).abs() as f32;
    let sm: Vec<f32> = mu.iter().map(|m| m.abs() * k).collect();
    let sl: Vec<f32> = lv.iter().map(|l| 0.5 * (l.exp() + 1.0) * k).collect();
    let bmu = p.compare("backward.dmu", &dmu, &sm, 0.0, TOL_ELEMENTWISE)?;
    let blv = p.compare("backward.dlogvar", &dlv, &sl, 0.0, TOL_ELEMENTWISE)?;
    Ok(vec![fwd, bmu, blv])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (seed, offset, len) in STREAMS {
        v.push(Case::new("normal_fill_bits", shape(seed, offset, len), move |p| bits_case(p, seed, offset, len)));
        v.push(Case::new("normal_fill", shape(seed, offset, len), move |p| draws_case(p, seed, offset, len)));
    }
    for len in [1usize, 13, 257, 2560, 5001] {
        v.push(Case::new("reparameterize", format!("{len}"), move |p| reparameterize_case(p, len)));
    }
    for (r, c) in [(1, 1), (7, 13), (128, 20), (97, 257), (3, 1000)] {
        v.push(Case::new("gaussian_kl", format!("{r}x{c}"), move |p| kl_case(p, r, c)));
    }
    v
}
