//! Validation cases for im2col.wgsl, col2im.wgsl, pool.wgsl and contractive.wgsl: every
//! op forward and backward on awkward geometries (batch 1 and 3, 1/3/16 channels, 7x7,
//! 5x9 and 28x28 images, kernels 1/2/3, stride 1/2/3, padding 0/1/2, dilation 1/2,
//! ceil-mode pooling, windows lying wholly in the padding, ties and NaN in pooling), and
//! the contractive penalty for every activation on rows/hidden/inputs of 1, primes and
//! sizes around the 256-wide workgroup.
//!
//! Tolerances (docs/KERNELS.md):
//! - data movement (im2col, swap, upsample, max pool values and argmax): exact;
//! - gathers that add `n` terms (col2im, the pool and upsample backwards): the error of
//!   element i relative to `sum |terms_i|` is at most `(n + 2)` rounding units (the GPU
//!   adds in the CPU's order, but a compiler may reassociate);
//! - contractive: the sums over `inputs` and `rows` as above, plus the evaluation error
//!   of f' and f'' (sigmoid/tanh from `exp(-|z|)` on both sides, accurate relative to
//!   themselves, saturated units included: z up to +-30 is validated), see [`act_eval`].

use super::{Both, Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::{Activation, ConvGeom, PoolGeom, UpsampleGeom};
use crate::error::Result;

const EPS: f64 = f32::EPSILON as f64;

/// Element error bound of a sum of `n` f32 terms, relative to the sum of their sizes.
fn tol_sum(n: usize) -> f64 {
    (n + 2) as f64 * EPS
}

fn abs(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

/// A row that passes only when GPU and CPU agree bit for bit (both NaN counts as
/// agreeing: NaN must propagate). `max_abs` is the largest difference of the values
/// read as f32 (or as u32 indices when `as_index`).
fn exact_row(p: &Pair, name: &str, out: &Both, as_index: bool) -> Result<Row> {
    let g = p.gpu.download(&out.gpu)?;
    let c = p.cpu.download(&out.cpu)?;
    let mut max_abs = 0.0f64;
    let mut pass = true;
    for (&gi, &ci) in g[..out.len].iter().zip(&c[..out.len]) {
        let same = gi.to_bits() == ci.to_bits() || (gi.is_nan() && ci.is_nan() && !as_index);
        if !same {
            pass = false;
            let d = if as_index {
                (gi.to_bits() as f64 - ci.to_bits() as f64).abs()
            } else {
                (gi as f64 - ci as f64).abs()
            };
            max_abs = max_abs.max(if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    Ok(Row {
        kernel: if name.is_empty() { p.kernel.clone() } else { format!("{}.{name}", p.kernel) },
        shape: p.shape.clone(),
        max_abs,
        max_rel: if pass { 0.0 } else { f64::INFINITY },
        tol: 0.0,
        pass,
    })
}

// ---- im2col / col2im -----------------------------------------------------------------

/// `n1 c3 7x7 k3x3 s2 p1 d1`, with `s2x3`-style pairs where the axes differ.
pub(super) fn conv_shape(g: &ConvGeom) -> String {
    let pair = |h: usize, w: usize| if h == w { h.to_string() } else { format!("{h}x{w}") };
    format!(
        "n{} c{} {}x{} k{}x{} s{} p{} d{}",
        g.batch,
        g.channels,
        g.height,
        g.width,
        g.kernel_h,
        g.kernel_w,
        pair(g.stride_h, g.stride_w),
        pair(g.pad_h, g.pad_w),
        pair(g.dil_h, g.dil_w)
    )
}

fn im2col_case(p: &mut Pair, g: ConvGeom) -> Result<Vec<Row>> {
    let x = p.input(g.image_len(), -1.0, 1.0, "x")?;
    let cols = p.output(g.col_rows() * g.col_cols(), "cols")?;
    p.gpu.im2col(&x.gpu, &cols.gpu, g)?;
    p.cpu_run(|c| c.im2col(&x.cpu, &cols.cpu, g))?;
    Ok(vec![exact_row(p, "", &cols, false)?])
}

fn col2im_case(p: &mut Pair, g: ConvGeom, accumulate: bool) -> Result<Vec<Row>> {
    let cols_data = p.uniform(g.col_rows() * g.col_cols(), -1.0, 1.0);
    let cols = p.both(&cols_data, "cols")?;
    let x_old = if accumulate { p.uniform(g.image_len(), -1.0, 1.0) } else { vec![0.0; g.image_len()] };
    let x = if accumulate { p.both(&x_old, "x")? } else { p.output(g.image_len(), "x")? };
    p.gpu.col2im(&cols.gpu, &x.gpu, g, accumulate)?;
    p.cpu_run(|c| c.col2im(&cols.cpu, &x.cpu, g, accumulate))?;
    // The same linear map over |cols| (onto |x_old|) gives each element's sum of sizes.
    let scale = p.cpu.upload(&abs(&x_old), "scale")?;
    p.cpu_run(|c| c.col2im(&c.upload(&abs(&cols_data), "|cols|")?, &scale, g, true))?;
    let taps = g.kernel_h * g.kernel_w + accumulate as usize;
    Ok(vec![p.compare("", &x, &p.cpu.download(&scale)?, 0.0, tol_sum(taps))?])
}

fn swap_case(p: &mut Pair, a: usize, b: usize, inner: usize) -> Result<Vec<Row>> {
    let x = p.input(a * b * inner, -1.0, 1.0, "x")?;
    let out = p.output(a * b * inner, "out")?;
    p.gpu.swap_leading_axes(&x.gpu, &out.gpu, a, b, inner)?;
    p.cpu_run(|c| c.swap_leading_axes(&x.cpu, &out.cpu, a, b, inner))?;
    Ok(vec![exact_row(p, "", &out, false)?])
}

// ---- pooling / upsampling ------------------------------------------------------------

fn pool_shape(g: &PoolGeom) -> String {
    format!(
        "n{} c{} {}x{} k{} s{} p{}{} -> {}x{}",
        g.batch,
        g.channels,
        g.height,
        g.width,
        g.kernel,
        g.stride,
        g.padding,
        if g.ceil_mode { " ceil" } else { "" },
        g.out_h(),
        g.out_w()
    )
}

/// Forward (values and argmax, exact) and backward (each side from its own argmax, so a
/// forward bug cannot hide in the backward) of max pooling. Inputs are quantized to
/// multiples of 1/4 so that windows hold ties (the first maximum must win); `nan` also
/// plants NaNs, which must win their windows.
fn max_pool_case(p: &mut Pair, g: PoolGeom, nan: bool) -> Result<Vec<Row>> {
    let mut data: Vec<f32> = p.uniform(g.in_len(), -1.0, 1.0).iter().map(|v| (v * 4.0).round() / 4.0).collect();
    if nan {
        for v in data.iter_mut().step_by(7) {
            *v = f32::NAN;
        }
    }
    let x = p.both(&data, "x")?;
    let y = p.output(g.out_len_total(), "y")?;
    let argmax = p.output(g.out_len_total(), "argmax")?;
    p.gpu.max_pool2d(&x.gpu, &y.gpu, &argmax.gpu, g)?;
    p.cpu_run(|c| c.max_pool2d(&x.cpu, &y.cpu, &argmax.cpu, g))?;
    let mut rows = vec![exact_row(p, "y", &y, false)?, exact_row(p, "argmax", &argmax, true)?];

    let dy_data = p.uniform(g.out_len_total(), -1.0, 1.0);
    let dy = p.both(&dy_data, "dy")?;
    let dx = p.output(g.in_len(), "dx")?;
    p.gpu.max_pool2d_backward(&dy.gpu, &argmax.gpu, &dx.gpu, g)?;
    p.cpu_run(|c| c.max_pool2d_backward(&dy.cpu, &argmax.cpu, &dx.cpu, g))?;
    let scale = p.cpu.zeros(g.in_len(), "scale")?;
    p.cpu_run(|c| c.max_pool2d_backward(&c.upload(&abs(&dy_data), "|dy|")?, &argmax.cpu, &scale, g))?;
    // An input wins at most every window that contains it.
    let windows = g.kernel.div_ceil(g.stride).pow(2);
    let mut row = p.compare("", &dx, &p.cpu.download(&scale)?, 0.0, tol_sum(windows))?;
    row.kernel = format!("{}_backward", p.kernel);
    rows.push(row);
    Ok(rows)
}

fn upsample_case(p: &mut Pair, g: UpsampleGeom) -> Result<Vec<Row>> {
    let x = p.input(g.in_len(), -1.0, 1.0, "x")?;
    let y = p.output(g.out_len(), "y")?;
    p.gpu.upsample2d(&x.gpu, &y.gpu, g)?;
    p.cpu_run(|c| c.upsample2d(&x.cpu, &y.cpu, g))?;
    let mut rows = vec![exact_row(p, "", &y, false)?];

    let dy_data = p.uniform(g.out_len(), -1.0, 1.0);
    let dy = p.both(&dy_data, "dy")?;
    let dx = p.output(g.in_len(), "dx")?;
    p.gpu.upsample2d_backward(&dy.gpu, &dx.gpu, g)?;
    p.cpu_run(|c| c.upsample2d_backward(&dy.cpu, &dx.cpu, g))?;
    let scale = p.cpu.zeros(g.in_len(), "scale")?;
    p.cpu_run(|c| c.upsample2d_backward(&c.upload(&abs(&dy_data), "|dy|")?, &scale, g))?;
    let mut row = p.compare("", &dx, &p.cpu.download(&scale)?, 0.0, tol_sum(g.scale * g.scale))?;
    row.kernel = format!("{}_backward", p.kernel);
    rows.push(row);
    Ok(rows)
}

// ---- contractive ---------------------------------------------------------------------

/// `(f'(z), f''(z))` in f64 (for the error scales only), from `e = exp(-|z|)` as the
/// kernels do, so that saturated units keep their size.
fn derivs64(act: Activation, z: f64) -> (f64, f64) {
    let sign = if z > 0.0 { -1.0 } else { 1.0 };
    match act {
        Activation::Identity => (1.0, 0.0),
        Activation::Sigmoid => {
            let e = (-z.abs()).exp();
            let d = e / (1.0 + e).powi(2);
            (d, sign * d * (1.0 - e) / (1.0 + e))
        }
        Activation::Tanh => {
            let e = (-2.0 * z.abs()).exp();
            let d = 4.0 * e / (1.0 + e).powi(2);
            (d, sign * 2.0 * d * (1.0 - e) / (1.0 + e))
        }
        Activation::Relu => ((z > 0.0) as u8 as f64, 0.0),
        Activation::LeakyRelu => (if z > 0.0 { 1.0 } else { crate::backend::LEAKY_RELU_SLOPE as f64 }, 0.0),
    }
}

/// Relative error of `f'(z)^2` and of `f'(z) f''(z)` on either side for |z| <= `z_max`:
/// both come from `exp(-|z|)` or `exp(-2|z|)` (Vulkan: within 3 + 2|x| ulps) and a handful
/// of roundings, each relative, so the products are accurate relative to themselves even
/// on saturated units (the `s(1-s)` / `1-t^2` forms were not: 1.8% off at z = 12, 0 past
/// 17). Squares and products double the exp term.
fn act_eval(z_max: f64) -> f64 {
    2.0 * (3.0 + 4.0 * z_max + 8.0) * EPS
}

/// Values below f32's normal range may be flushed to 0 by a GPU at each product: an
/// absolute error of `MIN_POSITIVE` times the factors that follow, judged against `tol`.
fn flush_floor(tol: f64) -> f64 {
    f32::MIN_POSITIVE as f64 / tol
}

/// Per hidden unit j: `s_j = sum_i W_ji^2` and `c_j = sum_r f'(z_rj)^2` (positive terms,
/// so each sum is the size of its terms).
fn contractive_sizes(act: Activation, z: &[f32], w: &[f32], rows: usize, hidden: usize) -> (Vec<f64>, Vec<f64>) {
    let inputs = w.len() / hidden.max(1);
    let s = (0..hidden).map(|j| w[j * inputs..][..inputs].iter().map(|&v| (v as f64).powi(2)).sum()).collect();
    let c = (0..hidden).map(|j| (0..rows).map(|r| derivs64(act, z[r * hidden + j] as f64).0.powi(2)).sum()).collect();
    (s, c)
}

/// The penalty and both gradients on z drawn from [-z_max, z_max]. Every scale is the
/// size of the output's own terms (f' from f64), so the comparison is relative wherever
/// f32 can hold the value; `accumulate` starts dz and dW from random values (the `+=`),
/// otherwise from 0, so that tiny saturated terms are not hidden behind them.
fn contractive_case(
    p: &mut Pair,
    act: Activation,
    (rows, hidden, inputs): (usize, usize, usize),
    z_max: f32,
    accumulate: bool,
) -> Result<Vec<Row>> {
    let z_data = p.uniform(rows * hidden, -z_max, z_max);
    let w_data = p.uniform(hidden * inputs, -1.0, 1.0);
    let z = p.both(&z_data, "z")?;
    let w = p.both(&w_data, "W")?;
    let (s, c) = contractive_sizes(act, &z_data, &w_data, rows, hidden);
    let eval = act_eval(z_max as f64);

    let out = p.output(1, "out")?;
    p.gpu.contractive_penalty(act, &z.gpu, &w.gpu, &out.gpu, rows, hidden, inputs)?;
    p.cpu_run(|cb| cb.contractive_penalty(act, &z.cpu, &w.cpu, &out.cpu, rows, hidden, inputs))?;
    let tol = tol_sum(inputs) + tol_sum(rows) + tol_sum(hidden) + eval;
    let pen_scale = s.iter().zip(&c).map(|(s, c)| s * c).sum::<f64>() / rows as f64;
    let mut penalty = p.compare("", &out, &[pen_scale as f32], flush_floor(tol), tol)?;
    penalty.kernel = "contractive_penalty".into();

    let dout = p.uniform(1, 0.5, 2.0)[0];
    let dout_buf = p.both(&[dout], "dout")?;
    let old = |p: &mut Pair, n| if accumulate { p.uniform(n, -1.0, 1.0) } else { vec![0.0; n] };
    let dz_old = old(p, rows * hidden);
    let dw_old = old(p, hidden * inputs);
    let dz = p.both(&dz_old, "dz")?;
    let dw = p.both(&dw_old, "dW")?;
    p.gpu.contractive_backward(act, &z.gpu, &w.gpu, &dout_buf.gpu, &dz.gpu, &dw.gpu, rows, hidden, inputs)?;
    p.cpu_run(|cb| {
        cb.contractive_backward(act, &z.cpu, &w.cpu, &dout_buf.cpu, &dz.cpu, &dw.cpu, rows, hidden, inputs)
    })?;
    let k = 2.0 * dout as f64 / rows as f64;
    let dz_term = |i: usize| {
        let (d, dd) = derivs64(act, z_data[i] as f64);
        k * s[i % hidden] * (d * dd).abs()
    };
    let dz_scale: Vec<f32> = (0..rows * hidden).map(|i| (dz_old[i].abs() as f64 + dz_term(i)) as f32).collect();
    let dw_scale: Vec<f32> = (0..hidden * inputs)
        .map(|i| (dw_old[i].abs() as f64 + k * (w_data[i].abs() as f64) * c[i / inputs]) as f32)
        .collect();
    // The dz floor carries the factors after a flushed product (k s_j, up to 2 * inputs).
    let (dz_tol, dw_tol) = (tol_sum(inputs) + eval, tol_sum(rows) + eval);
    let dz_floor = flush_floor(dz_tol) * (k * inputs as f64).max(1.0);
    let mut dz_row = p.compare("dz", &dz, &dz_scale, dz_floor, dz_tol)?;
    let mut dw_row = p.compare("dw", &dw, &dw_scale, flush_floor(dw_tol), dw_tol)?;
    dz_row.kernel = "contractive_backward.dz".into();
    dw_row.kernel = "contractive_backward.dw".into();
    Ok(vec![penalty, dz_row, dw_row])
}

/// The conv-family and contractive cases.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let conv = |batch, channels, height, width, kernel_h, kernel_w, stride, padding, dilation| {
        ConvGeom::square(batch, channels, height, width, (kernel_h, kernel_w), stride, padding, dilation)
    };
    // Stride, padding and dilation that differ between the axes.
    let axes = |g: ConvGeom, stride_w, pad_w, dil_w| ConvGeom { stride_w, pad_w, dil_w, ..g };
    let convs = [
        conv(1, 1, 7, 7, 3, 3, 1, 1, 1),                 // "same" 3x3
        conv(3, 3, 5, 9, 2, 3, 2, 0, 1),                 // rectangular image and kernel, even tap count
        conv(3, 16, 7, 7, 3, 3, 2, 1, 2),                // dilation, stride and padding together
        conv(1, 3, 28, 28, 1, 1, 2, 0, 1),               // 1x1 stride 2: col2im leaves gaps of zeros
        conv(3, 1, 28, 28, 3, 3, 1, 1, 1),               // an MNIST first layer
        conv(1, 16, 5, 9, 3, 2, 1, 1, 2),                // dilated rectangular kernel, dilation > pad
        conv(3, 3, 7, 7, 2, 2, 2, 0, 1),                 // kernel = stride: conv-transpose upsampling
        conv(1, 1, 1, 1, 3, 3, 1, 1, 1),                 // a 1x1 image: every tap but one is padding
        axes(conv(2, 3, 9, 11, 3, 5, 2, 1, 1), 3, 2, 2), // per-axis stride 2x3, padding, dilation
        axes(conv(1, 5, 13, 7, 3, 1, 1, 0, 2), 2, 0, 1), // 3x1 kernel, stride 1x2, dilation 2x1
    ];
    for g in convs {
        let s = conv_shape(&g);
        v.push(Case::new("im2col", s.clone(), move |p| im2col_case(p, g)));
        v.push(Case::new("col2im", s.clone(), move |p| col2im_case(p, g, false)));
        v.push(Case::new("col2im", format!("{s} acc"), move |p| col2im_case(p, g, true)));
    }
    for (a, b, inner) in [(1, 1, 1), (3, 16, 49), (16, 3, 45), (7, 1, 13), (5, 9, 1)] {
        v.push(Case::new("swap_leading_axes", format!("{a}x{b}x{inner}"), move |p| swap_case(p, a, b, inner)));
    }

    let pool = |batch, channels, height, width, kernel, stride, padding, ceil_mode| PoolGeom {
        batch,
        channels,
        height,
        width,
        kernel,
        stride,
        padding,
        ceil_mode,
    };
    let pools = [
        (pool(1, 1, 7, 7, 2, 2, 0, true), false), // ceil mode: 7 -> 4, last window clipped
        (pool(3, 3, 7, 7, 2, 2, 0, false), false), // floor: 7 -> 3
        (pool(3, 16, 5, 9, 3, 2, 1, false), false),
        (pool(1, 3, 28, 28, 2, 2, 0, false), false),
        (pool(3, 1, 5, 9, 3, 1, 1, false), false), // stride 1: one input wins many windows
        (pool(1, 3, 7, 7, 3, 2, 1, true), false),  // ceil with padding
        (pool(1, 1, 5, 9, 1, 1, 0, false), false), // 1x1 windows
        (pool(1, 1, 5, 5, 2, 3, 2, false), false), // first window wholly in the padding
        (pool(3, 3, 7, 7, 3, 2, 1, false), true),  // NaN inputs propagate
    ];
    for (g, nan) in pools {
        let s = format!("{}{}", pool_shape(&g), if nan { " nan" } else { "" });
        v.push(Case::new("max_pool2d", s, move |p| max_pool_case(p, g, nan)));
    }
    for (batch, channels, height, width, scale) in
        [(1, 1, 7, 7, 2), (3, 3, 5, 9, 3), (3, 16, 7, 7, 1), (1, 3, 14, 14, 2)]
    {
        let g = UpsampleGeom { batch, channels, height, width, scale };
        let s = format!("n{batch} c{channels} {height}x{width} x{scale}");
        v.push(Case::new("upsample2d", s, move |p| upsample_case(p, g)));
    }

    let acts = [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu];
    // 300 rows and 600 inputs make the stats pass loop past its 256-wide workgroup.
    for dims @ (rows, hidden, inputs) in [(1, 1, 1), (7, 13, 17), (33, 64, 97), (1, 64, 17), (33, 1, 97), (300, 5, 600)]
    {
        for act in acts {
            v.push(Case::new("contractive", format!("{rows}x{hidden}x{inputs} {}", act.name()), move |p| {
                contractive_case(p, act, dims, 4.0, true)
            }));
        }
    }
    // Saturated units: z in [-30, 30], gradients accumulated onto 0 so that the tails are
    // judged relative to themselves.
    for dims @ (rows, hidden, inputs) in [(7, 13, 17), (300, 5, 600)] {
        for act in [Activation::Sigmoid, Activation::Tanh] {
            let shape = format!("{rows}x{hidden}x{inputs} {} z in [-30,30]", act.name());
            v.push(Case::new("contractive", shape, move |p| contractive_case(p, act, dims, 30.0, false)));
        }
    }
    v
}
