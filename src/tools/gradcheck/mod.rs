//! Central finite differences against the tape's gradients, for every differentiable op.
//!
//! Each case builds a small random problem `out = op(inputs)`, projects it to a scalar
//! `L = sum(out * R)` with a fixed random `R` (so every output element matters), and
//! compares `dL/dinput` from [`Tape::backward`] with the central difference
//! `D(h) = (L(x+h) - L(x-h)) / 2h`, Richardson-extrapolated as `(4 D(eps/2) - D(eps)) / 3`, on
//! every element of each input of up to [`ALL_ELEMENTS_UP_TO`] elements (larger inputs:
//! that many, strided, always with both ends; see [`probe_indices`]). `L` is summed in f64
//! on the host.
//!
//! Error metric: `|tape - numeric| / max(|tape|, |numeric|, 0.1 * g)` where `g` is the
//! largest numeric gradient of that input, so tiny gradients are compared on the scale of
//! the input's gradients, not divided by ~0. With f32 forward passes and eps = 1e-2 the
//! extrapolated difference has truncation error O(eps^4) (the plain central difference's
//! O(eps^2) term reaches ~1e-2 for BCE near p = 0.1, where f''' = 2/p^3) and rounding noise
//! ~1e-5 * |L| / eps;
//! each case carries its own tolerance (cases.rs, with the reason), above both and far
//! below the O(1) error of any wrong formula. Inputs are sampled away from kinks (relu at 0,
//! max-pool ties) by more than eps so the finite difference never straddles one.

mod cases;

use crate::autodiff::ops;
use crate::autodiff::{Tape, Var};
use crate::backend::prelude::*;
use crate::error::Result;
use crate::tensor::{Shape, Tensor};
use cases::all_cases;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const EPS: f32 = 1e-2;
/// Inputs of at most this many elements are probed at every element.
pub const ALL_ELEMENTS_UP_TO: usize = 4096;

/// The elements probed in an input of `n`: all of them up to [`ALL_ELEMENTS_UP_TO`], else
/// that many spread evenly over the input, the first and the last included (so the
/// borders of an image and of each end of a tensor are always probed).
pub fn probe_indices(n: usize) -> Vec<usize> {
    let k = ALL_ELEMENTS_UP_TO;
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|j| j * (n - 1) / (k - 1)).collect()
}

/// One line of the `autoenc gradcheck` table.
#[derive(Clone, Debug)]
pub struct GradRow {
    pub op: String,
    pub input: String,
    pub shape: String,
    pub max_rel: f64,
    pub tol: f64,
    pub pass: bool,
}

type OpFn<B> = Box<dyn Fn(&Tape<B>, &[Var]) -> Result<Var>>;

struct Input {
    name: &'static str,
    shape: Shape,
    data: Vec<f32>,
    differentiable: bool,
}

struct Case<B: Backend> {
    op: String,
    inputs: Vec<Input>,
    f: OpFn<B>,
    /// The largest accepted error, with its reason where the case is made.
    tol: f64,
}

fn input(name: &'static str, shape: &[usize], data: Vec<f32>, differentiable: bool) -> Input {
    Input { name, shape: Shape::new(shape), data, differentiable }
}

fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Runs `f` on `values`, returns `L = sum(out * proj)` in f64 and the tape gradients.
fn evaluate<B: Backend>(
    be: &B,
    case: &Case<B>,
    values: &[Vec<f32>],
    proj: &mut Option<Vec<f32>>,
    seed: u64,
    want_grads: bool,
) -> Result<(f64, Vec<Option<Vec<f32>>>)> {
    let tape = Tape::new(be);
    let mut vars = Vec::new();
    for (inp, data) in case.inputs.iter().zip(values) {
        let t = Tensor::from_slice(be, inp.shape.clone(), data, inp.name)?;
        vars.push(if inp.differentiable { tape.param(&t) } else { tape.constant(&t) });
    }
    let out = (case.f)(&tape, &vars)?;
    let out_val = tape.value(out).to_vec(be)?;
    let proj = proj.get_or_insert_with(|| {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        uniform(&mut rng, out_val.len(), -1.0, 1.0)
    });
    let l: f64 = out_val.iter().zip(proj.iter()).map(|(&o, &p)| o as f64 * p as f64).sum();
    let mut grads = Vec::new();
    if want_grads {
        // L = sum(out * R) is itself a tape op chain: mul by constant R, then sum.
        let r = Tensor::from_slice(be, tape.shape(out), proj, "projection")?;
        let rv = tape.constant(&r);
        let prod = ops::mul(&tape, out, rv)?;
        let root = ops::sum_all(&tape, prod)?;
        tape.backward(root)?;
        for (inp, v) in case.inputs.iter().zip(&vars) {
            grads.push(match (inp.differentiable, tape.grad(*v)) {
                (true, Some(g)) => Some(g.to_vec(be)?),
                (true, None) => Some(vec![0.0; inp.data.len()]),
                _ => None,
            });
        }
    }
    Ok((l, grads))
}

/// Runs every case on `backend`, one row per (op, differentiable input).
pub fn run_all<B: Backend>(backend: &B, seed: u64) -> Result<Vec<GradRow>> {
    let mut rows = Vec::new();
    for case in all_cases::<B>(seed) {
        rows.extend(check_case(backend, &case, seed)?);
    }
    Ok(rows)
}

/// The name of every op [`run_all`] checks, once each (the text of a row's `op` before any
/// `(`): what tests/gradcheck.rs compares with the public functions of `autodiff::ops`.
pub fn op_names(seed: u64) -> Vec<String> {
    let mut names: Vec<String> =
        all_cases::<crate::backend::cpu::CpuBackend>(seed).iter().map(|c| base_name(&c.op).to_string()).collect();
    names.sort();
    names.dedup();
    names
}

/// `linear_activation(tanh)` -> `linear_activation`.
pub fn base_name(op: &str) -> &str {
    op.split('(').next().unwrap_or(op)
}

/// Checks a user-supplied op: `inputs` are (name, shape, values), all differentiable.
/// Used by tests (including one with a deliberately wrong backward that must fail).
pub fn check<B: Backend>(
    backend: &B,
    op: &str,
    inputs: Vec<(&'static str, Vec<usize>, Vec<f32>)>,
    f: impl Fn(&Tape<B>, &[Var]) -> Result<Var> + 'static,
    tol: f64,
    seed: u64,
) -> Result<Vec<GradRow>> {
    let inputs = inputs.into_iter().map(|(name, shape, data)| input(name, &shape, data, true)).collect();
    check_case(backend, &Case { op: op.to_string(), inputs, f: Box::new(f), tol }, seed)
}

fn check_case<B: Backend>(backend: &B, case: &Case<B>, seed: u64) -> Result<Vec<GradRow>> {
    let mut rows = Vec::new();
    let base: Vec<Vec<f32>> = case.inputs.iter().map(|i| i.data.clone()).collect();
    let mut proj = None;
    let (_, grads) = evaluate(backend, case, &base, &mut proj, seed, true)?;
    for (idx, inp) in case.inputs.iter().enumerate() {
        let Some(tape_grad) = &grads[idx] else { continue };
        let n = inp.data.len();
        let probes = probe_indices(n);
        let mut numeric = Vec::new();
        for &i in &probes {
            let mut vals = base.clone();
            let mut central = |h: f32| -> Result<f64> {
                vals[idx][i] = inp.data[i] + h;
                let (lp, _) = evaluate(backend, case, &vals, &mut proj, seed, false)?;
                vals[idx][i] = inp.data[i] - h;
                let (lm, _) = evaluate(backend, case, &vals, &mut proj, seed, false)?;
                // The step actually taken in f32, not the nominal one.
                let step = (inp.data[i] + h) as f64 - (inp.data[i] - h) as f64;
                Ok((lp - lm) / step)
            };
            // Richardson extrapolation cancels the eps^2 term of the central difference.
            let (d_full, d_half) = (central(EPS)?, central(EPS / 2.0)?);
            numeric.push((4.0 * d_half - d_full) / 3.0);
        }
        let g = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let floor = (0.1 * g).max(1e-6);
        let max_rel = probes
            .iter()
            .zip(&numeric)
            .map(|(&i, &num)| {
                let ana = tape_grad[i] as f64;
                (ana - num).abs() / ana.abs().max(num.abs()).max(floor)
            })
            .fold(0.0f64, f64::max);
        rows.push(GradRow {
            op: case.op.clone(),
            input: inp.name.to_string(),
            shape: inp.shape.to_string(),
            max_rel,
            tol: case.tol,
            pass: max_rel <= case.tol && max_rel.is_finite(),
        });
    }
    Ok(rows)
}
