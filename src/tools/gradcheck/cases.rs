//! The gradcheck case list: one small random problem per differentiable op and variant,
//! with inputs sampled away from kinks (relu at 0, max-pool ties) by more than
//! [`super::EPS`], so no finite difference straddles one.

use super::{input, uniform, Case, Input, OpFn};
use crate::autodiff::ops::{self, ConvParams};
use crate::backend::prelude::*;
use crate::backend::{Activation, Loss};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Uniform in [-1, 1] but at least `gap` away from 0 (away from relu's kink).
fn away_from_zero(rng: &mut StdRng, n: usize, gap: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let v: f32 = rng.random_range(gap..1.0);
            if rng.random::<bool>() {
                v
            } else {
                -v
            }
        })
        .collect()
}

/// Distinct values spaced 0.05 apart in random order: max-pool windows have a clear winner.
fn distinct(rng: &mut StdRng, n: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
    for i in (1..n).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
    v
}

/// `x: [rows, inp]`, `W: [out, inp]`, `b: [out]` uniform in [-1, 1], redrawn until every
/// pre-activation `z = x W^T + b` is at least `gap` away from 0. A probe moves one input
/// by at most EPS, so `z` by at most EPS (every |x|, |W| <= 1): with `gap` > EPS no finite
/// difference straddles the kink of relu / leaky relu.
fn linear_away_from_kink(rng: &mut StdRng, rows: usize, inp: usize, out: usize, gap: f64) -> [Vec<f32>; 3] {
    loop {
        let (x, w, b) =
            (uniform(rng, rows * inp, -1.0, 1.0), uniform(rng, out * inp, -1.0, 1.0), uniform(rng, out, -1.0, 1.0));
        let clear = (0..rows * out).all(|idx| {
            let (r, j) = (idx / out, idx % out);
            let z: f64 = b[j] as f64 + (0..inp).map(|i| x[r * inp + i] as f64 * w[j * inp + i] as f64).sum::<f64>();
            z.abs() >= gap
        });
        if clear {
            return [x, w, b];
        }
    }
}

fn one_hot_rows(rng: &mut StdRng, rows: usize, classes: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * classes];
    for r in 0..rows {
        t[r * classes + rng.random_range(0..classes)] = 1.0;
    }
    t
}

/// The tolerance of each op's rows. With Richardson extrapolation the truncation error is
/// O(eps^4) and below the rounding noise for every op here except BCE's steep curvature;
/// the noise is about `u |out| / eps` per output an input feeds (u = 6e-8, the f32
/// rounding of each output, the step eps/2 = 5e-3), so it grows with the number of terms
/// summed into an output and the curvature of the op. Each bound is about 5-10x the worst
/// error seen over seeds 0 and 1 on the CPU (in brackets) and far below the O(0.1..1)
/// error of a wrong formula (a dropped factor 2 is 0.5). docs/BACKPROP.md has the method.
fn tolerance(op: &str) -> f64 {
    match op {
        // Data movement: the outputs are the inputs, so L moves by exactly R * step [1e-7].
        "reshape" | "upsample2d" | "max_pool2d" => 1e-5,
        // One rounding per output, one output per input element [8e-6].
        "add" | "mul" | "scale" | "bias_add" => 1e-4,
        // Elementwise transcendental or a short reduction [5e-5; reparameterize 5.9e-5].
        "activation" | "bias_activation" | "sum_all" | "mean_rows" | "kl_sparsity" | "reparameterize" => 5e-4,
        // A scalar sum of |x| over every element: its rounding is shared by all [1e-4].
        "l1_penalty" => 1e-3,
        // Sums of k products per output, each input feeding many outputs [3e-4].
        "linear" | "matmul" | "conv2d" | "conv_transpose2d" => 2e-3,
        // The same through a nonlinearity, or the penalty's sums of squared
        // derivatives [1.2e-3]; the losses are scalars over all elements and BCE has
        // f''' = 2/p^3 near p = 0.1 [1.9e-3]; the Gaussian KL is such a scalar too, its mu
        // gradients (mu / rows) small next to the rounding of its O(5) value [9.6e-4].
        "linear_activation"
        | "conv2d_activation"
        | "conv_transpose2d_activation"
        | "contractive_penalty"
        | "loss"
        | "gaussian_kl" => 6e-3,
        other => panic!("gradcheck: no tolerance for op '{other}': add one with its reason"),
    }
}

pub(super) fn all_cases<B: Backend>(seed: u64) -> Vec<Case<B>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let r = &mut rng;
    let mut cases: Vec<Case<B>> = Vec::new();
    let mut add = |op: String, inputs: Vec<Input>, f: OpFn<B>| {
        let tol = tolerance(super::base_name(&op));
        cases.push(Case { op, inputs, f, tol })
    };

    add(
        "linear".into(),
        vec![
            input("x", &[5, 7], uniform(r, 35, -1.0, 1.0), true),
            input("W", &[3, 7], uniform(r, 21, -1.0, 1.0), true),
            input("b", &[3], uniform(r, 3, -1.0, 1.0), true),
        ],
        Box::new(|t, v| ops::linear(t, v[0], v[1], v[2])),
    );
    // The fused layer, projecting h = f(x W^T + b) (z's node carries linear's backward).
    for act in [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu] {
        let [x, w, b] = linear_away_from_kink(r, 5, 7, 3, 0.05);
        add(
            format!("linear_activation({})", act.name()),
            vec![input("x", &[5, 7], x, true), input("W", &[3, 7], w, true), input("b", &[3], b, true)],
            Box::new(move |t, v| Ok(ops::linear_activation(t, v[0], v[1], v[2], act)?.1)),
        );
    }
    // Both outputs used (as z is by the contractive penalty): z's gradient is its own plus
    // the one through h.
    let [x, w, b] = linear_away_from_kink(r, 4, 6, 5, 0.05);
    add(
        "linear_activation(tanh, z + h)".into(),
        vec![input("x", &[4, 6], x, true), input("W", &[5, 6], w, true), input("b", &[5], b, true)],
        Box::new(|t, v| {
            let (z, h) = ops::linear_activation(t, v[0], v[1], v[2], Activation::Tanh)?;
            ops::add(t, z, h)
        }),
    );
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let (m, k, n) = (4, 6, 5);
        let ashape = if ta { [k, m] } else { [m, k] };
        let bshape = if tb { [n, k] } else { [k, n] };
        add(
            format!("matmul(ta={ta},tb={tb})"),
            vec![
                input("A", &ashape, uniform(r, m * k, -1.0, 1.0), true),
                input("B", &bshape, uniform(r, k * n, -1.0, 1.0), true),
            ],
            Box::new(move |t, v| ops::matmul(t, v[0], v[1], ta, tb)),
        );
    }
    for act in [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu] {
        add(
            format!("activation({})", act.name()),
            vec![input("x", &[3, 11], away_from_zero(r, 33, 0.05), true)],
            Box::new(move |t, v| ops::activation(t, v[0], act)),
        );
    }
    add(
        "add".into(),
        vec![
            input("a", &[2, 9], uniform(r, 18, -1.0, 1.0), true),
            input("b", &[2, 9], uniform(r, 18, -1.0, 1.0), true),
        ],
        Box::new(|t, v| ops::add(t, v[0], v[1])),
    );
    add(
        "mul".into(),
        vec![
            input("a", &[2, 9], uniform(r, 18, -1.0, 1.0), true),
            input("b", &[2, 9], uniform(r, 18, -1.0, 1.0), true),
        ],
        Box::new(|t, v| ops::mul(t, v[0], v[1])),
    );
    add(
        "scale".into(),
        vec![input("x", &[13], uniform(r, 13, -1.0, 1.0), true)],
        Box::new(|t, v| ops::scale(t, v[0], -1.7)),
    );
    add(
        "sum_all".into(),
        vec![input("x", &[4, 5], uniform(r, 20, -1.0, 1.0), true)],
        Box::new(|t, v| ops::sum_all(t, v[0])),
    );
    add(
        "mean_rows".into(),
        vec![input("x", &[6, 5], uniform(r, 30, -1.0, 1.0), true)],
        Box::new(|t, v| ops::mean_rows(t, v[0])),
    );
    add(
        "bias_add".into(),
        vec![input("x", &[2, 3, 5], uniform(r, 30, -1.0, 1.0), true), input("b", &[3], uniform(r, 3, -1.0, 1.0), true)],
        Box::new(|t, v| ops::bias_add(t, v[0], v[1], 2, 3, 5)),
    );
    for act in [Activation::Tanh, Activation::Relu] {
        // x = z - b with z away from relu's kink.
        let b = uniform(r, 3, -1.0, 1.0);
        let z = away_from_zero(r, 30, 0.05);
        let x: Vec<f32> = z.iter().enumerate().map(|(i, v)| v - b[(i / 5) % 3]).collect();
        add(
            format!("bias_activation({})", act.name()),
            vec![input("x", &[2, 3, 5], x, true), input("b", &[3], b, true)],
            Box::new(move |t, v| Ok(ops::bias_activation(t, v[0], v[1], 2, 3, 5, act)?.1)),
        );
    }
    let (rows, cols) = (4, 7);
    let losses: [(Loss, Vec<f32>, Vec<f32>); 4] = [
        (Loss::Mse, uniform(r, rows * cols, -1.0, 1.0), uniform(r, rows * cols, -1.0, 1.0)),
        (Loss::Bce, uniform(r, rows * cols, 0.1, 0.9), uniform(r, rows * cols, 0.0, 1.0)),
        (Loss::BceWithLogits, uniform(r, rows * cols, -3.0, 3.0), uniform(r, rows * cols, 0.0, 1.0)),
        (Loss::SoftmaxCrossEntropy, uniform(r, rows * cols, -2.0, 2.0), one_hot_rows(r, rows, cols)),
    ];
    for (loss, pred, target) in losses {
        add(
            format!("loss({})", loss.name()),
            vec![input("pred", &[rows, cols], pred, true), input("target", &[rows, cols], target, false)],
            Box::new(move |t, v| {
                let target = t.value(v[1]);
                ops::loss(t, v[0], &target, loss)
            }),
        );
    }
    add(
        "l1_penalty".into(),
        vec![input("x", &[3, 8], away_from_zero(r, 24, 0.05), true)],
        Box::new(|t, v| ops::l1_penalty(t, v[0])),
    );
    add(
        "kl_sparsity".into(),
        vec![input("rho_hat", &[9], uniform(r, 9, 0.1, 0.9), true)],
        Box::new(|t, v| ops::kl_sparsity(t, v[0], 0.05)),
    );
    for act in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
        let (rows, hidden, inputs) = (3, 5, 4);
        add(
            format!("contractive_penalty({})", act.name()),
            vec![
                input("z", &[rows, hidden], away_from_zero(r, rows * hidden, 0.05), true),
                input("W", &[hidden, inputs], uniform(r, hidden * inputs, -1.0, 1.0), true),
            ],
            Box::new(move |t, v| ops::contractive_penalty(t, v[0], v[1], act)),
        );
    }
    // (batch, in_ch, out_ch, h, w, kernel, stride, padding, dilation)
    for (n, c, oc, h, w, k, s, p, d) in [
        (2, 1, 3, 5, 5, 3, 1, 1, 1),
        (1, 2, 2, 7, 6, 3, 2, 1, 1),
        (2, 4, 3, 6, 5, 2, 1, 0, 1),
        (1, 2, 2, 7, 7, 3, 1, 2, 2),
    ] {
        add(
            format!("conv2d(k={k},s={s},p={p},d={d})"),
            vec![
                input("x", &[n, c, h, w], uniform(r, n * c * h * w, -1.0, 1.0), true),
                input("W", &[oc, c, k, k], uniform(r, oc * c * k * k, -1.0, 1.0), true),
                input("b", &[oc], uniform(r, oc, -1.0, 1.0), true),
            ],
            Box::new(move |t, v| ops::conv2d(t, v[0], v[1], v[2], ConvParams::square(s, p, d, 0))),
        );
    }
    for (n, ci, co, h, w, k, s, p, op) in
        [(2, 2, 3, 3, 4, 3, 2, 1, 1), (1, 3, 2, 4, 4, 3, 1, 1, 0), (1, 1, 2, 3, 3, 2, 2, 0, 0)]
    {
        add(
            format!("conv_transpose2d(k={k},s={s},p={p},op={op})"),
            vec![
                input("x", &[n, ci, h, w], uniform(r, n * ci * h * w, -1.0, 1.0), true),
                input("W", &[ci, co, k, k], uniform(r, ci * co * k * k, -1.0, 1.0), true),
                input("b", &[co], uniform(r, co, -1.0, 1.0), true),
            ],
            Box::new(move |t, v| ops::conv_transpose2d(t, v[0], v[1], v[2], ConvParams::square(s, p, 1, op))),
        );
    }
    // Per-axis geometry: (h, w) strides, paddings, dilations and a non-square kernel.
    let per_axis = ConvParams { stride: (2, 1), padding: (1, 0), dilation: (1, 2), output_padding: (0, 0) };
    add(
        "conv2d(k=3x2,s=2x1,p=1x0,d=1x2)".into(),
        vec![
            input("x", &[2, 2, 7, 6], uniform(r, 168, -1.0, 1.0), true),
            input("W", &[3, 2, 3, 2], uniform(r, 36, -1.0, 1.0), true),
            input("b", &[3], uniform(r, 3, -1.0, 1.0), true),
        ],
        Box::new(move |t, v| ops::conv2d(t, v[0], v[1], v[2], per_axis)),
    );
    let per_axis_t = ConvParams { stride: (1, 3), padding: (0, 1), dilation: (2, 1), output_padding: (0, 2) };
    add(
        "conv_transpose2d(k=2x3,s=1x3,p=0x1,d=2x1,op=0x2)".into(),
        vec![
            input("x", &[1, 2, 4, 3], uniform(r, 24, -1.0, 1.0), true),
            input("W", &[2, 3, 2, 3], uniform(r, 36, -1.0, 1.0), true),
            input("b", &[3], uniform(r, 3, -1.0, 1.0), true),
        ],
        Box::new(move |t, v| ops::conv_transpose2d(t, v[0], v[1], v[2], per_axis_t)),
    );
    // The fused conv layers (smooth activations: their pre-activations are not steered
    // away from a kink; relu's backward is covered by linear_activation above).
    let conv = ConvParams::square(2, 1, 1, 0);
    add(
        "conv2d_activation(sigmoid)".into(),
        vec![
            input("x", &[2, 2, 6, 5], uniform(r, 120, -1.0, 1.0), true),
            input("W", &[3, 2, 3, 3], uniform(r, 54, -1.0, 1.0), true),
            input("b", &[3], uniform(r, 3, -1.0, 1.0), true),
        ],
        Box::new(move |t, v| Ok(ops::conv2d_activation(t, v[0], v[1], v[2], conv, Activation::Sigmoid)?.1)),
    );
    let convt = ConvParams { output_padding: (1, 1), ..conv };
    add(
        "conv_transpose2d_activation(tanh)".into(),
        vec![
            input("x", &[2, 2, 3, 4], uniform(r, 48, -1.0, 1.0), true),
            input("W", &[2, 3, 3, 3], uniform(r, 54, -1.0, 1.0), true),
            input("b", &[3], uniform(r, 3, -1.0, 1.0), true),
        ],
        Box::new(move |t, v| Ok(ops::conv_transpose2d_activation(t, v[0], v[1], v[2], convt, Activation::Tanh)?.1)),
    );
    for (n, c, h, w, k, s, p, ceil) in
        [(2, 3, 6, 6, 2, 2, 0, false), (1, 2, 7, 7, 2, 2, 0, true), (1, 2, 7, 5, 3, 2, 1, false)]
    {
        add(
            format!("max_pool2d(k={k},s={s},p={p},ceil={ceil})"),
            vec![input("x", &[n, c, h, w], distinct(r, n * c * h * w), true)],
            Box::new(move |t, v| ops::max_pool2d(t, v[0], k, s, p, ceil)),
        );
    }
    for scale in [2, 3] {
        add(
            format!("upsample2d(scale={scale})"),
            vec![input("x", &[2, 2, 3, 4], uniform(r, 48, -1.0, 1.0), true)],
            Box::new(move |t, v| ops::upsample2d(t, v[0], scale)),
        );
    }
    add(
        "reshape".into(),
        vec![input("x", &[2, 6], uniform(r, 12, -1.0, 1.0), true)],
        Box::new(|t, v| ops::reshape(t, v[0], [3, 4])),
    );
    // The VAE's ops (last, so the draws of the cases above stay as they were). The noise
    // is a fixed constant input, as in training where it is drawn before the step.
    let (rows, latent) = (4, 5);
    add(
        "reparameterize".into(),
        vec![
            input("mu", &[rows, latent], uniform(r, rows * latent, -1.5, 1.5), true),
            input("logvar", &[rows, latent], uniform(r, rows * latent, -2.0, 2.0), true),
            input("eps", &[rows, latent], uniform(r, rows * latent, -2.0, 2.0), false),
        ],
        Box::new(|t, v| {
            let eps = t.value(v[2]);
            ops::reparameterize(t, v[0], v[1], &eps)
        }),
    );
    add(
        "gaussian_kl".into(),
        vec![
            input("mu", &[rows, latent], uniform(r, rows * latent, -1.5, 1.5), true),
            input("logvar", &[rows, latent], uniform(r, rows * latent, -2.0, 2.0), true),
        ],
        Box::new(|t, v| ops::gaussian_kl(t, v[0], v[1])),
    );
    cases
}
