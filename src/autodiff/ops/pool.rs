//! Pooling and upsampling: `max_pool2d`, `upsample2d`.

use super::*;

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
