//! Closed-form contractive penalty: for `h = f(z)`, `z = x W^T + b`, `W: [hidden, inputs]`,
//! `||J_f(x)||_F^2 = sum_j f'(z_j)^2 * sum_i W_ji^2`.

use crate::Activation;

/// `(1/rows) sum_r sum_j f'(z_rj)^2 * sum_i W_ji^2`.
pub fn contractive_penalty(act: Activation, z: &[f32], w: &[f32], rows: usize, hidden: usize, inputs: usize) -> f32 {
    let _ = (act, z, w, rows, hidden, inputs);
    todo!()
}

/// Accumulates `dz_rj += dout (2/rows) f'(z_rj) f''(z_rj) sum_i W_ji^2` and
/// `dw_ji += dout (2/rows) W_ji sum_r f'(z_rj)^2`.
#[allow(clippy::too_many_arguments)]
pub fn contractive_backward(
    act: Activation,
    z: &[f32],
    w: &[f32],
    dout: f32,
    dz: &mut [f32],
    dw: &mut [f32],
    rows: usize,
    hidden: usize,
    inputs: usize,
) {
    let _ = (act, z, w, dout, dz, dw, rows, hidden, inputs);
    todo!()
}
