//! Losses and penalties: `loss`, `l1_penalty`, `kl_sparsity`, `contractive_penalty`.

use super::*;

/// The loss of `pred` against a constant `target`, a scalar (see [`Loss`]).
pub fn loss<B: Backend>(t: &Tape<B>, pred: Var, target: &Tensor<B>, kind: Loss) -> Result<Var> {
    let be = t.backend();
    let pv = t.value(pred);
    ensure_shape!(pv.numel() == target.numel(), "loss: prediction {} vs target {}", pv.shape, target.shape);
    let (rows, cols) = (pv.shape.rows(), pv.shape.cols());
    let out = output(be, scalar_shape(), kind.name())?;
    be.loss_forward(kind, &pv.buf, &target.buf, &out.buf, rows, cols)?;
    let target = target.clone();
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        let dp = output(be, pv.shape.clone(), "loss grad")?;
        be.loss_backward(kind, &pv.buf, &target.buf, &dy.buf, &dp.buf, rows, cols)?;
        Ok(vec![Some(dp)])
    });
    Ok(t.push(kind.name(), out, &[pred], back))
}

/// L1 activity penalty `sum |x| / rows`.
pub fn l1_penalty<B: Backend>(t: &Tape<B>, x: Var) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let (rows, cols) = (xv.shape.rows(), xv.shape.cols());
    let out = output(be, scalar_shape(), "l1")?;
    be.l1_penalty(&xv.buf, &out.buf, rows, cols)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        let dx = output(be, xv.shape.clone(), "l1 dx")?;
        be.l1_penalty_backward(&xv.buf, &dy.buf, &dx.buf, rows, cols)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("l1_penalty", out, &[x], back))
}

/// KL sparsity `sum_j KL(rho || rho_hat_j)` of mean activations `rho_hat: [hidden]`.
pub fn kl_sparsity<B: Backend>(t: &Tape<B>, rho_hat: Var, rho: f32) -> Result<Var> {
    let be = t.backend();
    let rv = t.value(rho_hat);
    let len = rv.numel();
    let out = output(be, scalar_shape(), "kl")?;
    be.kl_sparsity(&rv.buf, rho, &out.buf, len)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        let d = output(be, rv.shape.clone(), "kl grad")?;
        be.kl_sparsity_backward(&rv.buf, rho, &dy.buf, &d.buf, len)?;
        Ok(vec![Some(d)])
    });
    Ok(t.push("kl_sparsity", out, &[rho_hat], back))
}

/// Contractive penalty: batch mean of `||J_f(x)||_F^2` for `h = f(z)`, `z = x W^T + b`,
/// in closed form from the pre-activation `z: [rows, hidden]` and `W: [hidden, inputs]`.
pub fn contractive_penalty<B: Backend>(t: &Tape<B>, z: Var, w: Var, act: Activation) -> Result<Var> {
    let be = t.backend();
    let (zv, wv) = (t.value(z), t.value(w));
    let (rows, hidden) = (zv.shape.rows(), zv.shape.cols());
    let inputs = wv.shape.cols();
    ensure_shape!(wv.shape.rows() == hidden, "contractive_penalty: z {} vs W {}", zv.shape, wv.shape);
    let out = output(be, scalar_shape(), "contractive")?;
    be.contractive_penalty(act, &zv.buf, &wv.buf, &out.buf, rows, hidden, inputs)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // One kernel gives both: dz via f'' and dW via 2 W_ji sum_r f'(z_rj)^2.
        let dz = Tensor::zeros(be, zv.shape.clone(), "contractive dz")?;
        let dw = Tensor::zeros(be, wv.shape.clone(), "contractive dW")?;
        be.contractive_backward(act, &zv.buf, &wv.buf, &dy.buf, &dz.buf, &dw.buf, rows, hidden, inputs)?;
        Ok(vec![Some(dz), Some(dw)])
    });
    Ok(t.push("contractive_penalty", out, &[z, w], back))
}
