//! Command-line parsing and dispatch. Each subcommand lives in its own file.

mod args;
mod backend;
mod generate;
mod pca;
mod pictures;
mod reproduce;
mod runs;
mod runtime_dir;
mod serve;
mod stacked;
mod stacked_metrics;
mod tools;
mod trace;
mod train;
mod validate;

use autoenc::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "autoenc", version, about = "Autoencoders trained through hand-written WGSL and SIMD kernels")]
pub struct Cli {
    /// Memory budget for sizes taken from input (e.g. 4G); default: the available memory.
    #[arg(long, global = true, value_parser = autoenc::limits::parse_size)]
    max_memory: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an autoencoder and write config.json, metrics.csv, model.safetensors and
    /// reconstructions.png to --out.
    Train(Box<args::TrainArgs>),
    /// Finite-difference gradient check of every differentiable op.
    Gradcheck(tools::GradcheckArgs),
    /// Run every kernel on the GPU and on the CPU and compare.
    Validate(tools::ValidateArgs),
    /// Time the kernels: GFLOP/s, GB/s and the fraction of the measured roofline.
    Bench(tools::BenchArgs),
    /// PCA on the CPU: explained variance and test reconstruction error with K components.
    Pca(pca::PcaArgs),
    /// Rerun an experiment from the literature (`--list` names them) and write its table.
    Reproduce(reproduce::ReproduceArgs),
    /// Reconstruct test images with a trained run.
    Reconstruct(runs::ReconstructArgs),
    /// Decode z = alpha*z1 + (1-alpha)*z2 between the codes of two test images.
    Interpolate(runs::InterpolateArgs),
    /// Write the test codes of a trained run, with their labels, as .csv or .npy.
    Encode(runs::EncodeArgs),
    /// Decode codes drawn from the prior N(0, I) with a variational run into a PNG grid.
    Sample(generate::SampleArgs),
    /// Decode a grid of a 2-D variational latent over the normal's quantiles (the digit manifold).
    Manifold(generate::ManifoldArgs),
    /// One small batch through the tape: every node in order, then the reverse walk with
    /// gradient shapes and norms (--dot FILE for Graphviz).
    Trace(Box<trace::TraceArgs>),
    /// A local web page: pick a model and dataset, train, watch curves, reconstructions,
    /// the latent map and an interpolation slider (http://127.0.0.1:8080/ by default).
    Serve(serve::ServeArgs),
    /// The GPU adapter, its limits and features, and the CPU SIMD level.
    Info(tools::InfoArgs),
}

impl Cli {
    /// The arguments of a `train` command, if this is one.
    fn train_args(self) -> Option<args::TrainArgs> {
        match self.command {
            Some(Command::Train(a)) => Some(*a),
            _ => None,
        }
    }
}

/// Parses the command line and runs it. `autoenc` alone trains the default model.
pub fn run() -> Result<ExitCode> {
    runtime_dir::ensure_runtime_dir();
    autoenc_kernels::simd::requested_level().map_err(autoenc::Error::Config)?;
    autoenc_kernels::conv2d::check_forced().map_err(autoenc::Error::Config)?;
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        cli = Cli::parse_from(["autoenc", "train"]);
    }
    if let Some(bytes) = cli.max_memory {
        autoenc::limits::set_max_memory(bytes);
    }
    match cli.command.expect("set above") {
        Command::Train(a) if a.model == args::ModelChoice::Stacked => stacked::run(*a),
        Command::Train(a) => train::run(*a),
        Command::Gradcheck(a) => tools::gradcheck(a),
        Command::Validate(a) => tools::validate(a),
        Command::Bench(a) => tools::bench(a),
        Command::Info(a) => tools::info(a),
        Command::Pca(a) => pca::pca(a),
        Command::Reproduce(a) => reproduce::reproduce(a),
        Command::Reconstruct(a) => runs::reconstruct(a),
        Command::Interpolate(a) => runs::interpolate(a),
        Command::Encode(a) => runs::encode(a),
        Command::Sample(a) => generate::sample(a),
        Command::Manifold(a) => generate::manifold(a),
        Command::Serve(a) => serve::serve(a),
        Command::Trace(a) => trace::trace(*a),
    }
}

/// Runs an `autoenc train` command line in this process (what `reproduce` recipes are
/// made of); a run that does not finish is an error.
pub fn run_train_command(argv: &[String]) -> Result<()> {
    let cli = Cli::try_parse_from(argv).map_err(|e| autoenc::Error::Config(format!("{}: {e}", argv.join(" "))))?;
    let Some(Command::Train(a)) = cli.command else {
        return Err(autoenc::Error::Config(format!("not a train command: {}", argv.join(" "))));
    };
    let code = if a.model == args::ModelChoice::Stacked { stacked::run(*a)? } else { train::run(*a)? };
    if code != ExitCode::SUCCESS {
        return Err(autoenc::Error::Config(format!("{} did not finish", argv.join(" "))));
    }
    Ok(())
}

/// Parses an `autoenc train` command line and runs every check made before data is
/// loaded (flag ranges, noise, objective, layer sizes against the memory budget), without
/// touching any file. The fuzz target `train_flags` drives it.
#[allow(dead_code)]
pub fn check_train_flags(argv: &[String]) -> Result<()> {
    let cli = Cli::try_parse_from(argv).map_err(|e| autoenc::Error::Config(e.to_string()))?;
    let Some(Command::Train(a)) = cli.command else { return Ok(()) };
    if let Some(bytes) = cli.max_memory {
        autoenc::limits::set_max_memory(bytes);
    }
    validate::train_flags(&a)?;
    a.objective()?;
    a.noise()?;
    if a.model == args::ModelChoice::Stacked {
        validate::dense_memory("--layers", &a.layers, a.batch_size)
    } else if a.model == args::ModelChoice::Vae {
        a.vae_config(28, 28).map(|_| ())
    } else {
        a.dense_config(784).map(|_| ())
    }
}
