//! Shape ops: `reshape`.

use super::*;

/// The same values seen with another shape (no data movement).
pub fn reshape<B: Backend>(t: &Tape<B>, x: Var, shape: impl Into<Shape>) -> Result<Var> {
    let xv = t.value(x);
    let y = xv.reshape(shape)?;
    let xshape = xv.shape.clone();
    let back = Box::new(move |_: &B, dy: &Tensor<B>, _: &[bool]| Ok(vec![Some(dy.reshape(xshape.clone())?)]));
    Ok(t.push("reshape", y, &[x], back))
}
