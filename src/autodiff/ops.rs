//! Differentiable ops. Each function computes its forward value on the backend and
//! records, right beside it, the closure that maps the output gradient to the input
//! gradients (the chain rule for that op). docs/BACKPROP.md walks through them.
//!
//! Names match the kernels (`kernels/src/<family>.rs`) and shaders (`shaders/<family>.wgsl`).

use super::tape::{BackwardFn, Tape, Var};
use crate::backend::{Activation, Backend, ConvGeom, Loss, MatmulDims, PoolGeom, UpsampleGeom};
use crate::ensure_shape;
use crate::error::Result;
use crate::tensor::{Shape, Tensor};

/// An output buffer: every op below overwrites its outputs completely, so they need no
/// clearing (the accumulating contractive backward uses `Tensor::zeros` instead).
fn output<B: Backend>(b: &B, shape: impl Into<Shape>, label: &str) -> Result<Tensor<B>> {
    Tensor::empty(b, shape, label)
}

fn scalar_shape() -> Shape {
    Shape::new(&[1])
}

/// What linear, bias_add and the convolutions compute before their bias, with their
/// backward: the op's value is `pre` (shaped like it) plus `bias[c]` over
/// `[outer, channels, inner]`, and `back` maps the gradient of that value to the inputs'
/// gradients. The op is finished either by a bias add ([`Biased::finish`]) or by the fused
/// bias add + activation ([`Biased::finish_activation`]); both record the same node, so
/// each op's backward is written once.
struct Biased<B: Backend> {
    pre: Tensor<B>,
    bias: Tensor<B>,
    outer: usize,
    channels: usize,
    inner: usize,
    back: BackwardFn<B>,
}

impl<B: Backend> Biased<B> {
    /// `y = pre + bias`, recorded as `op` over `inputs`.
    fn finish(self, t: &Tape<B>, op: &'static str, inputs: &[Var]) -> Result<Var> {
        let be = t.backend();
        let y = output(be, self.pre.shape.clone(), op)?;
        be.bias_add(&self.pre.buf, &self.bias.buf, &y.buf, self.outer, self.channels, self.inner)?;
        Ok(t.push(op, y, inputs, self.back))
    }

    /// `z = pre + bias` and `h = f(z)` by one [`ActivationOps::bias_activation`](crate::backend::ActivationOps::bias_activation); records `z` as
    /// `op` over `inputs` (the backward of [`Biased::finish`]) and `h` as the activation
    /// node of [`activation`] over `z`. Returns `(z, h)`.
    fn finish_activation(self, t: &Tape<B>, op: &'static str, inputs: &[Var], act: Activation) -> Result<(Var, Var)> {
        let be = t.backend();
        let z = output(be, self.pre.shape.clone(), op)?;
        let h = output(be, self.pre.shape.clone(), act.name())?;
        be.bias_activation(act, &self.pre.buf, &self.bias.buf, &z.buf, &h.buf, self.outer, self.channels, self.inner)?;
        let zvar = t.push(op, z.clone(), inputs, self.back);
        Ok((zvar, push_activation(t, zvar, z, h, act)))
    }
}

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

/// `y = f(x)` elementwise.
pub fn activation<B: Backend>(t: &Tape<B>, x: Var, act: Activation) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let y = output(be, xv.shape.clone(), act.name())?;
    be.activation_forward(act, &xv.buf, &y.buf, xv.numel())?;
    Ok(push_activation(t, x, xv, y, act))
}

/// Records `y = f(x)` (already computed into `y`) with its backward.
fn push_activation<B: Backend>(t: &Tape<B>, x: Var, xv: Tensor<B>, y: Tensor<B>, act: Activation) -> Var {
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

/// Convolution hyper-parameters shared by conv2d and conv_transpose2d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvParams {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    /// conv_transpose2d only: extra rows/cols on the bottom/right of the output.
    pub output_padding: usize,
}

impl Default for ConvParams {
    fn default() -> Self {
        ConvParams { stride: 1, padding: 0, dilation: 1, output_padding: 0 }
    }
}

/// [`conv2d`] before its bias (im2col, matmul, swap to NCHW) and its backward.
fn conv2d_parts<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Biased<B>> {
    let be = t.backend();
    let (xv, wv, bv) = (t.value(x), t.value(w), t.value(b));
    let (xs, ws) = (xv.shape.dims().to_vec(), wv.shape.dims().to_vec());
    ensure_shape!(xs.len() == 4 && ws.len() == 4, "conv2d: x {} and W {} must be 4-D", xv.shape, wv.shape);
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (oc, kh, kw) = (ws[0], ws[2], ws[3]);
    ensure_shape!(ws[1] == c && bv.numel() == oc, "conv2d: x {} W {} b {}", xv.shape, wv.shape, bv.shape);
    ensure_shape!(
        h + 2 * p.padding > p.dilation * (kh - 1) && wd + 2 * p.padding > p.dilation * (kw - 1),
        "conv2d: kernel {kh}x{kw} larger than padded input {h}x{wd}"
    );
    let geom = ConvGeom {
        batch: n,
        channels: c,
        height: h,
        width: wd,
        kernel_h: kh,
        kernel_w: kw,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
    };
    let (oh, ow) = (geom.out_h(), geom.out_w());
    let (ck, np, pix) = (geom.col_rows(), geom.col_cols(), oh * ow);
    let cols = output(be, [ck, np], "conv2d cols")?;
    be.im2col(&xv.buf, &cols.buf, geom)?;
    let ycn = output(be, [oc, np], "conv2d W·cols")?;
    be.matmul(&wv.buf, &cols.buf, &ycn.buf, MatmulDims::new(oc, ck, np))?;
    let ynchw = output(be, [n, oc, oh, ow], "conv2d nchw")?;
    be.swap_leading_axes(&ycn.buf, &ynchw.buf, oc, n, pix)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        // dY in [OC, N*P] layout feeds both matmuls.
        let dycn = output(be, [oc, np], "conv2d dY cn")?;
        be.swap_leading_axes(&dy.buf, &dycn.buf, n, oc, pix)?;
        let dx = if needs[0] {
            // dcols = W^T dY, then col2im (the adjoint of im2col).
            let dcols = output(be, [ck, np], "conv2d dcols")?;
            be.matmul(&wv.buf, &dycn.buf, &dcols.buf, MatmulDims::new(ck, oc, np).trans_a(true))?;
            let dx = output(be, xv.shape.clone(), "conv2d dx")?;
            be.col2im(&dcols.buf, &dx.buf, geom, false)?;
            Some(dx)
        } else {
            None
        };
        let dw = if needs[1] {
            // dW = dY cols^T
            let dw = output(be, wv.shape.clone(), "conv2d dW")?;
            be.matmul(&dycn.buf, &cols.buf, &dw.buf, MatmulDims::new(oc, np, ck).trans_b(true))?;
            Some(dw)
        } else {
            None
        };
        let db = if needs[2] {
            let db = output(be, [oc], "conv2d db")?;
            be.bias_grad(&dy.buf, &db.buf, n, oc, pix, false)?;
            Some(db)
        } else {
            None
        };
        Ok(vec![dx, dw, db])
    });
    Ok(Biased { pre: ynchw, bias: bv, outer: n, channels: oc, inner: pix, back })
}

/// 2-D convolution: `x: [N, C, H, W]`, `w: [OC, C, KH, KW]`, `b: [OC]` -> `[N, OC, OH, OW]`.
/// im2col to `[C*KH*KW, N*OH*OW]`, one matmul `W·cols -> [OC, N*OH*OW]`, then swap to NCHW
/// and add the bias.
pub fn conv2d<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Var> {
    conv2d_parts(t, x, w, b, p)?.finish(t, "conv2d", &[x, w, b])
}

/// [`conv2d`] with its activation: the swap to NCHW is followed by one fused bias +
/// activation kernel instead of a bias add and an activation. Returns `(z, h)`: `z` the
/// conv2d node, `h = f(z)` the activation node.
pub fn conv2d_activation<B: Backend>(
    t: &Tape<B>,
    x: Var,
    w: Var,
    b: Var,
    p: ConvParams,
    act: Activation,
) -> Result<(Var, Var)> {
    conv2d_parts(t, x, w, b, p)?.finish_activation(t, "conv2d", &[x, w, b], act)
}

/// [`conv_transpose2d`] before its bias (swap, matmul, col2im) and its backward.
fn conv_transpose2d_parts<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Biased<B>> {
    let be = t.backend();
    let (xv, wv, bv) = (t.value(x), t.value(w), t.value(b));
    let (xs, ws) = (xv.shape.dims().to_vec(), wv.shape.dims().to_vec());
    ensure_shape!(xs.len() == 4 && ws.len() == 4, "conv_transpose2d: x {} and W {} must be 4-D", xv.shape, wv.shape);
    let (n, ci, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (co, kh, kw) = (ws[1], ws[2], ws[3]);
    ensure_shape!(ws[0] == ci && bv.numel() == co, "conv_transpose2d: x {} W {} b {}", xv.shape, wv.shape, bv.shape);
    ensure_shape!(
        p.output_padding < p.stride.max(p.dilation),
        "conv_transpose2d: output_padding {} must be smaller than stride or dilation",
        p.output_padding
    );
    let out_size = |i: usize, k: usize| -> Option<usize> {
        ((i - 1) * p.stride + p.dilation * (k - 1) + p.output_padding + 1).checked_sub(2 * p.padding)
    };
    let (Some(oh), Some(ow)) = (out_size(h, kh), out_size(wd, kw)) else {
        return Err(crate::error::Error::Shape(format!(
            "conv_transpose2d: padding {} too large for {h}x{wd}",
            p.padding
        )));
    };
    ensure_shape!(oh > 0 && ow > 0, "conv_transpose2d: empty output for input {h}x{wd}");
    // The conv that maps the output space back onto the input space.
    let geom = ConvGeom {
        batch: n,
        channels: co,
        height: oh,
        width: ow,
        kernel_h: kh,
        kernel_w: kw,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
    };
    ensure_shape!(geom.out_h() == h && geom.out_w() == wd, "conv_transpose2d: inconsistent geometry");
    let (ck, np, pin) = (geom.col_rows(), geom.col_cols(), h * wd);
    let xcn = output(be, [ci, np], "convT x cn")?;
    be.swap_leading_axes(&xv.buf, &xcn.buf, n, ci, pin)?;
    let cols = output(be, [ck, np], "convT cols")?;
    be.matmul(&wv.buf, &xcn.buf, &cols.buf, MatmulDims::new(ck, ci, np).trans_a(true))?;
    let ynb = output(be, [n, co, oh, ow], "convT col2im")?;
    be.col2im(&cols.buf, &ynb.buf, geom, false)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        // dcols = im2col(dy); dX = W dcols; dW = X dcols^T.
        let dcols = output(be, [ck, np], "convT dcols")?;
        be.im2col(&dy.buf, &dcols.buf, geom)?;
        let dx = if needs[0] {
            let dxcn = output(be, [ci, np], "convT dx cn")?;
            be.matmul(&wv.buf, &dcols.buf, &dxcn.buf, MatmulDims::new(ci, ck, np))?;
            let dx = output(be, xv.shape.clone(), "convT dx")?;
            be.swap_leading_axes(&dxcn.buf, &dx.buf, ci, n, pin)?;
            Some(dx)
        } else {
            None
        };
        let dw = if needs[1] {
            let dw = output(be, wv.shape.clone(), "convT dW")?;
            be.matmul(&xcn.buf, &dcols.buf, &dw.buf, MatmulDims::new(ci, np, ck).trans_b(true))?;
            Some(dw)
        } else {
            None
        };
        let db = if needs[2] {
            let db = output(be, [co], "convT db")?;
            be.bias_grad(&dy.buf, &db.buf, n, co, oh * ow, false)?;
            Some(db)
        } else {
            None
        };
        Ok(vec![dx, dw, db])
    });
    Ok(Biased { pre: ynb, bias: bv, outer: n, channels: co, inner: oh * ow, back })
}

/// Transposed convolution, PyTorch's `ConvTranspose2d`: `x: [N, CI, H, W]`,
/// `w: [CI, CO, KH, KW]`, `b: [CO]` -> `[N, CO, OH, OW]` with
/// `OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1`.
/// It is the adjoint of conv2d: matmul `W^T·X -> cols`, then col2im, then the bias.
pub fn conv_transpose2d<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Var> {
    conv_transpose2d_parts(t, x, w, b, p)?.finish(t, "conv_transpose2d", &[x, w, b])
}

/// [`conv_transpose2d`] with its activation (col2im, then one fused bias + activation
/// kernel). Returns `(z, h)` as [`conv2d_activation`].
pub fn conv_transpose2d_activation<B: Backend>(
    t: &Tape<B>,
    x: Var,
    w: Var,
    b: Var,
    p: ConvParams,
    act: Activation,
) -> Result<(Var, Var)> {
    conv_transpose2d_parts(t, x, w, b, p)?.finish_activation(t, "conv_transpose2d", &[x, w, b], act)
}

/// Max pooling over NCHW (square window).
pub fn max_pool2d<B: Backend>(
    t: &Tape<B>,
    x: Var,
    kernel: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let d = xv.shape.dims().to_vec();
    ensure_shape!(d.len() == 4, "max_pool2d: x {} must be 4-D", xv.shape);
    ensure_shape!(padding * 2 <= kernel, "max_pool2d: padding {padding} must be at most half the kernel {kernel}");
    ensure_shape!(
        d[2] + 2 * padding >= kernel && d[3] + 2 * padding >= kernel,
        "max_pool2d: kernel {kernel} larger than {}",
        xv.shape
    );
    let geom = PoolGeom { batch: d[0], channels: d[1], height: d[2], width: d[3], kernel, stride, padding, ceil_mode };
    let y = output(be, [d[0], d[1], geom.out_h(), geom.out_w()], "max_pool2d out")?;
    let argmax = output(be, [geom.out_len_total()], "max_pool2d argmax")?;
    be.max_pool2d(&xv.buf, &y.buf, &argmax.buf, geom)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // Each output's gradient goes to the input that won its window.
        let dx = output(be, xv.shape.clone(), "max_pool2d dx")?;
        be.max_pool2d_backward(&dy.buf, &argmax.buf, &dx.buf, geom)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("max_pool2d", y, &[x], back))
}

/// Nearest-neighbour upsampling by an integer factor.
pub fn upsample2d<B: Backend>(t: &Tape<B>, x: Var, scale: usize) -> Result<Var> {
    let be = t.backend();
    let xv = t.value(x);
    let d = xv.shape.dims().to_vec();
    ensure_shape!(d.len() == 4 && scale >= 1, "upsample2d: x {} must be 4-D, scale {scale} >= 1", xv.shape);
    let geom = UpsampleGeom { batch: d[0], channels: d[1], height: d[2], width: d[3], scale };
    let y = output(be, [d[0], d[1], d[2] * scale, d[3] * scale], "upsample2d out")?;
    be.upsample2d(&xv.buf, &y.buf, geom)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, _: &[bool]| {
        // Each input was copied scale^2 times: its gradient is the sum of the copies'.
        let dx = output(be, xv.shape.clone(), "upsample2d dx")?;
        be.upsample2d_backward(&dy.buf, &dx.buf, geom)?;
        Ok(vec![Some(dx)])
    });
    Ok(t.push("upsample2d", y, &[x], back))
}

/// The same values seen with another shape (no data movement).
pub fn reshape<B: Backend>(t: &Tape<B>, x: Var, shape: impl Into<Shape>) -> Result<Var> {
    let xv = t.value(x);
    let y = xv.reshape(shape)?;
    let xshape = xv.shape.clone();
    let back = Box::new(move |_: &B, dy: &Tensor<B>, _: &[bool]| Ok(vec![Some(dy.reshape(xshape.clone())?)]));
    Ok(t.push("reshape", y, &[x], back))
}
