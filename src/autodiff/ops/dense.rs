//! Dense layers: `linear` (with its fused activation form), `matmul` and `bias_add`.

use super::*;

/// The matmul of [`linear`] and its backward (w.r.t. `x W^T + b`).
fn linear_parts<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var) -> Result<Biased<B>> {
    let be = t.backend();
    let (xv, wv, bv) = (t.value(x), t.value(w), t.value(b));
    let (rows, inp) = (xv.shape.rows(), xv.shape.cols());
    let out = wv.shape.rows();
    ensure_shape!(wv.shape.cols() == inp && bv.numel() == out, "linear: x {} W {} b {}", xv.shape, wv.shape, bv.shape);
    // x W^T here; the bias (and activation) are added by the caller's `finish`.
    let xw = output(be, [rows, out], "linear xW")?;
    be.matmul(&xv.buf, &wv.buf, &xw.buf, MatmulDims::new(rows, inp, out).trans_b(true))?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        // dx = dy W ; dW = dy^T x ; db = column sums of dy.
        let dx = if needs[0] {
            let dx = output(be, [rows, inp], "linear dx")?;
            be.matmul(&dy.buf, &wv.buf, &dx.buf, MatmulDims::new(rows, out, inp))?;
            Some(dx)
        } else {
            None
        };
        let dw = if needs[1] {
            let dw = output(be, [out, inp], "linear dW")?;
            be.matmul(&dy.buf, &xv.buf, &dw.buf, MatmulDims::new(out, rows, inp).trans_a(true))?;
            Some(dw)
        } else {
            None
        };
        let db = if needs[2] {
            let db = output(be, [out], "linear db")?;
            be.bias_grad(&dy.buf, &db.buf, rows, out, 1, false)?;
            Some(db)
        } else {
            None
        };
        Ok(vec![dx, dw, db])
    });
    Ok(Biased { pre: xw, bias: bv, outer: rows, channels: out, inner: 1, back })
}

/// `y = x W^T + b` for `x: [rows, in]`, `W: [out, in]`, `b: [out]` (PyTorch's layout).
pub fn linear<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var) -> Result<Var> {
    linear_parts(t, x, w, b)?.finish(t, "linear", &[x, w, b])
}

/// A dense layer with its activation: `z = x W^T + b`, `h = f(z)`; returns `(z, h)`.
/// One matmul and one fused bias + activation kernel; records two nodes, `z` with the
/// backward of [`linear`] and `h` with the backward of [`activation`], so gradients are
/// exactly those of `activation(linear(x, W, b))` (and `z` can feed the contractive
/// penalty).
pub fn linear_activation<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, act: Activation) -> Result<(Var, Var)> {
    linear_parts(t, x, w, b)?.finish_activation(t, "linear", &[x, w, b], act)
}

/// `C = op(A) op(B)` for 2-D tensors.
pub fn matmul<B: Backend>(t: &Tape<B>, a: Var, b: Var, trans_a: bool, trans_b: bool) -> Result<Var> {
    let be = t.backend();
    let (av, bv) = (t.value(a), t.value(b));
    ensure_shape!(
        av.shape.rank() == 2 && bv.shape.rank() == 2,
        "matmul: needs 2-D operands, got {} and {}",
        av.shape,
        bv.shape
    );
    let (m, k) = if trans_a { (av.shape.0[1], av.shape.0[0]) } else { (av.shape.0[0], av.shape.0[1]) };
    let (k2, n) = if trans_b { (bv.shape.0[1], bv.shape.0[0]) } else { (bv.shape.0[0], bv.shape.0[1]) };
    ensure_shape!(
        k == k2,
        "matmul: inner dimensions differ: {} (trans {trans_a}) x {} (trans {trans_b})",
        av.shape,
        bv.shape
    );
    let c = output(be, [m, n], "matmul out")?;
    be.matmul(&av.buf, &bv.buf, &c.buf, MatmulDims::new(m, k, n).trans_a(trans_a).trans_b(trans_b))?;
    let back = Box::new(move |be: &B, dc: &Tensor<B>, needs: &[bool]| {
        // C = A B: dA = dC B^T, dB = A^T dC; transposed operands swap roles.
        let da = if needs[0] {
            let da = output(be, av.shape.clone(), "matmul dA")?;
            if trans_a {
                // A^T stored: dA(stored) = B dC^T  ([k,n]x[n,m])
                be.matmul(&bv.buf, &dc.buf, &da.buf, MatmulDims::new(k, n, m).trans_a(trans_b).trans_b(true))?;
            } else {
                be.matmul(&dc.buf, &bv.buf, &da.buf, MatmulDims::new(m, n, k).trans_b(!trans_b))?;
            }
            Some(da)
        } else {
            None
        };
        let db = if needs[1] {
            let db = output(be, bv.shape.clone(), "matmul dB")?;
            if trans_b {
                // B^T stored: dB(stored) = dC^T A  ([n,m]x[m,k])
                be.matmul(&dc.buf, &av.buf, &db.buf, MatmulDims::new(n, m, k).trans_a(true).trans_b(trans_a))?;
            } else {
                be.matmul(&av.buf, &dc.buf, &db.buf, MatmulDims::new(k, m, n).trans_a(!trans_a))?;
            }
            Some(db)
        } else {
            None
        };
        Ok(vec![da, db])
    });
    Ok(t.push("matmul", c, &[a, b], back))
}

/// [`bias_add`] before its bias (`x` itself) and its backward.
fn bias_parts<B: Backend>(
    t: &Tape<B>,
    x: Var,
    b: Var,
    outer: usize,
    channels: usize,
    inner: usize,
) -> Result<Biased<B>> {
    let (xv, bv) = (t.value(x), t.value(b));
    ensure_shape!(
        xv.numel() == outer * channels * inner && bv.numel() == channels,
        "bias_add: x {} b {} as [{outer}, {channels}, {inner}]",
        xv.shape,
        bv.shape
    );
    let bshape = bv.shape.clone();
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        let db = if needs[1] {
            let db = output(be, bshape.clone(), "bias grad")?;
            be.bias_grad(&dy.buf, &db.buf, outer, channels, inner, false)?;
            Some(db)
        } else {
            None
        };
        Ok(vec![Some(dy.clone()), db])
    });
    Ok(Biased { pre: xv, bias: bv, outer, channels, inner, back })
}

/// `y[o,c,i] = x[o,c,i] + b[c]` over `x` viewed as `[outer, channels, inner]`.
pub fn bias_add<B: Backend>(t: &Tape<B>, x: Var, b: Var, outer: usize, channels: usize, inner: usize) -> Result<Var> {
    bias_parts(t, x, b, outer, channels, inner)?.finish(t, "bias_add", &[x, b])
}

/// `z = bias_add(x, b)`, `h = f(z)` by one fused kernel; returns `(z, h)` (the two nodes
/// of `activation(bias_add(..))`).
pub fn bias_activation<B: Backend>(
    t: &Tape<B>,
    x: Var,
    b: Var,
    outer: usize,
    channels: usize,
    inner: usize,
    act: Activation,
) -> Result<(Var, Var)> {
    bias_parts(t, x, b, outer, channels, inner)?.finish_activation(t, "bias_add", &[x, b], act)
}
