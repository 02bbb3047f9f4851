//! Models train on the CPU backend: the loss falls and the tape sees the expected ops.

use autoenc::autodiff::Tape;
use autoenc::backend::Activation;
use autoenc::data::datasets;
use autoenc::data::noise::Noise;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::Model;
use autoenc::optim::OptimizerKind;
use autoenc::train::{self, TrainConfig};
use autoenc::{CpuBackend, Tensor};
use std::path::Path;

fn config(epochs: usize, noise: Noise) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        lr: 2e-3,
        lr_decay: 1.0,
        optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        weight_decay: 0.0,
        seed: 7,
        noise,
        check_every: 5,
        progress: false,
    }
}

fn dense(input: usize, code_act: Activation) -> DenseConfig {
    DenseConfig {
        input,
        hidden: vec![64],
        code: 16,
        activation: Activation::Relu,
        code_activation: code_act,
        output_activation: Activation::Sigmoid,
    }
}

fn train_losses(model_cfg: DenseConfig, objective: Objective, noise: Noise, epochs: usize) -> Vec<(f64, f64)> {
    let data = datasets::load("bundled", Path::new("data")).unwrap().limit(Some(512), Some(128));
    let be = CpuBackend::new();
    let model = DenseAutoencoder::new(&be, model_cfg, 3).unwrap();
    let h = train::train(
        &be,
        &model,
        &objective,
        &data.train_x,
        &data.test_x,
        data.dim(),
        &config(epochs, noise),
        &mut |_| Ok(()),
    )
    .unwrap();
    h.iter().map(|m| (m.train_loss, m.test_loss)).collect()
}

fn assert_falls(losses: &[(f64, f64)]) {
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(last.0 < first.0 * 0.95, "train loss did not fall: {losses:?}");
    assert!(last.1 < first.1, "test loss did not fall: {losses:?}");
    assert!(losses.iter().all(|(a, b)| a.is_finite() && b.is_finite()));
}

#[test]
fn dense_ae_loss_falls() {
    assert_falls(&train_losses(dense(784, Activation::Relu), Objective::plain(Reconstruction::Bce), Noise::None, 4));
}

#[test]
fn linear_ae_loss_falls_with_mse() {
    let cfg = DenseConfig::linear(784, 16);
    assert_falls(&train_losses(cfg, Objective::plain(Reconstruction::Mse), Noise::None, 4));
}

#[test]
fn sparse_ae_trains_with_kl_and_l1() {
    let mut obj = Objective::plain(Reconstruction::Bce);
    obj.beta = 3.0;
    obj.rho = 0.05;
    obj.l1 = 1e-4;
    assert_falls(&train_losses(dense(784, Activation::Sigmoid), obj, Noise::None, 4));
}

#[test]
fn denoising_ae_trains_on_masked_inputs() {
    assert_falls(&train_losses(
        dense(784, Activation::Relu),
        Objective::plain(Reconstruction::Bce),
        Noise::Masking(0.25),
        4,
    ));
}

#[test]
fn contractive_ae_trains() {
    let cfg = DenseConfig { hidden: vec![], ..dense(784, Activation::Sigmoid) };
    let mut obj = Objective::plain(Reconstruction::Bce);
    obj.contractive = 0.1;
    assert_falls(&train_losses(cfg, obj, Noise::None, 4));
}

#[test]
fn forward_records_linear_and_activation_nodes() {
    let be = CpuBackend::new();
    let model = DenseAutoencoder::new(&be, dense(10, Activation::Relu), 0).unwrap();
    let tape = Tape::new(&be);
    let p = model.params().bind(&tape);
    let x = Tensor::from_slice(&be, [2, 10], &[0.5; 20], "x").unwrap();
    let fwd = model.forward(&p, tape.constant(&x)).unwrap();
    let ops = tape.op_names();
    assert_eq!(ops.iter().filter(|&&o| o == "linear").count(), 4, "{ops:?}");
    assert_eq!(tape.shape(fwd.recon).dims(), &[2, 10]);
    assert_eq!(tape.shape(fwd.code).dims(), &[2, 16]);
}
