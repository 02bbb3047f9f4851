//! GPU-against-CPU validation of every kernel (used by `autoenc validate` and
//! tests/gpu_vs_cpu.rs).
//!
//! A [`Case`] runs one op, forward or backward, on [`GpuBackend`] and on [`CpuBackend`]
//! with the same random inputs and compares each output: one [`Row`] per output. GPU
//! outputs are filled with NaN before the op ("poisoned"), so an element the shader never
//! writes fails. The error of element `i` is `|gpu_i - cpu_i| / max(|cpu_i|, scale_i)`,
//! where `scale_i` is the size of the terms that produced it (for a matmul `sum_k
//! |a_ik||b_kj|`, for a sum `sum |x|`, for elementwise ops a floor of 1 or the magnitude of
//! the inputs): rounding is relative to the terms, not to a result that cancelled to ~0.
//! Tolerances and their reasons: docs/KERNELS.md.
//!
//! Adding cases: a `fn cases() -> Vec<Case>` in a file of this folder (see `conv.rs`),
//! called from [`all_cases`].

mod activation;
pub mod conv;
mod conv2d;
mod elementwise;
mod gaussian;
mod loss;
mod matmul;
mod optim;
mod reduce;

use crate::backend::cpu::{CpuBackend, CpuBuf};
use crate::backend::gpu::{GpuBackend, GpuBuf};
use crate::backend::prelude::*;
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One compared output.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Kernel (and output) name, e.g. `matmul` or `contractive_backward.dw`.
    pub kernel: String,
    /// Shapes and flags of the case, e.g. `97x13x257 tA acc`.
    pub shape: String,
    pub max_abs: f64,
    pub max_rel: f64,
    pub tol: f64,
    pub pass: bool,
}

/// The body of a case: runs the op on both backends, returns one row per output.
pub type CaseFn = Box<dyn Fn(&mut Pair) -> Result<Vec<Row>>>;

/// One validation case: runs the op on both backends and compares outputs.
pub struct Case {
    pub kernel: String,
    pub shape: String,
    pub run: CaseFn,
}

impl Case {
    pub fn new(
        kernel: impl Into<String>,
        shape: impl Into<String>,
        run: impl Fn(&mut Pair) -> Result<Vec<Row>> + 'static,
    ) -> Self {
        Case { kernel: kernel.into(), shape: shape.into(), run: Box::new(run) }
    }
}

/// Both backends, a seeded generator and helpers to make matching buffers.
pub struct Pair<'a> {
    pub gpu: &'a GpuBackend,
    pub cpu: CpuBackend,
    pub rng: StdRng,
    kernel: String,
    shape: String,
}

/// A buffer on both backends.
pub struct Both {
    pub cpu: CpuBuf,
    pub gpu: GpuBuf,
    pub len: usize,
}

impl Pair<'_> {
    /// Uniform random values in `[lo, hi)`.
    pub fn uniform(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.rng.random_range(lo..hi)).collect()
    }

    /// The same data on both backends.
    pub fn both(&mut self, data: &[f32], label: &str) -> Result<Both> {
        Ok(Both { cpu: self.cpu.upload(data, label)?, gpu: self.gpu.upload(data, label)?, len: data.len() })
    }

    /// A uniform index in `0..n`.
    pub fn rng_index(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    /// Random input in `[lo, hi)` on both backends.
    pub fn input(&mut self, len: usize, lo: f32, hi: f32, label: &str) -> Result<Both> {
        let data = self.uniform(len, lo, hi);
        self.both(&data, label)
    }

    /// An output: zeros on the CPU, NaN on the GPU (unwritten elements fail).
    pub fn output(&mut self, len: usize, label: &str) -> Result<Both> {
        let gpu = self.gpu.zeros(len, label)?;
        self.gpu.fill(&gpu, f32::NAN)?;
        Ok(Both { cpu: self.cpu.zeros(len, label)?, gpu, len })
    }

    /// Runs the CPU reference; a panicking kernel (not written yet) becomes an error.
    pub fn cpu_run(&self, f: impl FnOnce(&CpuBackend) -> Result<()>) -> Result<()> {
        catch_unwind(AssertUnwindSafe(|| f(&self.cpu)))
            .unwrap_or_else(|_| Err(Error::Config(format!("cpu reference for {} panicked", self.kernel))))
    }

    /// Compares `out` (GPU against CPU). `scale[i]` (or `floor` where `scale` is empty)
    /// is the error denominator's lower bound for element `i`.
    pub fn compare(&self, name: &str, out: &Both, scale: &[f32], floor: f64, tol: f64) -> Result<Row> {
        let g = self.gpu.download(&out.gpu)?;
        let c = self.cpu.download(&out.cpu)?;
        let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
        for i in 0..out.len {
            let (gi, ci) = (g[i] as f64, c[i] as f64);
            let s = scale.get(i).map_or(floor, |&s| (s as f64).max(floor));
            let (abs, rel) = if gi == ci {
                (0.0, 0.0) // also equal infinities
            } else if gi.is_finite() && ci.is_finite() {
                let d = (gi - ci).abs();
                (d, d / ci.abs().max(s).max(f64::MIN_POSITIVE))
            } else {
                (f64::INFINITY, f64::INFINITY) // NaN (unwritten) or a lone infinity
            };
            max_abs = max_abs.max(abs);
            max_rel = max_rel.max(rel);
        }
        let kernel = if name.is_empty() { self.kernel.clone() } else { format!("{}.{name}", self.kernel) };
        Ok(Row { kernel, shape: self.shape.clone(), max_abs, max_rel, tol, pass: max_rel <= tol })
    }
}

/// Every registered case.
pub fn all_cases() -> Vec<Case> {
    let mut v = matmul::cases();
    v.extend(elementwise::cases());
    v.extend(reduce::cases());
    v.extend(activation::cases());
    v.extend(loss::cases());
    v.extend(gaussian::cases());
    v.extend(optim::cases());
    v.extend(conv::cases());
    v.extend(conv2d::cases());
    v
}

/// Runs every case; `on_row` sees each row as soon as it is known. A case whose op fails
/// (not implemented, device error) yields a failing row with the error as its shape.
pub fn run_all(gpu: &GpuBackend, seed: u64, on_row: &mut dyn FnMut(&Row)) -> Result<Vec<Row>> {
    run_cases(gpu, seed, all_cases(), on_row)
}

/// Runs the given cases (see [`run_all`]).
pub fn run_cases(gpu: &GpuBackend, seed: u64, cases: Vec<Case>, on_row: &mut dyn FnMut(&Row)) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        let mut pair = Pair {
            gpu,
            cpu: CpuBackend::new(),
            rng: StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64)),
            kernel: case.kernel.clone(),
            shape: case.shape.clone(),
        };
        let got = match (case.run)(&mut pair) {
            Ok(r) => r,
            // A device error poisons nothing else: report it as this case's failure.
            Err(e) => vec![Row {
                kernel: case.kernel.clone(),
                shape: format!("{} ERROR: {e}", case.shape),
                max_abs: f64::INFINITY,
                max_rel: f64::INFINITY,
                tol: 0.0,
                pass: false,
            }],
        };
        for r in got {
            on_row(&r);
            rows.push(r);
        }
    }
    gpu.flush()?;
    Ok(rows)
}

/// The column titles matching [`format_row`].
pub fn header() -> String {
    format!("{:<36} {:<30} {:>10} {:>10} {:>8}  result", "kernel", "shape", "max_abs", "max_rel", "tol")
}

pub fn format_row(r: &Row) -> String {
    format!(
        "{:<36} {:<30} {:>10.2e} {:>10.2e} {:>8.0e}  {}",
        r.kernel,
        r.shape,
        r.max_abs,
        r.max_rel,
        r.tol,
        if r.pass { "ok" } else { "FAIL" }
    )
}

pub fn print_header() {
    println!("{}", header());
}

pub fn print_row(r: &Row) {
    println!("{}", format_row(r));
}
