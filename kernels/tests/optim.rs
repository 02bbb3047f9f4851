//! optim.rs: SGD with momentum and Adam. Every SIMD level against the scalar spec on awkward
//! lengths over several steps, and the spec against a hand-written f64 step.

mod kernel_util;

use autoenc_kernels::optim::{self, AdamParams, SgdParams};
use kernel_util::*;

/// Same operations in the same order at every level: results agree to rounding (in fact bit
/// for bit), even after several steps.
const EXACT_REL: f64 = 1e-6;
const STEPS: u32 = 6;

const SGD: SgdParams = SgdParams { lr: 0.1, momentum: 0.9, weight_decay: 1e-3 };

fn adam(step: u32) -> AdamParams {
    AdamParams { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2, step }
}

#[test]
fn sgd_every_level_matches_scalar() {
    let mut rng = rng(21);
    for n in LENS {
        let p0 = rand_vec(&mut rng, n, -1.0, 1.0);
        let grads: Vec<Vec<f32>> = (0..STEPS).map(|_| rand_vec(&mut rng, n, -1.0, 1.0)).collect();
        let (mut want_p, mut want_v) = (p0.clone(), vec![0.0; n]);
        for g in &grads {
            optim::sgd_update_scalar(&mut want_p, g, &mut want_v, SGD);
        }
        for level in simd_levels() {
            let (mut p, mut v) = (p0.clone(), vec![0.0; n]);
            for g in &grads {
                optim::sgd_update_with(level, &mut p, g, &mut v, SGD);
            }
            assert_close32(&format!("sgd param {} n={n}", level.name()), &p, &want_p, EXACT_REL, 0.0);
            assert_close32(&format!("sgd velocity {} n={n}", level.name()), &v, &want_v, EXACT_REL, 0.0);
        }
    }
}

#[test]
fn adam_every_level_matches_scalar() {
    let mut rng = rng(22);
    for n in LENS {
        let p0 = rand_vec(&mut rng, n, -1.0, 1.0);
        let grads: Vec<Vec<f32>> = (0..STEPS).map(|_| rand_vec(&mut rng, n, -1.0, 1.0)).collect();
        let mut want = (p0.clone(), vec![0.0; n], vec![0.0; n]);
        for (t, g) in grads.iter().enumerate() {
            optim::adam_update_scalar(&mut want.0, g, &mut want.1, &mut want.2, adam(t as u32 + 1));
        }
        for level in simd_levels() {
            let mut got = (p0.clone(), vec![0.0; n], vec![0.0; n]);
            for (t, g) in grads.iter().enumerate() {
                optim::adam_update_with(level, &mut got.0, g, &mut got.1, &mut got.2, adam(t as u32 + 1));
            }
            assert_close32(&format!("adam param {} n={n}", level.name()), &got.0, &want.0, EXACT_REL, 0.0);
            assert_close32(&format!("adam m {} n={n}", level.name()), &got.1, &want.1, EXACT_REL, 0.0);
            assert_close32(&format!("adam v {} n={n}", level.name()), &got.2, &want.2, EXACT_REL, 0.0);
        }
    }
}

/// The f64 reference keeps its own state; each f32 step rounds `p`, `v` and `m` once or twice
/// (2^-24 relative, values of order 1 here), so after six steps every state element is
/// within a few 1e-7 of the reference.
#[test]
fn sgd_matches_f64_steps() {
    let mut rng = rng(23);
    let n = 97;
    for params in [SGD, SgdParams { lr: 0.05, momentum: 0.0, weight_decay: 0.0 }] {
        let mut p = rand_vec(&mut rng, n, -1.0, 1.0);
        let mut v = vec![0.0f32; n];
        let (mut p64, mut v64) = (to_f64(&p), vec![0.0f64; n]);
        let (lr, mom, wd) = (params.lr as f64, params.momentum as f64, params.weight_decay as f64);
        for _ in 0..STEPS {
            let g = rand_vec(&mut rng, n, -1.0, 1.0);
            optim::sgd_update(&mut p, &g, &mut v, params);
            for i in 0..n {
                v64[i] = mom * v64[i] + (g[i] as f64 + wd * p64[i]);
                p64[i] -= lr * v64[i];
            }
        }
        assert_close("sgd param vs f64", &p, &p64, 0.0, 2e-6);
        assert_close("sgd velocity vs f64", &v, &v64, 0.0, 2e-6);
    }
}

/// PyTorch's Adam written out literally in f64: `mhat = m / (1 - b1^t)`,
/// `vhat = v / (1 - b2^t)`, `p -= lr * mhat / (sqrt(vhat) + eps)`.
#[test]
fn adam_matches_f64_steps() {
    let mut rng = rng(24);
    let n = 97;
    let mut p = rand_vec(&mut rng, n, -1.0, 1.0);
    let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut p64 = to_f64(&p);
    let (mut m64, mut v64) = (vec![0.0f64; n], vec![0.0f64; n]);
    for t in 1..=STEPS {
        let a = adam(t);
        let g = rand_vec(&mut rng, n, -1.0, 1.0);
        optim::adam_update(&mut p, &g, &mut m, &mut v, a);
        let (b1, b2, lr, eps, wd) = (a.beta1 as f64, a.beta2 as f64, a.lr as f64, a.eps as f64, a.weight_decay as f64);
        for i in 0..n {
            let g = g[i] as f64 + wd * p64[i];
            m64[i] = b1 * m64[i] + (1.0 - b1) * g;
            v64[i] = b2 * v64[i] + (1.0 - b2) * g * g;
            let mhat = m64[i] / (1.0 - b1.powi(t as i32));
            let vhat = v64[i] / (1.0 - b2.powi(t as i32));
            p64[i] -= lr * mhat / (vhat.sqrt() + eps);
        }
    }
    assert_close("adam param vs f64", &p, &p64, 0.0, 1e-6);
    assert_close("adam m vs f64", &m, &m64, 0.0, 1e-6);
    assert_close("adam v vs f64", &v, &v64, 1e-5, 1e-9);
}

#[test]
#[should_panic(expected = "step counts from 1")]
fn adam_rejects_step_zero() {
    let (mut p, mut m, mut v) = ([0.0f32], [0.0f32], [0.0f32]);
    optim::adam_update(&mut p, &[1.0], &mut m, &mut v, adam(0));
}
