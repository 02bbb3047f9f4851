//! Convolutions: `conv2d` and `conv_transpose2d` (each with its fused activation form).

use super::*;
use crate::error::Error;

/// Convolution hyper-parameters shared by conv2d and conv_transpose2d, per axis as
/// PyTorch's `(h, w)` pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    /// conv_transpose2d only: extra rows/cols on the bottom/right of the output.
    pub output_padding: (usize, usize),
}

impl ConvParams {
    /// The same stride, padding, dilation and output padding on both axes.
    pub const fn square(stride: usize, padding: usize, dilation: usize, output_padding: usize) -> Self {
        ConvParams {
            stride: (stride, stride),
            padding: (padding, padding),
            dilation: (dilation, dilation),
            output_padding: (output_padding, output_padding),
        }
    }

    /// The window of these parameters over `[batch, channels, height, width]` images.
    fn geom(&self, batch: usize, channels: usize, height: usize, width: usize, kernel: (usize, usize)) -> ConvGeom {
        ConvGeom {
            batch,
            channels,
            height,
            width,
            kernel_h: kernel.0,
            kernel_w: kernel.1,
            stride_h: self.stride.0,
            stride_w: self.stride.1,
            pad_h: self.padding.0,
            pad_w: self.padding.1,
            dil_h: self.dilation.0,
            dil_w: self.dilation.1,
        }
    }
}

impl Default for ConvParams {
    fn default() -> Self {
        ConvParams::square(1, 0, 1, 0)
    }
}

/// [`conv2d`] before its bias, and its backward.
fn conv2d_parts<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Biased<B>> {
    let be = t.backend();
    let (xv, wv, bv) = (t.value(x), t.value(w), t.value(b));
    let (xs, ws) = (xv.shape.dims().to_vec(), wv.shape.dims().to_vec());
    ensure_shape!(xs.len() == 4 && ws.len() == 4, "conv2d: x {} and W {} must be 4-D", xv.shape, wv.shape);
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (oc, kh, kw) = (ws[0], ws[2], ws[3]);
    ensure_shape!(ws[1] == c && bv.numel() == oc, "conv2d: x {} W {} b {}", xv.shape, wv.shape, bv.shape);
    let geom = p.geom(n, c, h, wd, (kh, kw));
    if let Err(why) = geom.check() {
        return Err(Error::Shape(format!("conv2d: x {} W {} with {p:?}: {why}", xv.shape, wv.shape)));
    }
    let (oh, ow) = (geom.out_h(), geom.out_w());
    let y = output(be, [n, oc, oh, ow], "conv2d y")?;
    be.conv2d(&xv.buf, &wv.buf, &y.buf, geom, oc)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        let dx = if needs[0] {
            let dx = output(be, xv.shape.clone(), "conv2d dx")?;
            be.conv2d_input_grad(&dy.buf, &wv.buf, &dx.buf, geom, oc)?;
            Some(dx)
        } else {
            None
        };
        let dw = if needs[1] {
            let dw = output(be, wv.shape.clone(), "conv2d dW")?;
            be.conv2d_weight_grad(&xv.buf, &dy.buf, &dw.buf, geom, oc)?;
            Some(dw)
        } else {
            None
        };
        let db = if needs[2] {
            let db = output(be, [oc], "conv2d db")?;
            be.bias_grad(&dy.buf, &db.buf, n, oc, oh * ow, false)?;
            Some(db)
        } else {
            None
        };
        Ok(vec![dx, dw, db])
    });
    Ok(Biased { pre: y, bias: bv, outer: n, channels: oc, inner: oh * ow, back })
}

/// 2-D convolution: `x: [N, C, H, W]`, `w: [OC, C, KH, KW]`, `b: [OC]` -> `[N, OC, OH, OW]`:
/// the backend's conv2d (an implicit GEMM on the GPU; on the CPU blocked im2col + matmul,
/// or a direct kernel for one channel on a side; none builds the whole column matrix),
/// then the bias.
pub fn conv2d<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Var> {
    conv2d_parts(t, x, w, b, p)?.finish(t, "conv2d", &[x, w, b])
}

/// [`conv2d`] with its activation: one fused bias + activation kernel instead of a bias
/// add and an activation. Returns `(z, h)`: `z` the
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

/// [`conv_transpose2d`] before its bias, and its backward.
fn conv_transpose2d_parts<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Biased<B>> {
    let be = t.backend();
    let (xv, wv, bv) = (t.value(x), t.value(w), t.value(b));
    let (xs, ws) = (xv.shape.dims().to_vec(), wv.shape.dims().to_vec());
    ensure_shape!(xs.len() == 4 && ws.len() == 4, "conv_transpose2d: x {} and W {} must be 4-D", xv.shape, wv.shape);
    let (n, ci, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (co, kh, kw) = (ws[1], ws[2], ws[3]);
    ensure_shape!(ws[0] == ci && bv.numel() == co, "conv_transpose2d: x {} W {} b {}", xv.shape, wv.shape, bv.shape);
    let (sh, sw) = p.stride;
    ensure_shape!(
        sh > 0 && sw > 0 && p.dilation.0 > 0 && p.dilation.1 > 0 && kh > 0 && kw > 0,
        "conv_transpose2d: x {} W {}: kernel, stride {:?} and dilation {:?} must all be at least 1",
        xv.shape,
        wv.shape,
        p.stride,
        p.dilation
    );
    ensure_shape!(
        p.output_padding.0 < sh.max(p.dilation.0) && p.output_padding.1 < sw.max(p.dilation.1),
        "conv_transpose2d: output_padding {:?} must be smaller than stride {:?} or dilation {:?} on each axis",
        p.output_padding,
        p.stride,
        p.dilation
    );
    // OH = (H-1)*stride + dilation*(KH-1) + output_padding + 1 - 2*padding, per axis.
    let out_size = |i: usize, k: usize, s: usize, d: usize, op: usize, pad: usize| -> Option<usize> {
        (i.checked_sub(1)?.checked_mul(s)?)
            .checked_add(d.checked_mul(k - 1)?)?
            .checked_add(op + 1)?
            .checked_sub(pad.checked_mul(2)?)
            .filter(|&o| o > 0)
    };
    let sizes = (
        out_size(h, kh, sh, p.dilation.0, p.output_padding.0, p.padding.0),
        out_size(wd, kw, sw, p.dilation.1, p.output_padding.1, p.padding.1),
    );
    let (Some(oh), Some(ow)) = sizes else {
        return Err(Error::Shape(format!(
            "conv_transpose2d: x {} W {} with {p:?}: empty output (padding too large for input {h}x{wd})",
            xv.shape, wv.shape
        )));
    };
    // The conv that maps the output space back onto the input space.
    let geom = p.geom(n, co, oh, ow, (kh, kw));
    if let Err(why) = geom.check() {
        return Err(Error::Shape(format!("conv_transpose2d: x {} W {} with {p:?}: {why}", xv.shape, wv.shape)));
    }
    ensure_shape!(geom.out_h() == h && geom.out_w() == wd, "conv_transpose2d: inconsistent geometry");
    // Its forward is that conv's input gradient (x in the role of dY), its input gradient
    // that conv, its weight gradient that conv's weight gradient with the roles of image
    // and output gradient exchanged; the conv has `ci` output channels.
    let y = output(be, [n, co, oh, ow], "convT y")?;
    be.conv2d_input_grad(&xv.buf, &wv.buf, &y.buf, geom, ci)?;
    let back = Box::new(move |be: &B, dy: &Tensor<B>, needs: &[bool]| {
        let dx = if needs[0] {
            let dx = output(be, xv.shape.clone(), "convT dx")?;
            be.conv2d(&dy.buf, &wv.buf, &dx.buf, geom, ci)?;
            Some(dx)
        } else {
            None
        };
        let dw = if needs[1] {
            let dw = output(be, wv.shape.clone(), "convT dW")?;
            be.conv2d_weight_grad(&dy.buf, &xv.buf, &dw.buf, geom, ci)?;
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
    Ok(Biased { pre: y, bias: bv, outer: n, channels: co, inner: oh * ow, back })
}

/// Transposed convolution, PyTorch's `ConvTranspose2d`: `x: [N, CI, H, W]`,
/// `w: [CI, CO, KH, KW]`, `b: [CO]` -> `[N, CO, OH, OW]` with
/// `OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1`.
/// It is the adjoint of conv2d in its input: the backend's conv2d input gradient, then
/// the bias.
pub fn conv_transpose2d<B: Backend>(t: &Tape<B>, x: Var, w: Var, b: Var, p: ConvParams) -> Result<Var> {
    conv_transpose2d_parts(t, x, w, b, p)?.finish(t, "conv_transpose2d", &[x, w, b])
}

/// [`conv_transpose2d`] with its activation (one fused bias + activation kernel after
/// the transposed conv). Returns `(z, h)` as [`conv2d_activation`].
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
