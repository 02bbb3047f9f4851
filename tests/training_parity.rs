//! CPU/GPU parity of a few training steps for every model: same seed, same data, same
//! steps on both backends; each step's train loss agrees to 1e-4 relative and every final
//! weight to 1e-3 (relative to the weight, with a floor of the tensor's RMS, since Adam's
//! update is lr * m / sqrt(v) whatever the gradient's size, a weight near 0 is no harder
//! to match than a typical one).
//!
//! One epoch over a training set of one batch is one step, so the per-epoch train loss
//! the library reports is each step's loss (computed before that step's update).
//! New models get a row here as they land. Runs on the GPU through
//! `strict::gpu_or_skip` (a failure without an adapter when AUTOENC_REQUIRE_GPU=1).

use autoenc::backend::gpu::{strict, GpuBackend};
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::noise::Noise;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::stacked::{layer_config, Classifier};
use autoenc::models::vae::{Encoder, VaeConfig, VariationalAutoencoder};
use autoenc::nn::Params;
use autoenc::optim::OptimizerKind;
use autoenc::train::{self, TrainConfig};
use autoenc::CpuBackend;
use std::path::Path;

const LOSS_TOL: f64 = 1e-4;
const WEIGHT_TOL: f64 = 1e-3;

fn gpu() -> Option<GpuBackend> {
    strict::gpu_or_skip("the CPU/GPU training parity")
}

/// One batch of `rows` training images (so an epoch is a step) and 16 test images.
fn data(rows: usize) -> Dataset {
    datasets::load("bundled", Path::new("data")).unwrap().limit(Some(rows), Some(16))
}

fn steps(n: usize, batch_size: usize, noise: Noise) -> TrainConfig {
    TrainConfig {
        epochs: n,
        batch_size,
        lr: 2e-3,
        lr_decay: 1.0,
        optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        weight_decay: 0.0,
        seed: 7,
        noise,
        check_every: 1,
        progress: false,
    }
}

fn assert_losses(name: &str, cpu: &[f64], gpu: &[f64]) {
    assert_eq!(cpu.len(), gpu.len(), "{name}: step counts");
    for (i, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        let rel = (c - g).abs() / c.abs().max(f64::MIN_POSITIVE);
        assert!(
            c.is_finite() && rel <= LOSS_TOL,
            "{name}: step {} loss cpu {c} vs gpu {g} ({rel:.2e} relative)",
            i + 1
        );
    }
}

fn assert_weights<C: Backend, G: Backend>(name: &str, c: &C, cp: &Params<C>, g: &G, gp: &Params<G>) {
    assert_eq!(cp.list.len(), gp.list.len(), "{name}: parameter counts");
    for (a, b) in cp.list.iter().zip(&gp.list) {
        let (wa, wb) = (a.value.to_vec(c).unwrap(), b.value.to_vec(g).unwrap());
        assert_eq!(wa.len(), wb.len(), "{name} {}: sizes", a.name);
        let rms = (wa.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / wa.len().max(1) as f64).sqrt();
        let worst = wa
            .iter()
            .zip(&wb)
            .enumerate()
            .map(|(i, (&x, &y))| (i, (x as f64 - y as f64).abs() / (x.abs() as f64).max(rms).max(f64::MIN_POSITIVE)))
            .fold((0, 0.0f64), |m, e| if e.1 > m.1 || e.1.is_nan() { e } else { m });
        assert!(
            worst.1 <= WEIGHT_TOL,
            "{name} {}[{}]: cpu {} vs gpu {} ({:.2e})",
            a.name,
            worst.0,
            wa[worst.0],
            wb[worst.0],
            worst.1
        );
    }
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

/// Trains `model` the same way on both backends and compares.
fn dense_parity(g: &GpuBackend, name: &str, arch: DenseConfig, obj: Objective, noise: Noise) {
    let (d, cfg, cpu) = (data(32), steps(4, 32, noise), CpuBackend::new());
    let mc = DenseAutoencoder::new(&cpu, arch.clone(), 3).unwrap();
    let mg = DenseAutoencoder::new(g, arch, 3).unwrap();
    let hc = train::train(&cpu, &mc, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let hg = train::train(g, &mg, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let loss = |h: &[train::EpochMetrics]| h.iter().map(|m| m.train_loss).collect::<Vec<_>>();
    assert_losses(name, &loss(&hc), &loss(&hg));
    assert_weights(name, &cpu, &mc.params, g, &mg.params);
}

#[test]
fn ae_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    dense_parity(&g, "ae", dense(Activation::Relu, vec![64]), Objective::plain(Reconstruction::Bce), Noise::None);
}

#[test]
fn linear_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    dense_parity(&g, "linear", DenseConfig::linear(784, 16), Objective::plain(Reconstruction::Mse), Noise::None);
}

#[test]
fn sparse_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    let obj = Objective { beta: 3.0, rho: 0.05, l1: 1e-4, ..Objective::plain(Reconstruction::Bce) };
    dense_parity(&g, "sparse", dense(Activation::Sigmoid, vec![64]), obj, Noise::None);
}

#[test]
fn denoising_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    let arch = dense(Activation::Relu, vec![64]);
    dense_parity(&g, "denoising", arch, Objective::plain(Reconstruction::Bce), Noise::Gaussian(0.5));
}

#[test]
fn contractive_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    let obj = Objective { contractive: 0.1, ..Objective::plain(Reconstruction::Bce) };
    dense_parity(&g, "contractive", dense(Activation::Sigmoid, vec![]), obj, Noise::None);
}

fn conv_parity(g: &GpuBackend, decoder: Decoder) {
    let name = format!("conv {decoder:?}");
    let (d, cfg, cpu) = (data(8), steps(3, 8, Noise::None), CpuBackend::new());
    let obj = Objective::plain(Reconstruction::Bce);
    let mc = ConvAutoencoder::new(&cpu, decoder, 28, 28, 2).unwrap();
    let mg = ConvAutoencoder::new(g, decoder, 28, 28, 2).unwrap();
    let hc = train::train(&cpu, &mc, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let hg = train::train(g, &mg, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let loss = |h: &[train::EpochMetrics]| h.iter().map(|m| m.train_loss).collect::<Vec<_>>();
    assert_losses(&name, &loss(&hc), &loss(&hg));
    assert_weights(&name, &cpu, &mc.params, g, &mg.params);
}

#[test]
fn conv_upsample_decoder_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    conv_parity(&g, Decoder::Upsample);
}

#[test]
fn conv_transposed_decoder_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    conv_parity(&g, Decoder::Transposed);
}

/// The VAE: the latent draws come from the device's counter-based generator, the same
/// numbers on both backends, so the sampled training steps agree as the others do.
fn vae_parity(g: &GpuBackend, encoder: Encoder) {
    let name = format!("vae {encoder:?}");
    let (d, cfg, cpu) = (data(16), steps(3, 16, Noise::None), CpuBackend::new());
    let obj = Objective { variational: Some(1.0), ..Objective::plain(Reconstruction::Bce) };
    let arch = VaeConfig { height: 28, width: 28, encoder, hidden: vec![48], code: 4 };
    let mc = VariationalAutoencoder::new(&cpu, arch.clone(), 5).unwrap();
    let mg = VariationalAutoencoder::new(g, arch, 5).unwrap();
    let hc = train::train(&cpu, &mc, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let hg = train::train(g, &mg, &obj, &d.train_x, &d.test_x, d.dim(), &cfg, &mut |_| Ok(())).unwrap();
    let loss = |h: &[train::EpochMetrics]| h.iter().map(|m| m.train_loss).collect::<Vec<_>>();
    assert_losses(&name, &loss(&hc), &loss(&hg));
    let elbo = |h: &[train::EpochMetrics]| h.iter().map(|m| m.elbo.expect("vae metrics").neg_elbo).collect::<Vec<_>>();
    assert_losses(&format!("{name} test negative ELBO"), &elbo(&hc), &elbo(&hg));
    assert_weights(&name, &cpu, &mc.params, g, &mg.params);
}

#[test]
fn vae_dense_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    vae_parity(&g, Encoder::Dense);
}

#[test]
fn vae_conv_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    vae_parity(&g, Encoder::Conv);
}

/// Greedy pretraining of two layers (masking noise), then the classifier's fine-tuning.
fn stacked_run<B: Backend>(be: &B, d: &Dataset) -> (Vec<f64>, Vec<DenseAutoencoder<B>>, Classifier<B>) {
    let obj = Objective::plain(Reconstruction::Bce);
    let cfg = steps(3, 32, Noise::Masking(0.25));
    let (mut xs, mut ts, mut losses) = (d.train_x.clone(), d.test_x.clone(), Vec::new());
    let widths = [784, 48, 24];
    let mut stack = Vec::new();
    for l in 0..2 {
        let ae = DenseAutoencoder::new(be, layer_config(widths[l], widths[l + 1]), l as u64).unwrap();
        let h = train::train(be, &ae, &obj, &xs, &ts, widths[l], &cfg, &mut |_| Ok(())).unwrap();
        losses.extend(h.iter().map(|m| m.train_loss));
        xs = train::encode(be, &ae, &xs, widths[l]).unwrap();
        ts = train::encode(be, &ae, &ts, widths[l]).unwrap();
        stack.push(ae);
    }
    let clf = Classifier::from_pretrained(be, &stack, 784, 10, 0).unwrap();
    let fine = TrainConfig { noise: Noise::None, ..cfg };
    let (train, test) = ((&d.train_x[..], &d.train_y[..]), (&d.test_x[..], &d.test_y[..]));
    let h = train::train_classifier(be, &clf, train, test, "finetune", &fine, &mut |_| Ok(())).unwrap();
    losses.extend(h.iter().map(|m| m.train_loss));
    (losses, stack, clf)
}

#[test]
fn stacked_trains_the_same_on_cpu_and_gpu() {
    let Some(g) = gpu() else { return };
    let (d, cpu) = (data(32), CpuBackend::new());
    let (lc, sc, cc) = stacked_run(&cpu, &d);
    let (lg, sg, cg) = stacked_run(&g, &d);
    assert_losses("stacked", &lc, &lg);
    for (l, (a, b)) in sc.iter().zip(&sg).enumerate() {
        assert_weights(&format!("stacked layer {l}"), &cpu, &a.params, &g, &b.params);
    }
    assert_weights("stacked classifier", &cpu, &cc.params, &g, &cg.params);
}
