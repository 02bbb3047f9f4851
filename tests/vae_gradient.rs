//! The whole variational objective's gradient, tape against central finite differences,
//! with the latent draws held fixed (a `Draw` names them): every parameter tensor of a
//! small dense and conv VAE, so a gradient path the tape drops (through z to mu, through
//! z to logvar, the KL's own terms, the hidden layer shared by both heads) fails here even
//! when each op passes its own gradcheck. f64 accumulation of an f32 loss: the tolerance
//! is set by the loss's rounding over the step (ulp(500) / 2h = 3e-3), far below any
//! missing term. A probe whose step straddles a relu kink is recognised by its one-sided
//! slopes disagreeing; the tape must then match the slope on the kink-free side, and such
//! probes must stay under a tenth of all.

use autoenc::autodiff::Tape;
use autoenc::data::datasets;
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::vae::{Encoder, VaeConfig, VariationalAutoencoder};
use autoenc::models::{Draw, Model};
use autoenc::tensor::Tensor;
use autoenc::CpuBackend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

const DRAW: Draw = Draw { seed: 42, offset: 7 };

fn loss_and_grads(
    be: &CpuBackend,
    model: &VariationalAutoencoder<CpuBackend>,
    obj: &Objective,
    x: &Tensor<CpuBackend>,
) -> (f64, Vec<Vec<f32>>) {
    let tape = Tape::new(be);
    let p = model.params().bind(&tape);
    let fwd = model.forward_sampled(&p, tape.constant(x), DRAW).unwrap();
    let total = obj.evaluate(&tape, &fwd, x).unwrap().total;
    let loss = tape.value(total).to_vec(be).unwrap()[0] as f64;
    tape.backward(total).unwrap();
    let grads = p.grads().into_iter().map(|g| g.expect("every parameter has a gradient").to_vec(be).unwrap()).collect();
    (loss, grads)
}

fn loss_only(
    be: &CpuBackend,
    model: &VariationalAutoencoder<CpuBackend>,
    obj: &Objective,
    x: &Tensor<CpuBackend>,
) -> f64 {
    let tape = Tape::new(be);
    let p = model.params().bind_frozen(&tape);
    let fwd = model.forward_sampled(&p, tape.constant(x), DRAW).unwrap();
    tape.value(obj.evaluate(&tape, &fwd, x).unwrap().total).to_vec(be).unwrap()[0] as f64
}

fn check(encoder: Encoder) {
    let be = CpuBackend::new();
    let d = datasets::load("bundled", Path::new("data")).unwrap().limit(Some(6), Some(1));
    let cfg = VaeConfig { height: 28, width: 28, encoder, hidden: vec![12], code: 3 };
    let mut model = VariationalAutoencoder::new(&be, cfg, 9).unwrap();
    // Conv biases start at 0, and MNIST's background pixels are exactly 0, so every
    // background pre-activation would sit on relu's kink, where a finite difference
    // straddles two slopes. Biases of +-(0.05..0.2) keep them more than h away.
    let mut rng = StdRng::seed_from_u64(4);
    for p in model.params_mut().list.iter_mut().filter(|p| p.name.ends_with(".bias")) {
        let v: Vec<f32> =
            (0..p.value.numel()).map(|_| rng.random_range(0.05..0.2) * if rng.random() { 1.0 } else { -1.0 }).collect();
        p.value = Tensor::from_slice(&be, p.value.shape.clone(), &v, "bias").unwrap();
    }
    let obj = Objective { variational: Some(1.0), ..Objective::plain(Reconstruction::Bce) };
    let x = Tensor::from_slice(&be, model.input_shape(6), &d.train_x, "x").unwrap();
    let (_, grads) = loss_and_grads(&be, &model, &obj, &x);
    let h = 1e-2f32;
    let (mut probed, mut kinks) = (0usize, 0usize);
    for (k, g) in grads.iter().enumerate() {
        let name = model.params().list[k].name.clone();
        let mut values = model.params().list[k].value.to_vec(&be).unwrap();
        // The largest-gradient element and a few spread over the tensor.
        let top = (0..g.len()).max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs())).unwrap();
        let probes = [top, 0, g.len() / 3, g.len() / 2, g.len() - 1];
        let scale = g.iter().map(|v| v.abs()).fold(0.0f32, f32::max) as f64;
        for &i in &probes {
            let orig = values[i];
            let mut at = |v: f32| {
                values[i] = v;
                model.params_mut().list[k].value =
                    Tensor::from_slice(&be, model.params().list[k].value.shape.clone(), &values, "probe").unwrap();
                loss_only(&be, &model, &obj, &x)
            };
            let (up, down) = (at(orig + h), at(orig - h));
            let mid = at(orig);
            let tol = |d: f64| 2e-2 * scale.max(1.0) + 2e-2 * d.abs();
            let fits = |d: f64| (d - g[i] as f64).abs() <= tol(d);
            let fd = (up - down) / (2.0 * h as f64);
            probed += 1;
            if fits(fd) {
                continue;
            }
            // A relu kink inside (orig - h, orig + h): the central difference averages two
            // slopes. Then the one-sided slopes differ, and the tape's (the slope at orig
            // itself) must be the one on the side without the kink.
            let (left, right) = ((mid - down) / h as f64, (up - mid) / h as f64);
            assert!(
                (right - left).abs() > 2.0 * tol(fd) && (fits(left) || fits(right)),
                "{encoder:?} {name}[{i}]: tape {} vs finite difference {fd} (one-sided {left}, {right}; largest |grad| {scale})",
                g[i]
            );
            kinks += 1;
        }
    }
    // Straddled kinks are rare; a tape that mostly matched only one-sided slopes is wrong.
    assert!(kinks * 10 <= probed, "{encoder:?}: {kinks} of {probed} probes straddle a relu kink");
}

#[test]
fn the_dense_vae_gradient_matches_finite_differences() {
    check(Encoder::Dense);
}

#[test]
fn the_conv_vae_gradient_matches_finite_differences() {
    check(Encoder::Conv);
}
