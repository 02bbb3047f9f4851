//! Reductions: `sum_all`, `mean_rows`.

use super::*;

/// Sum of all elements, a scalar.
pub fn sum_all<B: Backend>(t: &Tape<B>, x: Var) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let len = xv.numel();
    let out = output(be, scalar_shape(), "sum")?;
    be.sum_all(&xv.buf, &out.buf, len)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // Every element gets the upstream scalar: dx = dy[0] * 1.
        let ones = Tensor::from_slice(be, xv.shape.clone(), &vec![1.0; len], "ones")?;
        let dx = output(be, xv.shape.clone(), "sum dx")?;
        be.scale_by_scalar(&ones.buf, &dy.buf, 1.0, &dx.buf, len)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("sum_all", out, &[x], back))
}

/// Mean over rows: `[rows, cols] -> [cols]` (the mean activation of each unit).
pub fn mean_rows<B: Backend>(t: &Tape<B>, x: Var) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let (rows, cols) = (xv.shape.rows(), xv.shape.cols());
    let sums = output(be, [cols], "row sums")?;
    be.bias_grad(&xv.buf, &sums.buf, rows, cols, 1, false)?;
    let out = output(be, [cols], "mean rows")?;
    be.scale(&sums.buf, 1.0 / rows as f32, &out.buf, cols)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // Each row receives dy / rows: broadcast with bias_add onto zeros.
        let z = Tensor::zeros(be, xv.shape.clone(), "mean_rows zeros")?;
        let scaled = output(be, [cols], "mean_rows dy/rows")?;
        be.scale(&dy.buf, 1.0 / rows as f32, &scaled.buf, cols)?;
        let dx = output(be, xv.shape.clone(), "mean_rows dx")?;
        be.bias_add(&z.buf, &scaled.buf, &dx.buf, rows, cols, 1)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("mean_rows", out, &[x], back))
}
