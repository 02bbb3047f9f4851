//! `denoising`: noisy-to-clean reconstruction of the test set for masking and Gaussian
//! noise, the figure the denoising papers quote: each denoising AE is scored on corrupted
//! test inputs against the clean images (metrics.csv's `test_noisy_sse_per_image`, which
//! every run with `--noise` writes). There is no published figure for this setting; the
//! table is the engine's own reference.

use super::train_runs::{Metric, TrainRecipe, TrainRun};

pub const RECIPE: TrainRecipe = TrainRecipe {
    title: "Denoising: corrupted test inputs reconstructed against the clean images",
    setting: "MNIST (60,000 train, 10,000 test). Dense AE 784-256-64-256-784 (ReLU, sigmoid output), BCE, Adam \
              1e-3 decayed 0.9 per epoch, 20 epochs, batch 128, trained on inputs corrupted afresh every epoch. \
              Figure: the squared error per test image between the clean image and the reconstruction of its \
              corrupted version (the test corruption drawn once per run).",
    figure: "noisy-input test SSE/img",
    runs: &[
        TrainRun {
            label: "masking 0.25",
            flags: "--model denoising --dataset mnist --noise masking:0.25 --hidden 256 --code 64 --epochs 20 --batch-size 128 --lr-decay 0.9",
            quick: "--model denoising --dataset bundled --noise masking:0.25 --hidden 128 --code 32 --epochs 10",
            metric: Metric::Last("test_noisy_sse_per_image"),
            published: None,
        },
        TrainRun {
            label: "gaussian 0.5",
            flags: "--model denoising --dataset mnist --noise gaussian:0.5 --hidden 256 --code 64 --epochs 20 --batch-size 128 --lr-decay 0.9",
            quick: "--model denoising --dataset bundled --noise gaussian:0.5 --hidden 128 --code 32 --epochs 10",
            metric: Metric::Last("test_noisy_sse_per_image"),
            published: None,
        },
    ],
    notes: &["Each run's metrics.csv also has its clean-input figure (`test_sse_per_image`) for comparison."],
};
