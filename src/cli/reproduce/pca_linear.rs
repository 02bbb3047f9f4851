//! `pca-linear`: a linear autoencoder trained with mean squared error reaches PCA's
//! reconstruction error and spans PCA's subspace (Deep Learning 14.1; Baldi & Hornik 1989).
//!
//! For each k: PCA-k fitted on the training images (f64 covariance, our eigensolver), and
//! the linear AE 784-k-784 (identity activations, biases absorb the mean) trained by Adam
//! with a per-epoch learning-rate decay. Reported: test squared error per image of both,
//! their ratio, the training error of both (what both minimise: the schedule was chosen on
//! it, never on the test set), and the principal angles between PCA's components and the
//! decoder's columns.

use super::report::Report;
use super::Context;
use autoenc::backend::Backend;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::pca::{principal_angles, Pca};
use autoenc::train::{self, TrainConfig};
use autoenc::Result;

const CODES: [usize; 4] = [2, 10, 32, 64];
/// The goal: the linear AE's test error within half a percent of PCA's.
const MAX_RATIO: f64 = 1.005;

/// The schedule: full MNIST needs 20 epochs at batch 128; the bundled subset (a few
/// steps per epoch) more, smaller epochs.
fn schedule(ctx: &Context) -> TrainConfig {
    if ctx.quick {
        ctx.adam(200, 32, 3e-3, 0.98, 0.0)
    } else {
        ctx.adam(20, 128, 2e-3, 0.8, 0.0)
    }
}

pub fn run<B: Backend>(backend: &B, ctx: &Context) -> Result<Report> {
    let data = ctx.mnist()?;
    let (n, d) = (data.n_train(), data.dim());
    let cfg = schedule(ctx);
    let mut report = Report {
        title: "PCA against the linear autoencoder".into(),
        setting: format!(
            "{} ({n} train, {} test). Linear AE {d}-k-{d}, identity activations, MSE, Adam, {} epochs, batch {}, \
             lr {} x {}^(epoch-1), seed {}; PCA fitted on the same training images.",
            data.name,
            data.n_test(),
            cfg.epochs,
            cfg.batch_size,
            cfg.lr,
            cfg.lr_decay,
            ctx.seed
        ),
        columns: [
            "k",
            "PCA test SSE/img",
            "linear AE test SSE/img",
            "ratio",
            "PCA train SSE/img",
            "AE train SSE/img",
            "largest principal angle (deg)",
            "mean angle (deg)",
            "AE seconds",
        ]
        .map(String::from)
        .to_vec(),
        goal: format!("linear AE test error at most {MAX_RATIO} x PCA's for every k"),
        goal_met: true,
        machine: backend.describe(),
        ..Report::default()
    };
    let objective = Objective::plain(Reconstruction::Mse);
    let widest = Pca::fit(&data.train_x, n, d, *CODES.iter().max().expect("codes"))?;
    for k in CODES {
        let pca = widest.truncated(k)?;
        let (_, pca_test) = pca.reconstruction_error(&data.test_x)?;
        let (_, pca_train) = pca.reconstruction_error(&data.train_x)?;
        let model = DenseAutoencoder::new(backend, DenseConfig::linear(d, k), ctx.seed)?;
        let start = std::time::Instant::now();
        let history = train::train(backend, &model, &objective, &data.train_x, &data.test_x, d, &cfg, &mut |_| Ok(()))?;
        let seconds = start.elapsed().as_secs_f64();
        let ae_test = history.last().map(|m| m.test_sse_per_image).unwrap_or(f64::NAN);
        let ae_train = train::evaluate(backend, &model, Reconstruction::Mse, &data.train_x, d, 256)?.sse_per_image;
        let dec = model.params.list.iter().find(|p| p.name == "decoder.0.weight").expect("a linear AE has decoder.0");
        let w = dec.value.to_vec(backend)?;
        // decoder.0.weight is [d, k]; its columns span the reconstructions' subspace.
        let cols: Vec<f64> =
            (0..k).flat_map(|c| (0..d).map(move |r| (r, c))).map(|(r, c)| w[r * k + c] as f64).collect();
        let angles = principal_angles(&pca.components, &cols, k, d);
        let largest = angles.iter().copied().fold(0.0, f64::max);
        let mean = angles.iter().sum::<f64>() / k as f64;
        let ratio = ae_test / pca_test;
        let met = ratio <= MAX_RATIO;
        report.goal_met &= met;
        let mark = |s: String| if met { s } else { format!("**{s}**") };
        report.rows.push(vec![
            k.to_string(),
            format!("{pca_test:.4}"),
            format!("{ae_test:.4}"),
            mark(format!("{ratio:.4}")),
            format!("{pca_train:.4}"),
            format!("{ae_train:.4}"),
            format!("{:.3}", largest.to_degrees()),
            format!("{:.3}", mean.to_degrees()),
            format!("{seconds:.1}"),
        ]);
        eprintln!("k = {k}: PCA {pca_test:.4}, linear AE {ae_test:.4} (ratio {ratio:.4}), {seconds:.1} s");
    }
    report.notes.push(
        "The angles measure how far the decoder's span is from PCA's: the error can match while the \
         last directions, whose eigenvalues are close to the next ones, still turn slowly."
            .into(),
    );
    Ok(report)
}
