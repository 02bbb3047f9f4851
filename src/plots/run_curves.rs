//! The panels of an autoencoder run's `curves.png`, from its metrics rows: the losses, and
//! the extra metrics the model has (mean code activation, the encoder's Jacobian norm).

use super::{Panel, Series};
use crate::train::EpochMetrics;

/// The losses, then one panel per code statistic the run measured.
pub fn reconstruction_panels(history: &[EpochMetrics]) -> Vec<Panel> {
    let line = |name: &str, f: &dyn Fn(&EpochMetrics) -> Option<f64>| Series {
        name: name.into(),
        points: history.iter().filter_map(|m| f(m).map(|v| (m.epoch as f64, v))).collect(),
    };
    let losses = Panel {
        title: "loss per epoch".into(),
        x_label: "epoch".into(),
        y_label: "loss".into(),
        series: vec![
            line("train_objective (incl. penalty)", &|m| Some(m.train_loss)),
            line("test_recon_loss", &|m| Some(m.test_loss)),
            line("test_noisy_recon_loss (corrupted inputs)", &|m| m.noisy_input.map(|d| d.loss)),
        ],
    };
    // Each statistic has its own scale, so its own panel (an absent one is not drawn).
    let single = |title: &str, name: &str, f: &dyn Fn(&EpochMetrics) -> Option<f64>| Panel {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: name.into(),
        series: vec![line(name, f)],
    };
    let elbo = Panel {
        title: "test negative ELBO per image (nats)".into(),
        x_label: "epoch".into(),
        y_label: "nats".into(),
        series: vec![
            line("test_neg_elbo", &|m| m.elbo.map(|e| e.neg_elbo)),
            line("reconstruction", &|m| m.elbo.map(|e| e.reconstruction)),
            line("KL", &|m| m.elbo.map(|e| e.kl)),
        ],
    };
    vec![
        losses,
        elbo,
        single("code activation (sparsity) on the test set", "mean code activation", &|m| Some(m.mean_code)),
        single("contraction on the test set", "encoder Jacobian norm", &|m| m.jacobian_norm),
    ]
}
