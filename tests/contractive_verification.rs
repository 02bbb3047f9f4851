//! The closed-form contractive penalty verified against the tape (finite differences are in
//! `autoenc gradcheck` and kernels/tests/contractive.rs):
//! 1. its value equals ||J_f(x)||_F^2 built from the explicit Jacobian, one backward pass
//!    per code unit (row j of J is the gradient of h_j with respect to x);
//! 2. its gradient equals the tape's gradient of the explicit norm, where the Jacobian
//!    J[r,j,i] = f'(z_rj) W_ji is assembled from differentiable elementwise ops.
//!
//! Both on the CPU and, when an adapter exists, on the GPU.

use autoenc::autodiff::{ops, Tape, Var};
use autoenc::backend::gpu::strict;
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::{CpuBackend, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROWS: usize = 3;
const HIDDEN: usize = 5;
const INPUTS: usize = 7;

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn problem() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (random(ROWS * INPUTS, 1, 1.0), random(HIDDEN * INPUTS, 2, 0.8), random(HIDDEN, 3, 0.5))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

/// ||J||_F^2 averaged over rows, from one backward pass per (row, code unit).
fn explicit_by_backward<B: Backend>(be: &B, act: Activation) -> f64 {
    let (x, w, b) = problem();
    let mut total = 0.0f64;
    for r in 0..ROWS {
        for j in 0..HIDDEN {
            let tape = Tape::new(be);
            let xv = tape.param(&Tensor::from_slice(be, [1, INPUTS], &x[r * INPUTS..(r + 1) * INPUTS], "x").unwrap());
            let wv = tape.constant(&Tensor::from_slice(be, [HIDDEN, INPUTS], &w, "W").unwrap());
            let bv = tape.constant(&Tensor::from_slice(be, [HIDDEN], &b, "b").unwrap());
            let h = ops::activation(&tape, ops::linear(&tape, xv, wv, bv).unwrap(), act).unwrap();
            let mut e = vec![0.0; HIDDEN];
            e[j] = 1.0;
            let ej = tape.constant(&Tensor::from_slice(be, [1, HIDDEN], &e, "e_j").unwrap());
            let root = ops::sum_all(&tape, ops::mul(&tape, h, ej).unwrap()).unwrap();
            tape.backward(root).unwrap();
            let row = tape.grad(xv).unwrap().to_vec(be).unwrap();
            total += row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        }
    }
    total / ROWS as f64
}

fn closed_form<B: Backend>(be: &B, act: Activation) -> f64 {
    let (x, w, b) = problem();
    let tape = Tape::new(be);
    let xv = tape.constant(&Tensor::from_slice(be, [ROWS, INPUTS], &x, "x").unwrap());
    let wv = tape.constant(&Tensor::from_slice(be, [HIDDEN, INPUTS], &w, "W").unwrap());
    let bv = tape.constant(&Tensor::from_slice(be, [HIDDEN], &b, "b").unwrap());
    let z = ops::linear(&tape, xv, wv, bv).unwrap();
    let pen = ops::contractive_penalty(&tape, z, wv, act).unwrap();
    tape.value(pen).to_vec(be).unwrap()[0] as f64
}

/// f'(z) from tape ops on h = f(z): sigmoid h - h^2, tanh 1 - h^2.
fn derivative<B: Backend>(tape: &Tape<B>, h: Var, act: Activation) -> Var {
    let be = tape.backend();
    let h2 = ops::mul(tape, h, h).unwrap();
    match act {
        Activation::Sigmoid => ops::add(tape, h, ops::scale(tape, h2, -1.0).unwrap()).unwrap(),
        Activation::Tanh => {
            let ones = tape.constant(&Tensor::from_slice(be, [ROWS, HIDDEN], &[1.0; ROWS * HIDDEN], "ones").unwrap());
            ops::add(tape, ones, ops::scale(tape, h2, -1.0).unwrap()).unwrap()
        }
        other => panic!("no smooth derivative for {other:?}"),
    }
}

/// Gradients (dW, db) of the batch-mean ||J||_F^2, either through the closed-form op or
/// through an explicitly assembled Jacobian.
fn penalty_grads<B: Backend>(be: &B, act: Activation, explicit: bool) -> (Vec<f32>, Vec<f32>, f64) {
    let (x, w, b) = problem();
    let tape = Tape::new(be);
    let xv = tape.constant(&Tensor::from_slice(be, [ROWS, INPUTS], &x, "x").unwrap());
    let wv = tape.param(&Tensor::from_slice(be, [HIDDEN, INPUTS], &w, "W").unwrap());
    let bv = tape.param(&Tensor::from_slice(be, [HIDDEN], &b, "b").unwrap());
    let z = ops::linear(&tape, xv, wv, bv).unwrap();
    let pen = if explicit {
        let h = ops::activation(&tape, z, act).unwrap();
        let d = derivative(&tape, h, act);
        // D expanded over inputs: [R*H, 1] x [1, I]; W tiled over rows: S [R*H, H] x W.
        let col = ops::reshape(&tape, d, [ROWS * HIDDEN, 1]).unwrap();
        let ones = tape.constant(&Tensor::from_slice(be, [1, INPUTS], &[1.0; INPUTS], "ones").unwrap());
        let d_exp = ops::matmul(&tape, col, ones, false, false).unwrap();
        let mut sel = vec![0.0; ROWS * HIDDEN * HIDDEN];
        for r in 0..ROWS {
            for j in 0..HIDDEN {
                sel[(r * HIDDEN + j) * HIDDEN + j] = 1.0;
            }
        }
        let s = tape.constant(&Tensor::from_slice(be, [ROWS * HIDDEN, HIDDEN], &sel, "selector").unwrap());
        let w_tiled = ops::matmul(&tape, s, wv, false, false).unwrap();
        let jac = ops::mul(&tape, d_exp, w_tiled).unwrap();
        let sq = ops::sum_all(&tape, ops::mul(&tape, jac, jac).unwrap()).unwrap();
        ops::scale(&tape, sq, 1.0 / ROWS as f32).unwrap()
    } else {
        ops::contractive_penalty(&tape, z, wv, act).unwrap()
    };
    tape.backward(pen).unwrap();
    let value = tape.value(pen).to_vec(be).unwrap()[0] as f64;
    (tape.grad(wv).unwrap().to_vec(be).unwrap(), tape.grad(bv).unwrap().to_vec(be).unwrap(), value)
}

fn verify<B: Backend>(be: &B) {
    for act in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
        let (a, b) = (explicit_by_backward(be, act), closed_form(be, act));
        assert!(rel(a, b) < 1e-5, "{act:?} on {}: explicit {a} vs closed form {b}", be.name());
    }
    for act in [Activation::Sigmoid, Activation::Tanh] {
        let (dw_e, db_e, v_e) = penalty_grads(be, act, true);
        let (dw_c, db_c, v_c) = penalty_grads(be, act, false);
        assert!(rel(v_e, v_c) < 1e-5, "{act:?}: value {v_e} vs {v_c}");
        // f32 with different summation orders: 1e-4 of the largest gradient component.
        for (name, e, c) in [("dW", &dw_e, &dw_c), ("db", &db_e, &db_c)] {
            let scale = e.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
            let worst = e.iter().zip(c).map(|(&p, &q)| (p as f64 - q as f64).abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-4 * scale, "{act:?} {name} on {}: worst difference {worst} (scale {scale})", be.name());
        }
    }
}

#[test]
fn closed_form_matches_the_tapes_explicit_jacobian_on_cpu() {
    verify(&CpuBackend::new());
}

#[test]
fn closed_form_matches_the_tapes_explicit_jacobian_on_gpu() {
    if let Some(g) = strict::gpu_or_skip("the GPU half of the contractive verification") {
        verify(&g);
    }
}
