//! PCA and its eigensolver against known answers, and the linear autoencoder against PCA:
//! with MSE and no activations it reaches PCA's reconstruction error and its decoder
//! spans PCA's subspace.

use autoenc::data::datasets;
use autoenc::data::noise::Noise;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::pca::{covariance, principal_angles, symmetric_eigen, Pca};
use autoenc::optim::OptimizerKind;
use autoenc::train::{self, TrainConfig};
use autoenc::{CpuBackend, Error};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;

/// Standard normal by Box-Muller (no extra dependency for one distribution).
fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let v = rng.random_range(-1.0..1.0);
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    a
}

/// Checks `A v_i = lambda_i v_i` (residual relative to the largest |eigenvalue|), the
/// orthonormality of the rows, and the descending order.
fn check_eigen(a: &[f64], n: usize, values: &[f64], vectors: &[f64], tol: f64) {
    assert_eq!(values.len(), n);
    assert_eq!(vectors.len(), n * n);
    let scale = values.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1.0);
    for w in values.windows(2) {
        assert!(w[0] >= w[1], "eigenvalues not descending: {values:?}");
    }
    for (i, &lambda) in values.iter().enumerate() {
        let v = &vectors[i * n..(i + 1) * n];
        for r in 0..n {
            let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
            let res = (av - lambda * v[r]).abs() / scale;
            assert!(res < tol, "eigenpair {i}: |Av - lambda v|[{r}] = {res:e} (lambda {lambda})");
        }
        for j in 0..n {
            let d: f64 = v.iter().zip(&vectors[j * n..(j + 1) * n]).map(|(x, y)| x * y).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((d - want).abs() < tol, "<v{i}, v{j}> = {d}");
        }
    }
}

#[test]
fn eigensolver_diagonal_matrix() {
    let diag = [3.0, -1.0, 7.5, 0.0, 2.0, 2.0];
    let n = diag.len();
    let mut a = vec![0.0; n * n];
    for (i, &v) in diag.iter().enumerate() {
        a[i * n + i] = v;
    }
    let (values, vectors) = symmetric_eigen(&a, n).unwrap();
    assert_eq!(values, vec![7.5, 3.0, 2.0, 2.0, 0.0, -1.0]);
    check_eigen(&a, n, &values, &vectors, 1e-12);
}

#[test]
fn eigensolver_small_and_known_spectra() {
    // 1x1 and 2x2.
    let (v, w) = symmetric_eigen(&[4.0], 1).unwrap();
    assert_eq!((v, w), (vec![4.0], vec![1.0]));
    let a = [2.0, 1.0, 1.0, 2.0];
    let (values, vectors) = symmetric_eigen(&a, 2).unwrap();
    assert!((values[0] - 3.0).abs() < 1e-14 && (values[1] - 1.0).abs() < 1e-14, "{values:?}");
    check_eigen(&a, 2, &values, &vectors, 1e-14);

    // The second-difference matrix tridiag(-1, 2, -1): eigenvalues 2 - 2 cos(j pi / (n+1)).
    let n = 40;
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        a[i * n + i] = 2.0;
        if i + 1 < n {
            a[i * n + i + 1] = -1.0;
            a[(i + 1) * n + i] = -1.0;
        }
    }
    let (values, vectors) = symmetric_eigen(&a, n).unwrap();
    for (i, &v) in values.iter().enumerate() {
        let j = (n - i) as f64;
        let want = 2.0 - 2.0 * (j * std::f64::consts::PI / (n + 1) as f64).cos();
        assert!((v - want).abs() < 1e-12, "eigenvalue {i}: {v} vs {want}");
    }
    check_eigen(&a, n, &values, &vectors, 1e-12);

    // A dense matrix with a planted spectrum: Q diag(l) Q^T with Q from a random eigenbasis.
    let (_, q) = symmetric_eigen(&random_symmetric(30, 5), 30).unwrap();
    let planted: Vec<f64> = (0..30).map(|i| 10.0 - i as f64 * 0.5).collect();
    let mut b = vec![0.0; 30 * 30];
    for r in 0..30 {
        for c in 0..30 {
            b[r * 30 + c] = (0..30).map(|i| q[i * 30 + r] * planted[i] * q[i * 30 + c]).sum();
        }
    }
    let (values, _) = symmetric_eigen(&b, 30).unwrap();
    for (v, p) in values.iter().zip(&planted) {
        assert!((v - p).abs() < 1e-12, "planted {p}, got {v}");
    }
}

#[test]
fn eigensolver_random_symmetric_matrices() {
    for (n, seed) in [(3, 1), (17, 2), (64, 3), (200, 4)] {
        let a = random_symmetric(n, seed);
        let (values, vectors) = symmetric_eigen(&a, n).unwrap();
        check_eigen(&a, n, &values, &vectors, 1e-9);
        // The trace is the sum of the eigenvalues.
        let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
        assert!((trace - values.iter().sum::<f64>()).abs() < 1e-9 * n as f64);
    }
}

#[test]
fn eigensolver_rejects_bad_input() {
    assert!(matches!(symmetric_eigen(&[1.0, 2.0, 3.0], 2), Err(Error::Shape(_))));
    assert!(matches!(symmetric_eigen(&[f64::NAN], 1), Err(Error::NonFinite(_))));
}

#[test]
fn principal_angles_known_cases() {
    // span(e0, e1) against itself in another basis: all angles 0.
    let d = 4;
    let a = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let b = [1.0, 1.0, 0.0, 0.0, 3.0, -1.0, 0.0, 0.0];
    for t in principal_angles(&a, &b, 2, d) {
        assert!(t.abs() < 1e-7, "{t}");
    }
    // One shared direction and one rotated by 0.3 rad towards e2; a tiny angle stays exact.
    for theta in [0.3f64, 1e-6] {
        let b = [1.0, 0.0, 0.0, 0.0, 0.0, theta.cos(), theta.sin(), 0.0];
        let angles = principal_angles(&a, &b, 2, d);
        assert!(angles[0].abs() < 1e-12, "{angles:?}");
        assert!((angles[1] - theta).abs() < 1e-12 * theta.max(1e-3) * 10.0, "{angles:?} vs {theta}");
    }
    // Orthogonal subspaces: pi/2; a rank-deficient basis: pi/2 for the missing direction.
    let c = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    for t in principal_angles(&a, &c, 2, d) {
        assert!((t - std::f64::consts::FRAC_PI_2).abs() < 1e-12, "{t}");
    }
    let deficient = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
    let angles = principal_angles(&a, &deficient, 2, d);
    assert!(angles[0].abs() < 1e-7 && (angles[1] - std::f64::consts::FRAC_PI_2).abs() < 1e-12, "{angles:?}");
}

/// Data of rank `r` around a non-zero mean, plus isotropic noise: rows of
/// `mean + sum_i s_i z_i u_i + noise e`, `z, e` standard normal, `u_i` orthonormal.
/// Returns the data (f32, row-major `n x d`) and the planted basis (`r x d`).
fn low_rank(n: usize, d: usize, scales: &[f64], noise: f64, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let r = scales.len();
    let (_, q) = symmetric_eigen(&random_symmetric(d, seed ^ 0xbad5eed), d).unwrap();
    let basis = q[..r * d].to_vec();
    let mean: Vec<f64> = (0..d).map(|_| rng.random_range(-0.5..1.0)).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = scales.iter().map(|s| s * gaussian(&mut rng)).collect();
        for j in 0..d {
            let signal: f64 = (0..r).map(|i| z[i] * basis[i * d + j]).sum();
            x.push((mean[j] + signal + noise * gaussian(&mut rng)) as f32);
        }
    }
    (x, basis)
}

/// A fit cut to fewer components is the fit of that many: same mean, rows, eigenvalues.
#[test]
fn a_truncated_fit_is_the_smaller_fit() {
    let (n, d) = (600, 20);
    let (x, _) = low_rank(n, d, &[3.0, 2.0, 1.0, 0.5], 0.1, 5);
    let wide = Pca::fit(&x, n, d, 8).unwrap();
    for k in [1, 3, 8] {
        assert_eq!(wide.truncated(k).unwrap(), Pca::fit(&x, n, d, k).unwrap(), "k = {k}");
    }
    assert!(wide.truncated(0).is_err() && wide.truncated(9).is_err());
}

#[test]
fn pca_recovers_a_planted_subspace() {
    let (n, d) = (4000, 50);
    let scales = [4.0, 3.0, 2.0, 1.5, 1.0];
    let (x, basis) = low_rank(n, d, &scales, 0.02, 11);
    let pca = Pca::fit(&x, n, d, scales.len()).unwrap();
    assert_eq!((pca.k, pca.d, pca.components.len(), pca.eigenvalues.len()), (5, d, 5 * d, d));
    let angles = principal_angles(&pca.components, &basis, 5, d);
    assert!(angles.iter().all(|&t| t < 1e-2), "principal angles to the planted subspace: {angles:?}");
    // Components are orthonormal rows.
    for i in 0..5 {
        for j in 0..5 {
            let dot: f64 = (0..d).map(|c| pca.components[i * d + c] * pca.components[j * d + c]).sum();
            assert!((dot - f64::from(i == j)).abs() < 1e-10);
        }
    }
    // The top eigenvalues estimate s_i^2 + noise^2; the rest, noise^2.
    for (l, s) in pca.eigenvalues.iter().zip(&scales) {
        assert!((l / (s * s) - 1.0).abs() < 0.1, "eigenvalue {l} vs planted {}", s * s);
    }
    assert!(pca.eigenvalues[5] < 2.0 * 0.02 * 0.02, "{}", pca.eigenvalues[5]);
    // On the training set, the error is exactly the variance left out: sum of the
    // trailing eigenvalues (covariance normalised by n).
    let (mse, sse) = pca.reconstruction_error(&x).unwrap();
    let rest: f64 = pca.eigenvalues[5..].iter().sum();
    assert!((sse - rest).abs() < 1e-6 * rest, "sse/row {sse} vs trailing eigenvalues {rest}");
    assert!((mse * d as f64 - sse).abs() < 1e-12);
    assert!(pca.explained_variance_ratio() > 0.99);
    // reconstruct agrees with reconstruction_error.
    let recon = pca.reconstruct(&x).unwrap();
    let sse2: f64 = recon.iter().zip(&x).map(|(&r, &t)| (r as f64 - t as f64).powi(2)).sum::<f64>() / n as f64;
    assert!((sse2 - sse).abs() < 1e-4 * sse, "{sse2} vs {sse}");
}

/// Image covariances have clusters of (near-)zero eigenvalues from border pixels that are
/// (almost) always 0: the eigensolver must deflate them (a relative convergence test does
/// not, and used to fail here with "did not converge").
#[test]
fn pca_on_bundled_mnist() {
    let data = datasets::load("bundled", Path::new("data")).unwrap();
    let (n, d) = (data.n_train(), data.dim());
    let pca = Pca::fit(&data.train_x, n, d, 32).unwrap();
    let cov = covariance(&data.train_x, n, d, &pca.mean);
    let (values, vectors) = symmetric_eigen(&cov, d).unwrap();
    check_eigen(&cov, d, &values, &vectors, 1e-10);
    assert!(values[d - 1] > -1e-12, "a covariance is positive semi-definite: {}", values[d - 1]);
    let (_, sse) = pca.reconstruction_error(&data.train_x).unwrap();
    let rest: f64 = pca.eigenvalues[32..].iter().sum();
    assert!((sse - rest).abs() < 1e-6 * rest, "train sse/image {sse} vs trailing eigenvalues {rest}");
    let evr = pca.explained_variance_ratio();
    assert!((0.6..0.9).contains(&evr), "32 components of MNIST keep about 3/4 of the variance: {evr}");
}

#[test]
fn pca_full_rank_reconstructs_exactly() {
    let (n, d) = (300, 12);
    let (x, _) = low_rank(n, d, &[2.0, 1.0], 0.3, 3);
    let pca = Pca::fit(&x, n, d, d).unwrap();
    let (mse, _) = pca.reconstruction_error(&x).unwrap();
    assert!(mse < 1e-20, "{mse}");
    assert!((pca.explained_variance_ratio() - 1.0).abs() < 1e-12);
}

#[test]
fn pca_rejects_bad_arguments() {
    let x = vec![0.5f32; 20];
    assert!(matches!(Pca::fit(&x, 4, 5, 0), Err(Error::Config(_))));
    assert!(matches!(Pca::fit(&x, 4, 5, 6), Err(Error::Config(_))));
    assert!(matches!(Pca::fit(&[], 0, 5, 2), Err(Error::Config(_))));
    assert!(matches!(Pca::fit(&x, 3, 5, 2), Err(Error::Shape(_))));
    let mut bad = x.clone();
    bad[7] = f32::NAN;
    assert!(matches!(Pca::fit(&bad, 4, 5, 2), Err(Error::NonFinite(_))));
    let pca = Pca::fit(&x, 4, 5, 2).unwrap();
    assert!(matches!(pca.reconstruction_error(&x[..7]), Err(Error::Shape(_))));
    assert!(matches!(pca.reconstruction_error(&[]), Err(Error::Config(_))));
}

/// The covariance is threaded and tiled: it must not depend on the row split or the tile
/// edges. Compare with a plain f64 double loop on an awkward shape.
#[test]
fn covariance_matches_the_definition() {
    let (n, d) = (517, 29);
    let mut rng = StdRng::seed_from_u64(9);
    let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(0.0..1.0)).collect();
    let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[i * d + j] as f64).sum::<f64>() / n as f64).collect();
    let c = covariance(&x, n, d, &mean);
    for a in 0..d {
        for b in 0..d {
            let want: f64 =
                (0..n).map(|i| (x[i * d + a] as f64 - mean[a]) * (x[i * d + b] as f64 - mean[b])).sum::<f64>()
                    / n as f64;
            assert!((c[a * d + b] - want).abs() < 1e-14, "c[{a}][{b}] = {} vs {want}", c[a * d + b]);
        }
    }
}

/// THE test of the issue: the linear autoencoder (MSE, no activations) trained with Adam
/// reaches PCA's test reconstruction error within 1% and its decoder spans PCA's subspace.
#[test]
fn linear_autoencoder_matches_pca() {
    let (n_train, n_test, d) = (2000, 500, 32);
    let scales = [2.0, 1.5, 1.0, 0.7];
    let k = scales.len();
    // One draw, split, so train and test come from the same distribution. The data is not
    // centred: the biases of the linear AE absorb the mean.
    let (x, _) = low_rank(n_train + n_test, d, &scales, 0.05, 21);
    let (train_x, test_x) = x.split_at(n_train * d);

    let pca = Pca::fit(train_x, n_train, d, k).unwrap();
    let (pca_mse, pca_sse) = pca.reconstruction_error(test_x).unwrap();

    let start = Instant::now();
    let be = CpuBackend::new();
    let model = DenseAutoencoder::new(&be, DenseConfig::linear(d, k), 5).unwrap();
    let objective = Objective::plain(Reconstruction::Mse);
    let mut cfg = TrainConfig {
        epochs: 0,
        batch_size: 50,
        lr: 0.0,
        lr_decay: 1.0,
        optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        weight_decay: 0.0,
        seed: 13,
        noise: Noise::None,
        check_every: 10,
        progress: false,
    };
    let mut last = None;
    // Stepped decay: each train() call starts a fresh Adam at a lower rate. The code
    // subspace settles within the first stages; the slow part is the encoder's pickup of
    // the noise directions (its curvature there is only the noise variance), which the
    // long middle stages remove, and the low rates shrink the minibatch noise floor.
    for (epochs, lr) in [(30, 1e-2), (150, 2e-3), (150, 5e-4), (100, 1e-4), (50, 1e-5)] {
        cfg.epochs = epochs;
        cfg.lr = lr;
        cfg.seed += 1;
        let h = train::train(&be, &model, &objective, train_x, test_x, d, &cfg, &mut |_| Ok(())).unwrap();
        last = h.last().cloned();
    }
    let seconds = start.elapsed().as_secs_f64();
    let m = last.unwrap();
    let gap = (m.test_sse_per_image - pca_sse) / pca_sse;

    let dec = model.params.list.iter().find(|p| p.name == "decoder.0.weight").expect("decoder weight");
    assert_eq!(dec.value.shape.dims(), &[d, k]);
    let w = dec.value.to_vec(&be).unwrap();
    // The decoder's columns span the code's image: transpose [d, k] to k rows of d.
    let cols: Vec<f64> = (0..k).flat_map(|c| (0..d).map(move |r| (r, c))).map(|(r, c)| w[r * k + c] as f64).collect();
    let angles = principal_angles(&pca.components, &cols, k, d);
    eprintln!(
        "linear AE vs PCA: test sse/img {:.6} vs {:.6} (gap {:+.4}%), test mse {:.3e} vs {:.3e}, \
         angles {:?} rad, training {:.1}s",
        m.test_sse_per_image,
        pca_sse,
        gap * 100.0,
        m.test_loss,
        pca_mse,
        angles,
        seconds
    );
    assert!(gap.abs() < 0.01, "linear AE test error {} is not within 1% of PCA's {pca_sse}", m.test_sse_per_image);
    assert!(angles.iter().all(|&t| t < 1e-2), "decoder subspace vs PCA: principal angles {angles:?}");
}
