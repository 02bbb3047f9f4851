//! Validation cases for optim.wgsl: the SGD (momentum) and Adam updates, in place.

use super::elementwise::{unary_case, TOL_ELEMENTWISE};
use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::{AdamParams, SgdParams};
use crate::error::Result;

/// Parameters of the size of one update (so the update is not lost in the parameter's
/// rounding), random gradients and optimizer state; compares every in-place output.
fn optim_case(p: &mut Pair, len: usize, adam: bool) -> Result<Vec<Row>> {
    let lr = 0.01f32;
    let param = p.input(len, -0.02, 0.02, "param")?;
    let grad = p.input(len, -1.0, 1.0, "grad")?;
    let s1 = p.input(len, -0.5, 0.5, "m")?;
    let mut rows = Vec::new();
    if adam {
        let s2 = p.input(len, 0.0, 0.5, "v")?;
        let hp = AdamParams { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, step: 3 };
        p.gpu.adam_update(&param.gpu, &grad.gpu, &s1.gpu, &s2.gpu, len, hp)?;
        p.cpu_run(|c| c.adam_update(&param.cpu, &grad.cpu, &s1.cpu, &s2.cpu, len, hp))?;
        rows.push(p.compare("v", &s2, &[], 1e-3, TOL_ELEMENTWISE)?);
    } else {
        let hp = SgdParams { lr, momentum: 0.9, weight_decay: 0.01 };
        p.gpu.sgd_update(&param.gpu, &grad.gpu, &s1.gpu, len, hp)?;
        p.cpu_run(|c| c.sgd_update(&param.cpu, &grad.cpu, &s1.cpu, len, hp))?;
    }
    rows.insert(0, p.compare("param", &param, &[], lr as f64, TOL_ELEMENTWISE)?);
    rows.insert(1, p.compare(if adam { "m" } else { "velocity" }, &s1, &[], 1e-2, TOL_ELEMENTWISE)?);
    Ok(rows)
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for len in [1usize, 257, 70_001] {
        v.push(unary_case("sgd_update", len, |p, n| optim_case(p, n, false)));
        v.push(unary_case("adam_update", len, |p, n| optim_case(p, n, true)));
    }
    v
}
