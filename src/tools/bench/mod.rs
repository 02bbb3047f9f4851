//! `autoenc bench`: kernel timings, GFLOP/s, GB/s and roofline fractions.
//!
//! For each size `s`: matmul `s x s x s` (GFLOP/s; on the GPU both tile variants and the
//! automatic choice), and the memory-bound kernels over `s*s` elements (GB/s of the bytes
//! each kernel must move). Then conv2d and conv_transpose2d, forward and backward, at every
//! conv layer of the convolutional autoencoder at batch [`CONV_BATCH`] ([`ConvLayer`]: GFLOP/s
//! of the convolution's multiply-adds, not of the im2col copies). Rooflines are measured, not
//! quoted: on the CPU by the probes of `autoenc_kernels::peak` (one core's multiply-add
//! peak times the kernels' threads, and a 64 MiB copy; see [`cpu_rooflines`]); on the GPU,
//! which has no probe yet, by the fastest matmul and copy of the run. GPU times come from timestamp
//! queries around the kernel's passes when the adapter has them, else from the host
//! clock around a synchronised submit; each figure is the mean of enough repetitions to
//! fill ~0.2 s (at most 100), after a warm-up run that also compiles the pipeline.

mod conv;
mod report;
mod rows;
mod timer;

pub use conv::{conv_ae_layers, ConvBench, ConvLayer, CONV_BATCH};

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::GpuBackend;
use crate::backend::prelude::*;
use crate::backend::MatmulDims;
use crate::error::{Error, Result};
use report::{write_table, Rooflines};
use rows::{conv_kernels, memory_kernels};
use std::io::Write;
use timer::{cpu_timer, gpu_timer};

/// What a kernel run does: floating-point operations or bytes moved.
#[derive(Clone, Copy, Debug)]
enum Work {
    Flops(f64),
    Bytes(f64),
}

/// One measured kernel.
#[derive(Clone, Debug)]
struct Measure {
    kernel: String,
    size: String,
    secs: f64,
    work: Work,
}

impl Measure {
    /// GFLOP/s or GB/s.
    fn rate(&self) -> f64 {
        match self.work {
            Work::Flops(f) | Work::Bytes(f) => f / self.secs / 1e9,
        }
    }
}

fn io(e: std::io::Error) -> Error {
    Error::io("bench output", e)
}

fn ramp(len: usize, k: f32) -> Vec<f32> {
    (0..len).map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * k).collect()
}

fn default_sizes(software: bool, sizes: &[usize]) -> Vec<usize> {
    if !sizes.is_empty() {
        sizes.to_vec()
    } else if software {
        vec![64, 128, 256] // lavapipe: ~1 GFLOP/s
    } else {
        vec![256, 1024, 2048, 4096]
    }
}

/// The families of rows a bench run can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// matmul at every size and shape.
    Matmul,
    /// The memory-bound kernels (copy, elementwise, reductions, Adam) at every size.
    Memory,
    /// The conv autoencoder's layers.
    Conv,
}

/// What a bench run measures.
#[derive(Clone, Debug, Default)]
pub struct BenchPlan {
    /// Square sizes `s`: matmul `s^3` and the memory-bound kernels over `s^2` elements
    /// (empty: a default fitting the device).
    pub sizes: Vec<usize>,
    /// More matmul shapes (the autoencoder's `256 x 784 x 256`, say), after the sizes.
    pub shapes: Vec<MatmulDims>,
    /// The families to run; empty: all of them.
    pub only: Vec<Family>,
}

impl BenchPlan {
    fn runs(&self, f: Family) -> bool {
        self.only.is_empty() || self.only.contains(&f)
    }

    /// The square sizes, or the device's default when none were given (and no shape either:
    /// `--shapes` alone times just those).
    fn square_sizes(&self, software: bool) -> Vec<usize> {
        if self.sizes.is_empty() && !self.shapes.is_empty() {
            Vec::new()
        } else {
            default_sizes(software, &self.sizes)
        }
    }
}

/// `m x k x n` as the table names it.
fn shape_name(d: &MatmulDims) -> String {
    if d.m == d.k && d.k == d.n {
        format!("{}^3", d.m)
    } else {
        format!("{}x{}x{}", d.m, d.k, d.n)
    }
}

/// Times the GPU kernels `plan` names. Empty sizes: a default fitting the adapter.
pub fn run_gpu(gpu: &GpuBackend, plan: &BenchPlan, out: &mut dyn Write) -> Result<()> {
    let sizes = plan.square_sizes(gpu.is_software());
    let timing = if gpu.has_timestamps() { "timestamp queries" } else { "host clock (no timestamp queries)" };
    writeln!(out, "bench: {} ({timing})", gpu.describe()).map_err(io)?;
    let mut timer = gpu_timer(gpu)?;
    let mut rows = Vec::new();
    let squares = sizes.iter().map(|&s| MatmulDims::new(s, s, s));
    if plan.runs(Family::Matmul) {
        for d in squares.chain(plan.shapes.iter().copied()) {
            let a = gpu.upload(&ramp(d.a_len(), 1.0), "bench A")?;
            let b = gpu.upload(&ramp(d.b_len(), 0.5), "bench B")?;
            let c = gpu.zeros(d.c_len(), "bench C")?;
            for tile in [64, 128] {
                let secs = timer(&mut || gpu.matmul_with_tile(&a, &b, &c, d, tile))?;
                let kernel = format!("matmul t{tile}{}", if gpu.matmul_tile_for(&d) == tile { " (auto)" } else { "" });
                rows.push(Measure { kernel, size: shape_name(&d), secs, work: Work::Flops(d.flops()) });
            }
            if d.m == d.k && d.k == d.n {
                // One transposed case per square size (A^T through the same tiles).
                let secs = timer(&mut || gpu.matmul(&a, &b, &c, d.trans_a(true)))?;
                rows.push(Measure {
                    kernel: "matmul tA".into(),
                    size: shape_name(&d),
                    secs,
                    work: Work::Flops(d.flops()),
                });
            }
        }
    }
    if plan.runs(Family::Memory) {
        // A vec4 compute copy: timestamps see passes only (len rounded down to vec4s).
        let copy =
            |x: &crate::backend::gpu::GpuBuf, y: &crate::backend::gpu::GpuBuf, len: usize| gpu.copy_vec4(x, y, len / 4);
        for &s in &sizes {
            rows.extend(memory_kernels(gpu, s, &mut *timer, &copy)?);
        }
    }
    if plan.runs(Family::Conv) {
        rows.extend(conv_kernels(gpu, CONV_BATCH, &mut *timer)?);
    }
    write_table(out, &rows, &Rooflines::best_of(&rows))
}

/// Times the CPU kernels `plan` names (host clock).
pub fn run_cpu(plan: &BenchPlan, out: &mut dyn Write) -> Result<()> {
    let cpu = CpuBackend::new();
    let sizes = plan.square_sizes(false);
    writeln!(out, "bench: {}", cpu.describe()).map_err(io)?;
    let mut timer = cpu_timer();
    let mut rows = Vec::new();
    if plan.runs(Family::Matmul) {
        for d in sizes.iter().map(|&s| MatmulDims::new(s, s, s)).chain(plan.shapes.iter().copied()) {
            let a = cpu.upload(&ramp(d.a_len(), 1.0), "A")?;
            let b = cpu.upload(&ramp(d.b_len(), 0.5), "B")?;
            let c = cpu.zeros(d.c_len(), "C")?;
            let secs = timer(&mut || cpu.matmul(&a, &b, &c, d))?;
            rows.push(Measure { kernel: "matmul".into(), size: shape_name(&d), secs, work: Work::Flops(d.flops()) });
        }
    }
    if plan.runs(Family::Memory) {
        for &s in &sizes {
            rows.extend(memory_kernels(&cpu, s, &mut *timer, &|x, y, _| cpu.copy(x, y))?);
        }
    }
    if plan.runs(Family::Conv) {
        rows.extend(conv_kernels(&cpu, CONV_BATCH, &mut *timer)?);
    }
    write_table(out, &rows, &cpu_rooflines())
}

/// The CPU's measured peaks, as `autoenc info` prints them: one core's multiply-add peak at
/// the kernels' SIMD level (and at every other level this CPU has), and the copy bandwidth.
pub struct CpuPeaks {
    /// GFLOP/s of one core, per level measured, in the order asked for.
    pub fma_per_core: Vec<(autoenc_kernels::SimdLevel, f64)>,
    /// GB/s (read + write) of a [`autoenc_kernels::peak::COPY_BYTES`] copy over the kernels' threads.
    pub copy: f64,
    pub threads: usize,
}

impl CpuPeaks {
    /// Runs the probes at every level this CPU has (about a second).
    pub fn measure() -> Self {
        Self::measure_at(&autoenc_kernels::simd::available_levels())
    }

    /// Runs the multiply-add probe at `levels` only, and the copy probe.
    pub fn measure_at(levels: &[autoenc_kernels::SimdLevel]) -> Self {
        let fma_per_core = levels.iter().map(|&l| (l, autoenc_kernels::peak::fma_peak_gflops(l))).collect();
        CpuPeaks {
            fma_per_core,
            copy: autoenc_kernels::peak::copy_bandwidth_gbs(),
            threads: autoenc_kernels::simd::threads(),
        }
    }

    /// One core's peak at the level the kernels run.
    pub fn fma_best(&self) -> (autoenc_kernels::SimdLevel, f64) {
        let level = autoenc_kernels::simd::level();
        self.fma_per_core.iter().copied().find(|(l, _)| *l == level).unwrap_or((level, 0.0))
    }

    /// The lines `autoenc info` prints.
    pub fn lines(&self) -> Vec<String> {
        let per_level: Vec<_> = self.fma_per_core.iter().map(|(l, g)| format!("{} {g:.1}", l.name())).collect();
        vec![
            format!("cpu fma peak per core (GFLOP/s, measured): {}", per_level.join(", ")),
            format!(
                "cpu copy bandwidth (measured, {} MiB over {} thread{}): {:.1} GB/s",
                autoenc_kernels::peak::COPY_BYTES >> 20,
                self.threads,
                if self.threads == 1 { "" } else { "s" },
                self.copy
            ),
        ]
    }
}

/// The CPU rows' rooflines: compute = one core's measured peak at the kernels' level times
/// the kernels' threads; bandwidth = the measured large copy.
fn cpu_rooflines() -> Rooflines {
    // Only the level the kernels run: the others' peaks are `autoenc info`'s business.
    let peaks = CpuPeaks::measure_at(&[autoenc_kernels::simd::level()]);
    let (level, per_core) = peaks.fma_best();
    let t = peaks.threads;
    Rooflines {
        compute: per_core * t as f64,
        bandwidth: peaks.copy,
        source: format!(
            "compute {:.1} GFLOP/s (multiply-add peak at {}: {per_core:.1} per core x {t} thread{}), bandwidth {:.1} GB/s ({} MiB copy), both measured",
            per_core * t as f64,
            level.name(),
            if t == 1 { "" } else { "s" },
            peaks.copy,
            autoenc_kernels::peak::COPY_BYTES >> 20
        ),
    }
}
