//! Every model trains on both backends (a few epochs on bundled data, the loss falls),
//! and the GPU follows the CPU step for step: same seed, same first-epoch train loss
//! to 1e-3 relative.
//!
//! The GPU half runs on whatever adapter exists (lavapipe in CI). Without one it is
//! skipped with a note, unless AUTOENC_REQUIRE_GPU=1, which makes that a failure.

use autoenc::backend::gpu::{strict, GpuBackend};
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::noise::Noise;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::stacked::{layer_config, Classifier};
use autoenc::models::Model;
use autoenc::optim::OptimizerKind;
use autoenc::train::{self, EpochMetrics, TrainConfig};
use autoenc::CpuBackend;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::Path;

fn gpu() -> Option<GpuBackend> {
    strict::gpu_or_skip("the GPU half of a training test")
}

fn data(n_train: usize, n_test: usize) -> Dataset {
    datasets::load("bundled", Path::new("data")).unwrap().limit(Some(n_train), Some(n_test))
}

fn cfg(epochs: usize, batch_size: usize, noise: Noise) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size,
        lr: 2e-3,
        lr_decay: 1.0,
        optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        weight_decay: 0.0,
        seed: 11,
        noise,
        check_every: 4,
        progress: false,
    }
}

fn run<B: Backend, M: Model<B>>(be: &B, model: &M, obj: &Objective, d: &Dataset, c: &TrainConfig) -> Vec<EpochMetrics> {
    train::train(be, model, obj, &d.train_x, &d.test_x, d.dim(), c, &mut |_| Ok(())).unwrap()
}

fn assert_falls(name: &str, h: &[EpochMetrics]) {
    let (first, last) = (&h[0], &h[h.len() - 1]);
    assert!(h.iter().all(|m| m.train_loss.is_finite() && m.test_loss.is_finite()), "{name}: {h:?}");
    assert!(last.train_loss < first.train_loss, "{name}: train loss did not fall: {h:?}");
    assert!(last.test_loss < first.test_loss, "{name}: test loss did not fall: {h:?}");
}

fn dense(code_act: Activation, hidden: Vec<usize>) -> DenseConfig {
    DenseConfig {
        input: 784,
        hidden,
        code: 16,
        activation: Activation::Relu,
        code_activation: code_act,
        output_activation: Activation::Sigmoid,
    }
}

/// Each dense model of the family: (name, architecture, objective, corruption).
fn dense_family() -> Vec<(&'static str, DenseConfig, Objective, Noise)> {
    let bce = Objective::plain(Reconstruction::Bce);
    vec![
        ("ae", dense(Activation::Relu, vec![64]), bce, Noise::None),
        ("linear", DenseConfig::linear(784, 16), Objective::plain(Reconstruction::Mse), Noise::None),
        (
            "sparse",
            dense(Activation::Sigmoid, vec![64]),
            Objective { beta: 3.0, rho: 0.05, l1: 1e-4, ..bce },
            Noise::None,
        ),
        ("denoising", dense(Activation::Relu, vec![64]), bce, Noise::Gaussian(0.5)),
        ("contractive", dense(Activation::Sigmoid, vec![]), Objective { contractive: 0.1, ..bce }, Noise::None),
    ]
}

fn dense_family_trains_on<B: Backend>(be: &B) {
    let d = data(384, 96);
    for (name, arch, obj, noise) in dense_family() {
        let model = DenseAutoencoder::new(be, arch, 5).unwrap();
        assert_falls(name, &run(be, &model, &obj, &d, &cfg(3, 32, noise)));
    }
}

fn conv_trains_on<B: Backend>(be: &B, decoder: Decoder, noise: Noise) {
    let d = data(192, 32);
    let model = ConvAutoencoder::new(be, decoder, 28, 28, 2).unwrap();
    let obj = Objective::plain(Reconstruction::Bce);
    assert_falls(&format!("conv {decoder:?} {noise}"), &run(be, &model, &obj, &d, &cfg(3, 32, noise)));
}

fn stacked_trains_on<B: Backend>(be: &B) {
    let d = data(384, 96);
    let obj = Objective::plain(Reconstruction::Bce);
    let c = cfg(2, 32, Noise::Masking(0.25));
    let (mut xs, mut ts) = (d.train_x.clone(), d.test_x.clone());
    let widths = [784, 48, 24];
    let mut stack = Vec::new();
    for l in 0..2 {
        let ae = DenseAutoencoder::new(be, layer_config(widths[l], widths[l + 1]), l as u64).unwrap();
        assert_falls(
            &format!("stacked pretrain {l}"),
            &train::train(be, &ae, &obj, &xs, &ts, widths[l], &c, &mut |_| Ok(())).unwrap(),
        );
        xs = train::encode(be, &ae, &xs, widths[l]).unwrap();
        ts = train::encode(be, &ae, &ts, widths[l]).unwrap();
        stack.push(ae);
    }
    let clf = Classifier::from_pretrained(be, &stack, 784, 10, 0).unwrap();
    let before = clf.error_rate(be, &d.test_x, &d.test_y, 64).unwrap();
    let fine = TrainConfig { epochs: 4, noise: Noise::None, ..c };
    let (train, test) = ((&d.train_x[..], &d.train_y[..]), (&d.test_x[..], &d.test_y[..]));
    let h = train::train_classifier(be, &clf, train, test, "finetune", &fine, &mut |_| Ok(())).unwrap();
    assert!(h.last().unwrap().train_loss < h[0].train_loss, "{h:?}");
    let after = h.last().unwrap().test_error;
    assert!(after < before && after < 0.5, "test error {before} -> {after}");
}

#[test]
fn dense_family_trains_on_cpu() {
    dense_family_trains_on(&CpuBackend::new());
}

#[test]
fn dense_family_trains_on_gpu() {
    if let Some(g) = gpu() {
        dense_family_trains_on(&g);
    }
}

#[test]
fn conv_ae_trains_on_cpu() {
    let be = CpuBackend::new();
    conv_trains_on(&be, Decoder::Upsample, Noise::None);
    conv_trains_on(&be, Decoder::Transposed, Noise::Masking(0.2));
}

#[test]
fn conv_ae_trains_on_gpu() {
    if let Some(g) = gpu() {
        conv_trains_on(&g, Decoder::Upsample, Noise::None);
        conv_trains_on(&g, Decoder::Transposed, Noise::Masking(0.2));
    }
}

#[test]
fn stacked_ae_trains_on_cpu() {
    stacked_trains_on(&CpuBackend::new());
}

#[test]
fn stacked_ae_trains_on_gpu() {
    if let Some(g) = gpu() {
        stacked_trains_on(&g);
    }
}

/// The parity criterion: first-epoch train loss of the AE on the bundled data,
/// same seed, CPU vs GPU, within 1e-3 relative.
#[test]
fn gpu_first_epoch_loss_matches_cpu() {
    let Some(g) = gpu() else { return };
    let d = data(2000, 100);
    let obj = Objective::plain(Reconstruction::Bce);
    let c = cfg(1, 64, Noise::None);
    let arch = dense(Activation::Relu, vec![256]);
    let cpu_h =
        run(&CpuBackend::new(), &DenseAutoencoder::new(&CpuBackend::new(), arch.clone(), 9).unwrap(), &obj, &d, &c);
    let gpu_h = run(&g, &DenseAutoencoder::new(&g, arch, 9).unwrap(), &obj, &d, &c);
    let (a, b) = (cpu_h[0].train_loss, gpu_h[0].train_loss);
    let rel = (a - b).abs() / a.abs();
    assert!(rel <= 1e-3, "cpu {a} vs gpu {b}: relative difference {rel:e}");
    let (ta, tb) = (cpu_h[0].test_loss, gpu_h[0].test_loss);
    assert!((ta - tb).abs() / ta <= 1e-3, "test loss cpu {ta} vs gpu {tb}");
}

/// `train::evaluate` computes on the device and reads back scalars; it must agree with the
/// same quantities computed on the host in f64 from downloaded reconstructions, codes and
/// weights (two batches, the second partial).
fn evaluation_matches_host_reference<B: Backend>(be: &B) {
    let d = data(64, 300);
    let model = DenseAutoencoder::new(be, dense(Activation::Sigmoid, vec![]), 4).unwrap();
    let ev = train::evaluate(be, &model, Reconstruction::Bce, &d.test_x, 784, 256).unwrap();
    let n = d.n_test() as f64;
    let recon = train::reconstruct(be, &model, &d.test_x, 784).unwrap();
    let sse = recon.iter().zip(&d.test_x).map(|(&r, &t)| ((r - t) as f64).powi(2)).sum::<f64>() / n;
    let codes = train::encode(be, &model, &d.test_x, 784).unwrap();
    let mean_code = codes.iter().map(|&c| c as f64).sum::<f64>() / codes.len() as f64;
    let enc = model.encoder_layers().next().unwrap();
    let w = model.params.list[enc.w].value.to_vec(be).unwrap();
    let b = model.params.list[enc.b].value.to_vec(be).unwrap();
    let row_sq: Vec<f64> = w.chunks(784).map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum()).collect();
    let jacobian = d
        .test_x
        .chunks(784)
        .map(|x| {
            let per_unit = w.chunks(784).zip(&b).zip(&row_sq).map(|((wj, &bj), s)| {
                let z = bj as f64 + wj.iter().zip(x).map(|(&a, &v)| a as f64 * v as f64).sum::<f64>();
                let h = 1.0 / (1.0 + (-z).exp());
                (h * (1.0 - h)).powi(2) * s
            });
            per_unit.sum::<f64>().sqrt()
        })
        .sum::<f64>()
        / n;
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 1e-4 * b.abs(), "{what}: device {a} vs host {b}");
    close(ev.sse_per_image, sse, "sse per image");
    close(ev.mean_code, mean_code, "mean code");
    close(ev.jacobian_norm.expect("one-layer encoder"), jacobian, "jacobian norm");
    // Corrupted inputs scored against the clean images (a denoising run's noisy-input
    // figures): the reconstructions are those of the corrupted inputs, the error is
    // measured to the clean ones.
    let mut noisy = d.test_x.clone();
    Noise::Masking(0.5).apply(&mut noisy, &mut StdRng::seed_from_u64(3));
    let ev = train::evaluate_against(be, &model, Reconstruction::Bce, &noisy, &d.test_x, 784, 256).unwrap();
    let recon = train::reconstruct(be, &model, &noisy, 784).unwrap();
    let sse = recon.iter().zip(&d.test_x).map(|(&r, &t)| ((r - t) as f64).powi(2)).sum::<f64>() / n;
    close(ev.sse_per_image, sse, "noisy-input sse per image");
    let bce = recon
        .iter()
        .zip(&d.test_x)
        .map(|(&r, &t)| {
            let r = (r as f64).clamp(1e-7, 1.0 - 1e-7);
            -(t as f64 * r.ln() + (1.0 - t as f64) * (1.0 - r).ln())
        })
        .sum::<f64>()
        / (n * 784.0);
    assert!((ev.loss - bce).abs() <= 1e-3 * bce, "noisy-input bce: device {} vs host {bce}", ev.loss);
    let mismatched = train::evaluate_against(be, &model, Reconstruction::Bce, &noisy, &d.test_x[784..], 784, 256);
    assert!(mismatched.is_err(), "inputs and targets of different sizes must be refused");
}

#[test]
fn evaluation_matches_host_reference_on_cpu() {
    evaluation_matches_host_reference(&CpuBackend::new());
}

#[test]
fn evaluation_matches_host_reference_on_gpu() {
    if let Some(g) = gpu() {
        evaluation_matches_host_reference(&g);
    }
}

/// `check_every` only sets how often the device's loss sum is read back (a resumed run may
/// read back at another rate): the epoch's train loss must not move, not even in its last bit.
fn loss_read_back_rate_changes_nothing<B: Backend>(be: &B, what: &str) {
    let d = data(300, 50);
    let obj = Objective::plain(Reconstruction::Bce);
    let losses = |every: usize| {
        let model = DenseAutoencoder::new(be, dense(Activation::Sigmoid, vec![32]), 3).unwrap();
        let c = TrainConfig { check_every: every, ..cfg(2, 8, Noise::None) };
        run(be, &model, &obj, &d, &c).iter().map(|m| m.train_loss.to_bits()).collect::<Vec<_>>()
    };
    let every_step = losses(1);
    for every in [4, 7, 1000] {
        assert_eq!(losses(every), every_step, "{what}: the train loss with check_every {every} differs from 1");
    }
}

#[test]
fn the_loss_read_back_rate_changes_no_train_loss() {
    loss_read_back_rate_changes_nothing(&CpuBackend::new(), "cpu");
    if let Some(g) = gpu() {
        loss_read_back_rate_changes_nothing(&g, "gpu");
    }
}
