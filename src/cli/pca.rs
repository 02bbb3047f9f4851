//! `autoenc pca`: PCA on the CPU (f64 covariance, our own symmetric eigensolver), the
//! reference the linear autoencoder is measured against.

use autoenc::data::datasets;
use autoenc::models::pca::Pca;
use autoenc::{Error, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct PcaArgs {
    /// Number of principal components kept (the code size to compare with `train --model linear --code K`).
    #[arg(long, default_value_t = 32)]
    pub code: usize,
    /// bundled | bundled-fashion | mnist | fashion-mnist | synthetic | a folder of IDX files.
    #[arg(long, default_value = "bundled")]
    pub dataset: String,
    /// Where `mnist` and `fashion-mnist` live (tools/fetch-datasets.sh fills it).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Use only the first N training examples.
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Use only the first N test examples.
    #[arg(long)]
    pub limit_test: Option<usize>,
}

pub fn pca(a: PcaArgs) -> Result<ExitCode> {
    let data = datasets::load(&a.dataset, &a.data_dir)?.limit(a.limit_train, a.limit_test);
    let (n, d) = (data.n_train(), data.dim());
    if a.code == 0 || a.code > d {
        return Err(Error::Config(format!("--code must be in 1..={d} (the input dimension), got {}", a.code)));
    }
    if data.n_test() == 0 {
        return Err(Error::Config(format!("dataset '{}' has no test examples to measure", data.name)));
    }
    println!("pca: {} ({} train, {} test, {} values per image), {} components", data.name, n, data.n_test(), d, a.code);
    let start = Instant::now();
    let pca = Pca::fit(&data.train_x, n, d, a.code)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let (train_mse, train_sse) = pca.reconstruction_error(&data.train_x)?;
    let (test_mse, test_sse) = pca.reconstruction_error(&data.test_x)?;
    println!("fit (covariance + eigensolver, f64): {fit_seconds:.2}s");
    println!("explained variance fraction (train): {:.6}", pca.explained_variance_ratio());
    println!("train mse per pixel: {train_mse:.6}  sse per image: {train_sse:.4}");
    // The same quantities metrics.csv reports as test_loss (MSE) and test_sse_per_image.
    println!("test mse per pixel: {test_mse:.6}");
    println!("test sse per image: {test_sse:.4}");
    Ok(ExitCode::SUCCESS)
}
