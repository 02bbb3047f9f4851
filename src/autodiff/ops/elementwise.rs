//! Elementwise ops: activations, `add`, `mul`, `scale`.

use super::*;

/// `y = f(x)` elementwise.
pub fn activation<B: Backend>(t: &Tape<B>, x: Var, act: Activation) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let y = output(be, xv.shape.clone(), act.name())?;
    be.activation_forward(act, &xv.buf, &y.buf, xv.numel())?;
    Ok(push_activation(t, x, xv, y, act))
}

/// Records `y = f(x)` (already computed into `y`) with its backward.
pub(super) fn push_activation<B: Backend>(t: &Tape<B>, x: Var, xv: Tensor<B>, y: Tensor<B>, act: Activation) -> Var {
    let len = xv.numel();
    let yv = y.clone();
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // dx = dy * f'(x)
        let dx = output(be, xv.shape.clone(), "activation dx")?;
        be.activation_backward(act, &xv.buf, &yv.buf, &dy.buf, &dx.buf, len)?;
        Ok(vec![Some(dx)])
    });
    t.push(act.name(), y, &[x], back)
}

/// `out = a + b` (same shapes).
pub fn add<B: Backend>(t: &Tape<B>, a: Var, b: Var) -> Result<Var> {
    let be = t.backend();
    let (av, bv) = (t.value(a), t.value(b));
    ensure_shape!(av.numel() == bv.numel(), "add: shapes {} and {} differ", av.shape, bv.shape);
    let out = output(be, av.shape.clone(), "add out")?;
    be.add(&av.buf, &bv.buf, &out.buf, out.numel())?;
    // d(a+b)/da = d(a+b)/db = 1: the gradient passes through unchanged.
    let back = Box::new(move |_: &B, dy: &Tensor<B>, _: &[bool]| Ok(vec![Some(dy.clone()), Some(dy.clone())]));
    Ok(t.push("add", out, &[a, b], back))
}

/// `out = a * b` elementwise (same shapes).
pub fn mul<B: Backend>(t: &Tape<B>, a: Var, b: Var) -> Result<Var> {
    let be = t.backend();
    let (av, bv) = (t.value(a), t.value(b));
    ensure_shape!(av.numel() == bv.numel(), "mul: shapes {} and {} differ", av.shape, bv.shape);
    let len = av.numel();
    let out = output(be, av.shape.clone(), "mul out")?;
    be.mul(&av.buf, &bv.buf, &out.buf, len)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        // d(ab)/da = b, d(ab)/db = a.
        let grad = |other: &Tensor<B>, shape: &Shape| -> Result<Tensor<B>> {
            let g = output(be, shape.clone(), "mul grad")?;
            be.mul(&dy.buf, &other.buf, &g.buf, len)?;
            Ok(g)
        };
        let da = if needs[0] { Some(grad(&bv, &av.shape)?) } else { None };
        let db = if needs[1] { Some(grad(&av, &bv.shape)?) } else { None };
        Ok(vec![da, db])
    });
    Ok(t.push("mul", out, &[a, b], back))
}

/// `out = alpha * x`.
pub fn scale<B: Backend>(t: &Tape<B>, x: Var, alpha: f32) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let len = xv.numel();
    let out = output(be, xv.shape.clone(), "scale out")?;
    be.scale(&xv.buf, alpha, &out.buf, len)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        let dx = output(be, xv.shape.clone(), "scale dx")?;
        be.scale(&dy.buf, alpha, &dx.buf, len)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("scale", out, &[x], back))
}
