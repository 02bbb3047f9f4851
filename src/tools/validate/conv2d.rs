//! Validation cases for conv2d.wgsl: conv2d, its input gradient and its weight gradient
//! (implicit GEMMs on the GPU, blocked im2col + matmul on the CPU) on awkward shapes:
//! 1 channel in or out, primes, stride 2 on odd sizes, dilation 2, 1x1 kernels, per-axis
//! geometry, a 1x1 image, and batches long enough for the weight gradient's split K.
//!
//! Tolerance: each side sums `K` products in its own order (with FMA), so each is within
//! `(K + 2)` rounding units of `sum |terms|` of the exact value; the two differ by at most
//! twice that. The per-element `sum |terms|` is the same map applied to `|inputs|`.

use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::ConvGeom;
use crate::error::Result;

const EPS: f64 = f32::EPSILON as f64;

fn tol_gemm(k: usize) -> f64 {
    2.0 * (k + 2) as f64 * EPS
}

fn abs(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

fn conv2d_case(p: &mut Pair, g: ConvGeom, oc: usize) -> Result<Vec<Row>> {
    let (pix, ck) = (g.out_h() * g.out_w(), g.col_rows());
    let (xd, wd, dyd) =
        (p.uniform(g.image_len(), -1.0, 1.0), p.uniform(oc * ck, -1.0, 1.0), p.uniform(g.batch * oc * pix, -1.0, 1.0));
    let (x, w, dy) = (p.both(&xd, "x")?, p.both(&wd, "w")?, p.both(&dyd, "dy")?);
    let (y, dx, dw) = (p.output(g.batch * oc * pix, "y")?, p.output(g.image_len(), "dx")?, p.output(oc * ck, "dw")?);
    p.gpu.conv2d(&x.gpu, &w.gpu, &y.gpu, g, oc)?;
    p.gpu.conv2d_input_grad(&dy.gpu, &w.gpu, &dx.gpu, g, oc)?;
    p.gpu.conv2d_weight_grad(&x.gpu, &dy.gpu, &dw.gpu, g, oc)?;
    p.cpu_run(|c| {
        c.conv2d(&x.cpu, &w.cpu, &y.cpu, g, oc)?;
        c.conv2d_input_grad(&dy.cpu, &w.cpu, &dx.cpu, g, oc)?;
        c.conv2d_weight_grad(&x.cpu, &dy.cpu, &dw.cpu, g, oc)
    })?;
    // Each element's sum of |terms|: the same maps over |x|, |w|, |dy| on the CPU.
    let (ax, aw, ady) =
        (p.cpu.upload(&abs(&xd), "|x|")?, p.cpu.upload(&abs(&wd), "|w|")?, p.cpu.upload(&abs(&dyd), "|dy|")?);
    let (sy, sdx, sdw) = (p.cpu.zeros(y.len, "sy")?, p.cpu.zeros(dx.len, "sdx")?, p.cpu.zeros(dw.len, "sdw")?);
    p.cpu_run(|c| {
        c.conv2d(&ax, &aw, &sy, g, oc)?;
        c.conv2d_input_grad(&ady, &aw, &sdx, g, oc)?;
        c.conv2d_weight_grad(&ax, &ady, &sdw, g, oc)
    })?;
    let taps = g.kernel_h * g.kernel_w;
    let mut rows = vec![
        p.compare("", &y, &p.cpu.download(&sy)?, 0.0, tol_gemm(g.channels * taps))?,
        p.compare("", &dx, &p.cpu.download(&sdx)?, 0.0, tol_gemm(oc * taps))?,
        p.compare("", &dw, &p.cpu.download(&sdw)?, 0.0, tol_gemm(g.batch * pix))?,
    ];
    for (row, name) in rows.iter_mut().zip(["conv2d", "conv2d_input_grad", "conv2d_weight_grad"]) {
        row.kernel = name.into();
    }
    Ok(rows)
}

/// `n2 c3->5 9x11 k3x5 s2x3 p1x2 d1x2`: im2col's shape label with the output channels.
fn shape(g: &ConvGeom, oc: usize) -> String {
    let c = format!(" c{} ", g.channels);
    super::conv::conv_shape(g).replacen(&c, &format!(" c{}->{oc} ", g.channels), 1)
}

pub fn cases() -> Vec<Case> {
    let sq = ConvGeom::square;
    let axes = |g: ConvGeom, stride_w, pad_w, dil_w| ConvGeom { stride_w, pad_w, dil_w, ..g };
    let convs = [
        (sq(1, 1, 7, 7, (3, 3), 1, 1, 1), 1),                 // 1 -> 1 "same"
        (sq(3, 1, 28, 28, (3, 3), 1, 1, 1), 16),              // an MNIST first layer
        (sq(2, 16, 28, 28, (3, 3), 1, 1, 1), 1),              // the conv AE's last layer, 16 -> 1
        (sq(3, 3, 13, 11, (3, 3), 2, 1, 2), 5),               // stride 2 on odd sizes, dilation 2
        (sq(1, 7, 5, 9, (1, 1), 1, 0, 1), 3),                 // 1x1 kernel, primes
        (sq(2, 5, 9, 7, (1, 1), 2, 0, 1), 67),                // 1x1 stride 2; > one 64-row tile
        (sq(1, 1, 1, 1, (3, 3), 1, 1, 1), 2),                 // a 1x1 image: all taps but one padding
        (sq(2, 3, 8, 8, (2, 2), 2, 0, 1), 4),                 // kernel = stride (the conv-T upsampling)
        (axes(sq(2, 3, 9, 11, (3, 5), 2, 1, 1), 3, 2, 2), 5), // per-axis stride, padding, dilation
        (axes(sq(1, 5, 13, 7, (3, 1), 1, 0, 2), 2, 0, 1), 2), // 3x1 kernel, stride 1x2, dilation 2x1
        (sq(9, 8, 28, 28, (3, 3), 1, 1, 1), 8),               // K = 7056 > one weight-grad split
        // The conv AE's last layer at batch 300: its column matrix would be 135 MB, over
        // lavapipe's 128 MiB binding limit (the old im2col path failed there).
        (sq(300, 16, 28, 28, (3, 3), 1, 1, 1), 1),
    ];
    convs.into_iter().map(|(g, oc)| Case::new("conv2d", shape(&g, oc), move |p| conv2d_case(p, g, oc))).collect()
}
