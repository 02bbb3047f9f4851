//! The pictures every run writes beside metrics.csv, refreshed after each epoch:
//! `curves.png` (the metrics so far), `latent.png` (the test codes in 2-D) and
//! `reconstructions.png` (with `--noise` also `denoising.png`) of the same test images.

use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::data::noise::Noise;
use autoenc::models::Model;
use autoenc::plots::{curves_png, latent_png, reconstruction_panels, Panel};
use autoenc::run::RunWriter;
use autoenc::train::{self, EpochMetrics};
use autoenc::Result;
use rand::rngs::StdRng;
use rand::SeedableRng;

pub const CURVES_FILE: &str = "curves.png";
pub const LATENT_FILE: &str = "latent.png";

/// At most this many test codes are drawn: enough to see the classes, quick every epoch.
pub const LATENT_POINTS: usize = 2000;

/// The first test images (at most [`LATENT_POINTS`]) and their labels.
pub fn latent_sample(data: &Dataset) -> (&[f32], &[u8]) {
    let n = data.n_test().min(LATENT_POINTS);
    (&data.test_x[..n * data.dim()], &data.test_y[..n])
}

/// Writes curves.png from `panels`.
pub fn write_curves(writer: &mut RunWriter, panels: &[Panel]) -> Result<()> {
    let png = curves_png(panels)?;
    writer.put_file(CURVES_FILE, &png)
}

/// Writes latent.png from codes already computed (`k` values per code).
pub fn write_latent(writer: &mut RunWriter, codes: &[f32], labels: &[u8], title: &str) -> Result<()> {
    let n = labels.len();
    if n == 0 {
        return Ok(());
    }
    let png = latent_png(codes, labels, n, codes.len() / n, title)?;
    writer.put_file(LATENT_FILE, &png)
}

/// Encodes the latent sample with `model` and writes latent.png.
pub fn write_model_latent<B: Backend, M: Model<B> + ?Sized>(
    writer: &mut RunWriter,
    backend: &B,
    model: &M,
    data: &Dataset,
    title: &str,
) -> Result<()> {
    let (x, labels) = latent_sample(data);
    let codes = train::encode(backend, model, x, data.dim())?;
    write_latent(writer, &codes, labels, title)
}

/// The test images reconstructed after every epoch: the first ten, and their corrupted
/// copies (corrupted once, so every epoch shows the same inputs).
pub struct Shown {
    pub originals: Vec<f32>,
    pub corrupted: Vec<f32>,
    pub noisy: bool,
}

impl Shown {
    pub fn new(data: &Dataset, noise: &Noise, seed: u64) -> Shown {
        let originals = data.test_x[..data.n_test().min(10) * data.dim()].to_vec();
        let mut corrupted = originals.clone();
        noise.apply(&mut corrupted, &mut StdRng::seed_from_u64(seed));
        Shown { originals, corrupted, noisy: !noise.is_none() }
    }
}

/// What an autoencoder run writes after each epoch: the metrics row, curves.png (of every
/// row of metrics.csv, a resumed run's earlier epochs included), reconstructions.png (and
/// denoising.png) and latent.png.
pub fn after_epoch<B: Backend, M: Model<B> + ?Sized>(
    writer: &mut RunWriter,
    backend: &B,
    model: &M,
    data: &Dataset,
    shown: &Shown,
    m: &EpochMetrics,
) -> Result<()> {
    writer.append_metrics(m)?;
    let recon = train::reconstruct(backend, model, &shown.corrupted, data.dim())?;
    writer.save_reconstructions(&shown.originals, &shown.corrupted, &recon, shown.noisy, data.height, data.width)?;
    write_curves(writer, &reconstruction_panels(&writer.metrics_history()))?;
    let title = format!("test codes after epoch {}, coloured by class", m.epoch);
    write_model_latent(writer, backend, model, data, &title)
}
