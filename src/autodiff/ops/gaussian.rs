//! The variational autoencoder's ops: `reparameterize` and `gaussian_kl`. Their noise comes
//! from [`normal`](crate::tensor::normal) (re-exported here), which is not a tape op.

use super::*;

/// `z = mu + exp(0.5 logvar) * eps` with a constant `eps` of `mu`'s shape (draw it with
/// [`normal`](crate::tensor::normal)); gradients flow to `mu` and `logvar`.
pub fn reparameterize<B: Backend>(t: &Tape<B>, mu: Var, logvar: Var, eps: &Tensor<B>) -> Result<Var> {
    let be = t.backend();
    let (mv, lv) = (t.value(mu), t.value(logvar));
    ensure_shape!(mv.shape == lv.shape, "reparameterize: mu {} vs logvar {}", mv.shape, lv.shape);
    ensure_shape!(mv.shape == eps.shape, "reparameterize: mu {} vs eps {}", mv.shape, eps.shape);
    let len = mv.numel();
    let z = output(be, mv.shape.clone(), "reparameterize z")?;
    be.reparameterize_forward(&mv.buf, &lv.buf, &eps.buf, &z.buf, len)?;
    let eps = eps.clone();
    let back = Box::new(move |be: &B, dz: &Tensor<B>, _: &[bool]| {
        // One kernel gives both (dmu is a copy of dz).
        let dmu = output(be, lv.shape.clone(), "reparameterize dmu")?;
        let dlv = output(be, lv.shape.clone(), "reparameterize dlogvar")?;
        be.reparameterize_backward(&lv.buf, &eps.buf, &dz.buf, &dmu.buf, &dlv.buf, len)?;
        Ok(vec![Some(dmu), Some(dlv)])
    });
    Ok(t.push("reparameterize", z, &[mu, logvar], back))
}

/// `KL(N(mu, exp(logvar)) || N(0, I))` summed over the latent units and averaged over the
/// rows of `[rows, latent]` inputs, in closed form: a scalar of shape `[1]`.
pub fn gaussian_kl<B: Backend>(t: &Tape<B>, mu: Var, logvar: Var) -> Result<Var> {
    let be = t.backend();
    let (mv, lv) = (t.value(mu), t.value(logvar));
    ensure_shape!(mv.shape == lv.shape, "gaussian_kl: mu {} vs logvar {}", mv.shape, lv.shape);
    let (rows, cols) = (mv.shape.rows(), mv.shape.cols());
    let out = output(be, scalar_shape(), "gaussian_kl")?;
    be.gaussian_kl_forward(&mv.buf, &lv.buf, &out.buf, rows, cols)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        let dmu = output(be, mv.shape.clone(), "gaussian_kl dmu")?;
        let dlv = output(be, lv.shape.clone(), "gaussian_kl dlogvar")?;
        be.gaussian_kl_backward(&mv.buf, &lv.buf, &dy.buf, &dmu.buf, &dlv.buf, rows, cols)?;
        Ok(vec![Some(dmu), Some(dlv)])
    });
    Ok(t.push("gaussian_kl", out, &[mu, logvar], back))
}
