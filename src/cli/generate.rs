//! Commands that use a variational run as a generative model: `sample` decodes codes drawn
//! from the prior N(0, I); `manifold` decodes a grid of a 2-D latent over the normal's
//! quantiles (the Keras blog's picture of the digit manifold).

use super::backend::OnBackend;
use super::runs::{load_model, open, write_picture, RunArgs};
use autoenc::autodiff::ops;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::models::Model;
use autoenc::run::SavedRun;
use autoenc::train;
use autoenc::{Error, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most images one command decodes.
const MAX_IMAGES: usize = 10_000;

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    common: RunArgs,
    /// Number of images, drawn z ~ N(0, I) and decoded.
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Seed of the draws (the device's normal generator: the same images on CPU and GPU).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output PNG (default: a new RUN/samples-N.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ManifoldArgs {
    #[command(flatten)]
    common: RunArgs,
    /// Images per side: z runs over the N(0, 1) quantiles 0.05 .. 0.95 on each axis.
    #[arg(long, default_value_t = 15)]
    grid: usize,
    /// Output PNG (default: a new RUN/manifold-N.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The run, its dataset and its decoder, which must be a variational autoencoder's.
fn open_vae<B: Backend>(
    backend: &B,
    common: &RunArgs,
    command: &str,
) -> Result<(SavedRun, Dataset, Box<dyn Model<B>>)> {
    let (run, data) = open(common)?;
    if run.spec.model != "vae" {
        return Err(Error::Config(format!(
            "{command} needs a variational run (--model vae); {} is a '{}' run, whose codes have no prior to draw from",
            common.run.display(),
            run.spec.model
        )));
    }
    let model = load_model(backend, &run, &data)?;
    Ok((run, data, model))
}

/// `rows` of images, `per_row` to a row.
fn in_rows(images: &[f32], dim: usize, per_row: usize) -> Vec<Vec<f32>> {
    images.chunks(dim * per_row).map(|r| r.to_vec()).collect()
}

pub fn sample(a: SampleArgs) -> Result<ExitCode> {
    a.common.device.run(&a)
}

impl OnBackend for &SampleArgs {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        super::validate::count("--count", self.count, 1, MAX_IMAGES)?;
        let (_, data, model) = open_vae(backend, &self.common, "sample")?;
        let code = model.code_shape(1).iter().product::<usize>();
        let z = ops::normal(backend, model.code_shape(self.count), self.seed, 0)?.to_vec(backend)?;
        debug_assert_eq!(z.len(), self.count * code);
        let images = train::decode(backend, model.as_ref(), &z, self.count)?;
        let per_row = (self.count as f64).sqrt().ceil() as usize;
        let rows = in_rows(&images, data.dim(), per_row);
        let out = write_picture(&self.common.run, self.out.as_deref(), "samples", &rows, per_row, &data)?;
        println!("wrote {} ({} images decoded from z ~ N(0, I), seed {})", out.display(), self.count, self.seed);
        Ok(ExitCode::SUCCESS)
    }
}

pub fn manifold(a: ManifoldArgs) -> Result<ExitCode> {
    a.common.device.run(&a)
}

impl OnBackend for &ManifoldArgs {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        super::validate::count("--grid", self.grid, 2, 100)?;
        let (_, data, model) = open_vae(backend, &self.common, "manifold")?;
        let code = model.code_shape(1).iter().product::<usize>();
        if code != 2 {
            return Err(Error::Config(format!(
                "manifold draws a 2-D latent; {} has a {code}-D code (train with --code 2)",
                self.common.run.display()
            )));
        }
        let n = self.grid;
        let q = grid_quantiles(n);
        // Row i from the top holds z1 = q[n-1-i] (high values up), column j z0 = q[j].
        let z: Vec<f32> = (0..n).flat_map(|i| (0..n).flat_map(|j| [q[j], q[n - 1 - i]]).collect::<Vec<_>>()).collect();
        let images = train::decode(backend, model.as_ref(), &z, n * n)?;
        let rows = in_rows(&images, data.dim(), n);
        let out = write_picture(&self.common.run, self.out.as_deref(), "manifold", &rows, n, &data)?;
        println!(
            "wrote {}: {n}x{n} decodings of z over the N(0, 1) quantiles 0.05..0.95 (z0 left to right, z1 bottom to top)",
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// `n` quantiles of N(0, 1) at probabilities evenly spaced over [0.05, 0.95].
fn grid_quantiles(n: usize) -> Vec<f32> {
    (0..n).map(|i| normal_quantile(0.05 + 0.9 * i as f64 / (n - 1) as f64) as f32).collect()
}

/// The inverse of the standard normal CDF for p in (0, 1): Acklam's rational
/// approximation (relative error below 1.2e-9), enough for picking grid points.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_the_normal_table() {
        // scipy.stats.norm.ppf at these probabilities.
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959963984540054),
            (0.05, -1.6448536269514729),
            (0.01, -2.3263478740408408),
            (0.999, 3.090232306167813),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "ppf({p}) = {} vs {z}", normal_quantile(p));
        }
        let q = grid_quantiles(15);
        assert_eq!(q.len(), 15);
        assert!((q[0] + 1.644_853_6).abs() < 1e-6 && (q[14] - 1.644_853_6).abs() < 1e-6 && q[7].abs() < 1e-7);
        assert!(q.windows(2).all(|w| w[0] < w[1]));
    }
}
