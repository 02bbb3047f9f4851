//! Commands that use a finished run directory: `reconstruct`, `interpolate` and `encode`.

use super::backend::{BackendArgs, OnBackend};
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::data::datasets::{self, Dataset};
use autoenc::io::codes::codes_table;
use autoenc::io::images::{encode_png, grid_image, write_grid};
use autoenc::io::write_atomic;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::vae::{Encoder, VaeConfig, VariationalAutoencoder};
use autoenc::models::Model;
use autoenc::run::{Architecture, RunWriter, SavedRun};
use autoenc::train;
use autoenc::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The run directory written by `autoenc train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset to draw test images from (default: the one the run trained on).
    #[arg(long)]
    dataset: Option<String>,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[command(flatten)]
    pub device: BackendArgs,
}

#[derive(Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    common: RunArgs,
    /// Number of test images.
    #[arg(long, default_value_t = 16)]
    count: usize,
    /// Output PNG (default: a new RUN/reconstruct-N.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InterpolateArgs {
    #[command(flatten)]
    common: RunArgs,
    /// Index of the first test image.
    #[arg(long, default_value_t = 0)]
    from: usize,
    /// Index of the second test image.
    #[arg(long, default_value_t = 1)]
    to: usize,
    /// Images in each row, alpha going from 1 to 0.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Output PNG (default: a new RUN/interpolation-N.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    common: RunArgs,
    /// Output file: .csv (label,z0,z1,...) or .npy (float32, column 0 the label).
    #[arg(long)]
    out: PathBuf,
}

fn activation(name: &str, dir: &Path) -> Result<Activation> {
    Activation::parse(name).ok_or_else(|| Error::Checkpoint(format!("{}: unknown activation '{name}'", dir.display())))
}

/// Rebuilds the autoencoder a run trained and loads its weights.
pub fn load_model<B: Backend>(backend: &B, run: &SavedRun, data: &Dataset) -> Result<Box<dyn Model<B>>> {
    let dir = &run.dir;
    let mut model: Box<dyn Model<B>> = match (run.spec.model.as_str(), &run.spec.arch) {
        ("stacked", _) | (_, Architecture::Stacked { .. }) => {
            return Err(Error::Config(format!("{} is a stacked classifier run: it has no decoder", dir.display())))
        }
        ("vae", Architecture::Variational { encoder, hidden, code }) => {
            let config = VaeConfig {
                height: data.height,
                width: data.width,
                encoder: Encoder::parse(encoder)?,
                hidden: hidden.clone(),
                code: *code,
            };
            Box::new(VariationalAutoencoder::new(backend, config, 0)?)
        }
        ("conv", Architecture::Conv { decoder }) => {
            Box::new(ConvAutoencoder::new(backend, Decoder::parse(decoder)?, data.height, data.width, 0)?)
        }
        (kind, Architecture::Dense { hidden, code, activation: act, code_activation, output_activation })
            if kind != "conv" =>
        {
            let cfg = DenseConfig {
                input: data.dim(),
                hidden: hidden.clone(),
                code: *code,
                activation: activation(act, dir)?,
                code_activation: activation(code_activation, dir)?,
                output_activation: activation(output_activation, dir)?,
            };
            Box::new(DenseAutoencoder::new(backend, cfg, 0)?)
        }
        _ => return Err(Error::Checkpoint(format!("{}: config.json lacks the layer sizes", dir.display()))),
    };
    run.load_params(backend, model.params_mut())?;
    Ok(model)
}

/// The run and the dataset its test images come from.
pub fn open(args: &RunArgs) -> Result<(SavedRun, Dataset)> {
    let run = SavedRun::open(&args.run)?;
    let spec = match &args.dataset {
        Some(s) => s.clone(),
        None => run.spec.dataset_spec.clone().unwrap_or_else(|| "bundled".into()),
    };
    let data = datasets::load(&spec, &args.data_dir)?;
    if data.n_test() == 0 {
        return Err(Error::Config(format!("{} has no test images to draw from", data.name)));
    }
    Ok((run, data))
}

/// Writes a grid to `out`, or else to a new `STEM-N.png` in the run (through its writer:
/// never replacing a training output).
pub fn write_picture(
    run: &Path,
    out: Option<&Path>,
    stem: &str,
    rows: &[Vec<f32>],
    n: usize,
    data: &Dataset,
) -> Result<PathBuf> {
    if let Some(out) = out {
        if out.exists() {
            return Err(Error::Config(format!(
                "{} exists; choose another --out (nothing is overwritten)",
                out.display()
            )));
        }
        write_grid(out, rows, n, data.height, data.width, 2)?;
        return Ok(out.to_path_buf());
    }
    let mut writer = RunWriter::amend(run)?;
    let name = writer.unused_name(stem, "png");
    writer.put_file(&name, &encode_png(&grid_image(rows, n, data.height, data.width, 2)?)?)?;
    writer.finish()?;
    Ok(run.join(name))
}

pub fn reconstruct(a: ReconstructArgs) -> Result<ExitCode> {
    a.common.device.run(&a)
}

impl OnBackend for &ReconstructArgs {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        reconstruct_on(backend, self)
    }
}

fn reconstruct_on<B: Backend>(backend: &B, a: &ReconstructArgs) -> Result<ExitCode> {
    if a.count == 0 {
        return Err(Error::Config("--count must be at least 1, got 0".into()));
    }
    let (run, data) = open(&a.common)?;
    let model = load_model(backend, &run, &data)?;
    let n = a.count.clamp(1, data.n_test());
    let originals = &data.test_x[..n * data.dim()];
    let recon = train::reconstruct(backend, model.as_ref(), originals, data.dim())?;
    let out = write_picture(&a.common.run, a.out.as_deref(), "reconstruct", &[originals.to_vec(), recon], n, &data)?;
    println!("wrote {} ({n} test images over their reconstructions)", out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn interpolate(a: InterpolateArgs) -> Result<ExitCode> {
    a.common.device.run(&a)
}

impl OnBackend for &InterpolateArgs {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        interpolate_on(backend, self)
    }
}

fn interpolate_on<B: Backend>(backend: &B, a: &InterpolateArgs) -> Result<ExitCode> {
    let (run, data) = open(&a.common)?;
    for i in [a.from, a.to] {
        if i >= data.n_test() {
            return Err(Error::Config(format!(
                "test image {i} does not exist: {} has {} test images",
                data.name,
                data.n_test()
            )));
        }
    }
    if a.steps < 2 {
        return Err(Error::Config(format!("--steps must be at least 2, got {}", a.steps)));
    }
    let values = (a.steps as u128).checked_mul(data.dim() as u128).and_then(|v| v.checked_mul(4));
    autoenc::limits::check(&format!("--steps {}", a.steps), values.and_then(autoenc::limits::f32s))?;
    let model = load_model(backend, &run, &data)?;
    let dim = data.dim();
    let pair = [data.test_image(a.from), data.test_image(a.to)].concat();
    let codes = train::encode(backend, model.as_ref(), &pair, dim)?;
    let code_len = codes.len() / 2;
    let (z1, z2) = codes.split_at(code_len);
    // alpha runs from 1 (the first image) to 0 (the second).
    let alphas: Vec<f32> = (0..a.steps).map(|s| 1.0 - s as f32 / (a.steps - 1) as f32).collect();
    let mix = |x: &[f32], y: &[f32]| -> Vec<f32> {
        alphas.iter().flat_map(|&al| x.iter().zip(y).map(move |(&p, &q)| al * p + (1.0 - al) * q)).collect()
    };
    let latent = train::decode(backend, model.as_ref(), &mix(z1, z2), a.steps)?;
    let pixels = mix(data.test_image(a.from), data.test_image(a.to));
    let out = write_picture(&a.common.run, a.out.as_deref(), "interpolation", &[latent, pixels], a.steps, &data)?;
    println!(
        "wrote {}: top row decodes alpha*z({}) + (1-alpha)*z({}) for alpha 1 -> 0; bottom row blends the pixels",
        out.display(),
        a.from,
        a.to
    );
    Ok(ExitCode::SUCCESS)
}

pub fn encode(a: EncodeArgs) -> Result<ExitCode> {
    a.common.device.run(&a)
}

impl OnBackend for &EncodeArgs {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        encode_on(backend, self)
    }
}

fn encode_on<B: Backend>(backend: &B, a: &EncodeArgs) -> Result<ExitCode> {
    let (run, data) = open(&a.common)?;
    let model = load_model(backend, &run, &data)?;
    let codes = train::encode(backend, model.as_ref(), &data.test_x, data.dim())?;
    let k = codes.len() / data.n_test().max(1);
    let table = codes_table(&a.out, &codes, &data.test_y, k)?;
    write_atomic(&a.out, &table)?;
    println!("wrote {}: {} test codes of {k} values with their labels ({})", a.out.display(), data.n_test(), data.name);
    Ok(ExitCode::SUCCESS)
}
