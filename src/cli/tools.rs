//! `gradcheck`, `validate`, `bench`, `info`.

use super::backend::{open_gpu, BackendArgs, BackendChoice, OnBackend};
use autoenc::backend::prelude::*;
use autoenc::backend::MatmulDims;
use autoenc::tools::gradcheck;
use autoenc::{CpuBackend, Result};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct GradcheckArgs {
    #[command(flatten)]
    backend: BackendArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn gradcheck(a: GradcheckArgs) -> Result<ExitCode> {
    a.backend.run(Gradcheck { seed: a.seed })
}

struct Gradcheck {
    seed: u64,
}

impl OnBackend for Gradcheck {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        gradcheck_on(backend, self.seed)
    }
}

fn gradcheck_on<B: Backend>(backend: &B, seed: u64) -> Result<ExitCode> {
    println!("gradcheck on {} (central differences, eps {}, seed {seed})", backend.describe(), gradcheck::EPS);
    println!("{:<40} {:<8} {:<14} {:>12} {:>10}  result", "op", "input", "shape", "max rel err", "tolerance");
    let rows = gradcheck::run_all(backend, seed)?;
    let mut failed = 0;
    for r in &rows {
        let verdict = if r.pass { "pass" } else { "FAIL" };
        failed += usize::from(!r.pass);
        println!("{:<40} {:<8} {:<14} {:>12.3e} {:>10.0e}  {verdict}", r.op, r.input, r.shape, r.max_rel, r.tol);
    }
    println!("{} passed, {} failed", rows.len() - failed, failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Only the GPU can be validated against the CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: BackendChoice,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    adapter: Option<String>,
}

pub fn validate(a: ValidateArgs) -> Result<ExitCode> {
    if a.backend == BackendChoice::Cpu {
        return Err(autoenc::Error::Config(
            "validate compares the GPU with the CPU reference: use --backend gpu (the CPU SIMD paths are checked against scalar by `cargo test -p autoenc-kernels`)".into(),
        ));
    }
    let gpu = open_gpu(a.adapter.as_deref())?;
    println!("validate: {} against the CPU reference (seed {})", gpu.describe(), a.seed);
    autoenc::tools::validate::print_header();
    let rows = autoenc::tools::validate::run_all(&gpu, a.seed, &mut |r| autoenc::tools::validate::print_row(r))?;
    let failed = rows.iter().filter(|r| !r.pass).count();
    println!("{} passed, {} failed", rows.len() - failed, failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendChoice,
    /// Square matmul sizes (and element counts scale with them).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// More matmul shapes MxKxN (e.g. 256x784x256, the autoencoder's); alone, only these.
    #[arg(long, value_delimiter = ',', value_parser = parse_shape)]
    shapes: Vec<MatmulDims>,
    /// Only these families of rows (default: all).
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<BenchFamily>,
    #[arg(long)]
    adapter: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BenchFamily {
    Matmul,
    Memory,
    Conv,
}

/// `MxKxN`, three positive sizes.
fn parse_shape(s: &str) -> std::result::Result<MatmulDims, String> {
    let dims: Vec<usize> = s
        .split('x')
        .map(|v| v.trim().parse().map_err(|_| format!("'{s}': expected MxKxN")))
        .collect::<std::result::Result<_, _>>()?;
    match dims[..] {
        [m, k, n] if m > 0 && k > 0 && n > 0 => Ok(MatmulDims::new(m, k, n)),
        _ => Err(format!("'{s}': expected MxKxN, three sizes of at least 1")),
    }
}

pub fn bench(a: BenchArgs) -> Result<ExitCode> {
    use autoenc::tools::bench::{BenchPlan, Family};
    let only = a.only.iter().map(|f| match f {
        BenchFamily::Matmul => Family::Matmul,
        BenchFamily::Memory => Family::Memory,
        BenchFamily::Conv => Family::Conv,
    });
    let plan = BenchPlan { sizes: a.sizes, shapes: a.shapes, only: only.collect() };
    let mut out = std::io::stdout();
    match a.backend {
        BackendChoice::Cpu => autoenc::tools::bench::run_cpu(&plan, &mut out)?,
        BackendChoice::Gpu => autoenc::tools::bench::run_gpu(&open_gpu(a.adapter.as_deref())?, &plan, &mut out)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    #[arg(long)]
    adapter: Option<String>,
}

pub fn info(a: InfoArgs) -> Result<ExitCode> {
    let cpu = CpuBackend::new();
    println!("autoenc {}", env!("CARGO_PKG_VERSION"));
    println!("cpu: {}", cpu.describe());
    println!(
        "cpu simd levels available: {:?}",
        autoenc_kernels::simd::available_levels().iter().map(|l| l.name()).collect::<Vec<_>>()
    );
    for line in autoenc_kernels::simd::coverage_lines() {
        println!("cpu {line}");
    }
    for line in autoenc::tools::bench::CpuPeaks::measure().lines() {
        println!("{line}");
    }
    match open_gpu(a.adapter.as_deref()) {
        Ok(gpu) => println!("{}", gpu.info()),
        Err(e) => println!("gpu: none ({e})"),
    }
    Ok(ExitCode::SUCCESS)
}
