//! The VAE's tape ops on the CPU: the closed-form `gaussian_kl` against a Monte Carlo
//! estimate through `reparameterize` and `normal`, the ops' shape checks, and `normal`'s
//! stream arithmetic. (Gradients: tests/gradcheck.rs; GPU against CPU: tests/gpu_vs_cpu.rs.)

use autoenc::autodiff::{ops, Tape};
use autoenc::error::Error;
use autoenc::{CpuBackend, Tensor};

/// `KL(q || p) = E_q[log q(z) - log p(z)]` with `z = mu + sigma eps`; per latent unit
/// `log q(z) - log p(z) = -lv/2 - eps^2/2 + z^2/2` (the `ln 2 pi` terms cancel). The mean
/// over `samples` draws per row must meet the closed form within 4 standard errors, and a
/// closed form off by 2% (far less than a dropped term) must not.
#[test]
fn closed_form_kl_matches_monte_carlo() {
    let be = CpuBackend::new();
    let (rows, latent, samples) = (3, 4, 100_000);
    let mu: Vec<f32> = (0..rows * latent).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.25).collect();
    let lv: Vec<f32> = (0..rows * latent).map(|i| ((i * 5 % 9) as f32 - 4.0) * 0.4).collect();
    let tape = Tape::new(&be);
    let muv = tape.constant(&Tensor::from_slice(&be, [rows, latent], &mu, "mu").unwrap());
    let lvv = tape.constant(&Tensor::from_slice(&be, [rows, latent], &lv, "logvar").unwrap());
    let kl = tape.value(ops::gaussian_kl(&tape, muv, lvv).unwrap()).to_vec(&be).unwrap()[0] as f64;

    // One KL sample per draw: the mean over rows of the summed per-unit log ratios.
    let mut sum = 0.0;
    let mut sum_sq = 0.0;
    for s in 0..samples {
        let eps = ops::normal(&be, [rows, latent], 42, (s * rows * latent) as u64).unwrap();
        let z = tape.value(ops::reparameterize(&tape, muv, lvv, &eps).unwrap()).to_vec(&be).unwrap();
        let e = eps.to_vec(&be).unwrap();
        let ratio: f64 = (0..rows * latent)
            .map(|i| {
                let (z, e, l) = (z[i] as f64, e[i] as f64, lv[i] as f64);
                -0.5 * l - 0.5 * e * e + 0.5 * z * z
            })
            .sum::<f64>()
            / rows as f64;
        sum += ratio;
        sum_sq += ratio * ratio;
    }
    let n = samples as f64;
    let mean = sum / n;
    let se = ((sum_sq / n - mean * mean) / n).sqrt();
    assert!(se > 0.0 && se < 0.05 * kl, "standard error {se} of KL {kl}");
    assert!((mean - kl).abs() < 4.0 * se, "Monte Carlo {mean} +- {se} vs closed form {kl}");
    assert!((mean - 1.02 * kl).abs() > 4.0 * se, "the estimate cannot tell a 2% error: {mean} +- {se}");
}

#[test]
fn shape_mismatches_are_errors() {
    let be = CpuBackend::new();
    let tape = Tape::new(&be);
    let t = |shape: [usize; 2]| Tensor::zeros(&be, shape, "x").unwrap();
    let (a, b) = (tape.param(&t([2, 3])), tape.param(&t([3, 2])));
    let shape_err = |r: autoenc::error::Result<_>| matches!(r, Err(Error::Shape(_)));
    assert!(shape_err(ops::gaussian_kl(&tape, a, b)));
    assert!(shape_err(ops::reparameterize(&tape, a, b, &t([2, 3]))));
    assert!(shape_err(ops::reparameterize(&tape, a, a, &t([3, 2]))));
    assert!(ops::reparameterize(&tape, a, a, &t([2, 3])).is_ok());
}

/// `normal` continues a stream: two tensors drawn at offsets 0 and n are one tensor of 2n.
#[test]
fn normal_tensors_continue_one_stream() {
    let be = CpuBackend::new();
    let whole = ops::normal(&be, [4, 6], 9, 0).unwrap().to_vec(&be).unwrap();
    let first = ops::normal(&be, [2, 6], 9, 0).unwrap().to_vec(&be).unwrap();
    let second = ops::normal(&be, [12], 9, 12).unwrap().to_vec(&be).unwrap();
    assert_eq!([first, second].concat(), whole);
    assert_ne!(ops::normal(&be, [12], 10, 0).unwrap().to_vec(&be).unwrap(), whole[..12]);
}
