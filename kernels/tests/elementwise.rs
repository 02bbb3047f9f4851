//! reduce.rs and activation.rs: every SIMD level against the scalar spec on awkward lengths,
//! the scalar spec against f64 math, and activation backward against finite differences.

mod kernel_util;

use autoenc_kernels::activation::{self as act, Activation, LEAKY_RELU_SLOPE};
use autoenc_kernels::reduce;
use autoenc_kernels::SimdLevel;
use kernel_util::*;

const ACTIVATIONS: [Activation; 5] =
    [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu];

/// Exact ops (one IEEE rounding per op, same op order at every level): the levels agree to
/// rounding; in fact bit for bit.
const EXACT_REL: f64 = 1e-6;
/// One f32 rounding of an exactly computed value is at most 2^-24 relative.
const ROUND_REL: f64 = 6.0e-8;
/// The vector exp/tanh (Cephes polynomials) against libm's: a few ulp. The worst measured
/// over a 4M-point sweep of [-100, 100] was 2.2e-7 (sigmoid and tanh, both levels).
const APPROX_REL: f64 = 5e-7;
/// Outputs below the normal range (sigmoid(x < -87)) flush to 0 in the vector exp.
const FLUSH_ABS: f64 = 1.2e-38;

// ---- elementwise arithmetic --------------------------------------------------------------

#[test]
fn elementwise_ops_every_level_match_scalar() {
    let mut rng = rng(1);
    for n in LENS {
        let (a, b) = (rand_vec(&mut rng, n, -3.0, 3.0), rand_vec(&mut rng, n, -3.0, 3.0));
        let alpha = 0.37f32;
        let mut want = vec![vec![0.0f32; n]; 4];
        reduce::add_scalar(&a, &b, &mut want[0]);
        reduce::mul_scalar(&a, &b, &mut want[1]);
        reduce::scale_scalar(&a, alpha, &mut want[2]);
        want[3].copy_from_slice(&b);
        reduce::axpy_scalar(alpha, &a, &mut want[3]);
        for level in simd_levels() {
            let mut got = vec![vec![f32::NAN; n]; 4];
            reduce::add_with(level, &a, &b, &mut got[0]);
            reduce::mul_with(level, &a, &b, &mut got[1]);
            reduce::scale_with(level, &a, alpha, &mut got[2]);
            got[3].copy_from_slice(&b);
            reduce::axpy_with(level, alpha, &a, &mut got[3]);
            for (name, (g, w)) in ["add", "mul", "scale", "axpy"].iter().zip(got.iter().zip(&want)) {
                assert_close32(&format!("{name} {} n={n}", level.name()), g, w, EXACT_REL, 0.0);
            }
        }
    }
}

/// The twins of reduce.wgsl's `fill`, `copy` and `scale_by_scalar`: `scale_by_scalar` is
/// `scale` by the factor `alpha * s` rounded once (what the shader computes).
#[test]
fn fill_copy_scale_by_scalar_match_definitions() {
    let mut rng = rng(3);
    for n in LENS {
        let x = rand_vec(&mut rng, n, -3.0, 3.0);
        let (s, alpha) = (1.7f32, 0.37f32);
        let mut want = vec![0.0f32; n];
        reduce::scale_scalar(&x, alpha * s, &mut want);
        let mut got = vec![f32::NAN; n];
        reduce::scale_by_scalar_scalar(&x, s, alpha, &mut got);
        assert_close32(&format!("scale_by_scalar_scalar n={n}"), &got, &want, 0.0, 0.0);
        let mut got = vec![f32::NAN; n];
        reduce::scale_by_scalar(&x, s, alpha, &mut got);
        assert_close32(&format!("scale_by_scalar n={n}"), &got, &want, EXACT_REL, 0.0);
        let mut out = vec![f32::NAN; n + 3];
        reduce::fill(&mut out, 2.5);
        assert!(out.iter().all(|&v| v == 2.5), "fill n={n}");
        reduce::copy(&x, &mut out);
        assert_eq!(&out[..n], &x[..], "copy n={n}");
        assert!(out[n..].iter().all(|&v| v == 2.5), "copy leaves the tail, n={n}");
    }
}

#[test]
fn elementwise_scalar_matches_f64() {
    let mut rng = rng(2);
    let n = 4099;
    let (a, b) = (rand_vec(&mut rng, n, -3.0, 3.0), rand_vec(&mut rng, n, -3.0, 3.0));
    let (a64, b64) = (to_f64(&a), to_f64(&b));
    let alpha = 0.37f32;
    let mut out = vec![0.0; n];
    reduce::add_scalar(&a, &b, &mut out);
    let want: Vec<f64> = a64.iter().zip(&b64).map(|(x, y)| x + y).collect();
    assert_close("add", &out, &want, ROUND_REL, 0.0);
    reduce::mul_scalar(&a, &b, &mut out);
    let want: Vec<f64> = a64.iter().zip(&b64).map(|(x, y)| x * y).collect();
    assert_close("mul", &out, &want, ROUND_REL, 0.0);
    reduce::scale_scalar(&a, alpha, &mut out);
    let want: Vec<f64> = a64.iter().map(|x| alpha as f64 * x).collect();
    assert_close("scale", &out, &want, ROUND_REL, 0.0);
    // axpy rounds twice; bound each element by 2^-23 of |y| + |alpha x|.
    out.copy_from_slice(&b);
    reduce::axpy_scalar(alpha, &a, &mut out);
    for i in 0..n {
        let (x, y) = (a64[i], b64[i]);
        let want = y + alpha as f64 * x;
        let tol = 1.2e-7 * (y.abs() + (alpha as f64 * x).abs());
        assert!((out[i] as f64 - want).abs() <= tol, "axpy element {i}: {} vs {want}", out[i]);
    }
}

// ---- bias add / bias grad / sum_all ------------------------------------------------------

/// `(outer, channels, inner)`: dense (`inner == 1`) and conv planes of awkward sizes.
const BIAS_SHAPES: [(usize, usize, usize); 12] = [
    (1, 1, 1),
    (2, 7, 1),
    (3, 13, 1),
    (5, 17, 1),
    (4, 257, 1),
    (2, 3, 15),
    (2, 3, 16),
    (3, 2, 17),
    (1, 5, 97),
    (7, 4, 2),
    (0, 3, 4),
    (2, 5, 0),
];

#[test]
fn bias_add_every_level_matches_scalar_and_f64() {
    let mut rng = rng(3);
    for (outer, channels, inner) in BIAS_SHAPES {
        let n = outer * channels * inner;
        let (x, bias) = (rand_vec(&mut rng, n, -2.0, 2.0), rand_vec(&mut rng, channels, -2.0, 2.0));
        let mut want = vec![f32::NAN; n];
        reduce::bias_add_scalar(&x, &bias, &mut want, outer, channels, inner);
        let exact: Vec<f64> = (0..n).map(|i| x[i] as f64 + bias[(i / inner) % channels] as f64).collect();
        assert_close(&format!("bias_add scalar {outer}x{channels}x{inner}"), &want, &exact, ROUND_REL, 0.0);
        for level in simd_levels() {
            let mut got = vec![f32::NAN; n];
            reduce::bias_add_with(level, &x, &bias, &mut got, outer, channels, inner);
            let what = format!("bias_add {} {outer}x{channels}x{inner}", level.name());
            assert_close32(&what, &got, &want, EXACT_REL, 0.0);
        }
    }
}

/// f64 sums rounded once: every level is within 1 ulp-ish of the exact sum, relative to the
/// sum of magnitudes (the sums here are of mixed signs).
fn sum_tol(terms: impl Iterator<Item = f64>) -> f64 {
    1.2e-7 * terms.map(f64::abs).sum::<f64>() + 1e-30
}

#[test]
fn bias_grad_every_level_matches_scalar_and_f64() {
    let mut rng = rng(4);
    for (outer, channels, inner) in BIAS_SHAPES {
        let n = outer * channels * inner;
        let dy = rand_vec(&mut rng, n, -2.0, 2.0);
        let old = rand_vec(&mut rng, channels, -2.0, 2.0);
        for accumulate in [false, true] {
            let exact: Vec<f64> = (0..channels)
                .map(|c| {
                    let s: f64 = (0..n).filter(|i| (i / inner) % channels == c).map(|i| dy[i] as f64).sum();
                    s + if accumulate { old[c] as f64 } else { 0.0 }
                })
                .collect();
            let mag = sum_tol(dy.iter().chain(&old).map(|&v| v as f64));
            let mut want = old.clone();
            reduce::bias_grad_scalar(&dy, &mut want, outer, channels, inner, accumulate);
            let what = format!("bias_grad scalar {outer}x{channels}x{inner} acc={accumulate}");
            assert_close(&what, &want, &exact, 0.0, mag);
            for level in simd_levels() {
                let mut got = old.clone();
                reduce::bias_grad_with(level, &dy, &mut got, outer, channels, inner, accumulate);
                let what = format!("bias_grad {} {outer}x{channels}x{inner} acc={accumulate}", level.name());
                assert_close(&what, &got, &exact, 0.0, mag);
            }
        }
    }
}

#[test]
fn sum_all_every_level_matches_f64() {
    let mut rng = rng(5);
    for n in LENS.into_iter().chain([0, 100_003]) {
        let x = rand_vec(&mut rng, n, -1.0, 1.0);
        let exact: f64 = x.iter().map(|&v| v as f64).sum();
        let tol = sum_tol(x.iter().map(|&v| v as f64));
        for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
            let got = reduce::sum_all_with(level, &x);
            assert!((got as f64 - exact).abs() <= tol, "sum_all {} n={n}: {got} vs {exact}", level.name());
        }
    }
}

/// A long sum where naive f32 accumulation drifts by percents: f64 accumulation keeps the
/// result within one rounding of the exact value.
#[test]
fn sum_all_long_vector_is_accurate() {
    let x = vec![0.1f32; 3_000_017];
    let exact = 0.1f32 as f64 * x.len() as f64;
    for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
        let got = reduce::sum_all_with(level, &x) as f64;
        assert!((got - exact).abs() <= ROUND_REL * exact, "sum_all {}: {got} vs {exact}", level.name());
    }
}

// ---- activations ---------------------------------------------------------------------------

/// Random values over the interesting range plus the edges: zeros, tiny, the exp limits.
fn activation_inputs(rng: &mut rand::rngs::StdRng, n: usize) -> Vec<f32> {
    const EDGES: [f32; 14] =
        [0.0, -0.0, 1e-30, -1e-30, 1e-4, -1e-4, 0.625, -0.625, 88.0, -88.0, 100.0, -100.0, 1e30, -1e30];
    let mut x = rand_vec(rng, n, -12.0, 12.0);
    for (xi, &e) in x.iter_mut().step_by(5).zip(EDGES.iter()) {
        *xi = e;
    }
    x
}

fn forward_tolerance(a: Activation) -> (f64, f64) {
    match a {
        Activation::Sigmoid | Activation::Tanh => (APPROX_REL, FLUSH_ABS),
        _ => (EXACT_REL, 0.0),
    }
}

#[test]
fn activation_forward_every_level_matches_scalar() {
    let mut rng = rng(6);
    for n in LENS {
        let x = activation_inputs(&mut rng, n);
        for a in ACTIVATIONS {
            let mut want = vec![f32::NAN; n];
            act::activation_forward_scalar(a, &x, &mut want);
            for level in simd_levels() {
                let mut got = vec![f32::NAN; n];
                act::activation_forward_with(level, a, &x, &mut got);
                let (rel, abs) = forward_tolerance(a);
                assert_close32(&format!("{} forward {} n={n}", a.name(), level.name()), &got, &want, rel, abs);
            }
        }
    }
}

/// A dense sweep of sigmoid and tanh through every level: the worst error of the vector
/// approximations, checked over 400k points.
#[test]
fn sigmoid_tanh_dense_sweep_every_level() {
    let x: Vec<f32> = (0..400_000).map(|i| -100.0 + i as f32 * 5e-4).collect();
    for a in [Activation::Sigmoid, Activation::Tanh] {
        let mut want = vec![0.0; x.len()];
        act::activation_forward_scalar(a, &x, &mut want);
        for level in simd_levels() {
            let mut got = vec![0.0; x.len()];
            act::activation_forward_with(level, a, &x, &mut got);
            assert_close32(&format!("{} sweep {}", a.name(), level.name()), &got, &want, APPROX_REL, FLUSH_ABS);
        }
    }
}

#[test]
fn activation_forward_propagates_nan() {
    let x = vec![f32::NAN; 37];
    for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
        for a in ACTIVATIONS {
            let mut y = vec![0.0; x.len()];
            act::activation_forward_with(level, a, &x, &mut y);
            assert!(y.iter().all(|v| v.is_nan()), "{} {}: NaN lost: {y:?}", a.name(), level.name());
        }
    }
}

#[test]
fn activation_backward_every_level_matches_scalar() {
    let mut rng = rng(7);
    for n in LENS {
        let x = activation_inputs(&mut rng, n);
        let dy = rand_vec(&mut rng, n, -2.0, 2.0);
        for a in ACTIVATIONS {
            let mut y = vec![0.0; n];
            act::activation_forward_scalar(a, &x, &mut y);
            let mut want = vec![f32::NAN; n];
            act::activation_backward_scalar(a, &x, &y, &dy, &mut want);
            for level in simd_levels() {
                let mut got = vec![f32::NAN; n];
                act::activation_backward_with(level, a, &x, &y, &dy, &mut got);
                let what = format!("{} backward {} n={n}", a.name(), level.name());
                assert_close32(&what, &got, &want, EXACT_REL, 0.0);
            }
        }
    }
}

fn forward_f64(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Identity => x,
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu => {
            if x > 0.0 {
                x
            } else {
                LEAKY_RELU_SLOPE as f64 * x
            }
        }
    }
}

#[test]
fn activation_forward_scalar_matches_f64() {
    let mut rng = rng(8);
    let x = activation_inputs(&mut rng, 4099);
    for a in ACTIVATIONS {
        let mut y = vec![0.0; x.len()];
        act::activation_forward_scalar(a, &x, &mut y);
        let want: Vec<f64> = x.iter().map(|&v| forward_f64(a, v as f64)).collect();
        // libm's expf/tanhf are within 2 ulp, and sigmoid adds two roundings: 4 ulp of 2^-24
        // relative each (measured worst: 1.8e-7).
        assert_close(&format!("{} scalar vs f64", a.name()), &y, &want, 4.0 * 2.0 * ROUND_REL, 1e-44);
    }
}

/// `dx` against `dy * (f(x+h) - f(x-h)) / 2h` in f64. The kernel's sigmoid/tanh derivative
/// comes from the f32 `y`, whose rounding (2^-24 relative) moves `y(1-y)` or `1-y^2` by up to
/// about 2^-23 absolute: hence the `|dy|`-scaled absolute term.
#[test]
fn activation_backward_matches_finite_differences() {
    let mut rng = rng(9);
    let n = 257;
    let x: Vec<f32> = rand_vec(&mut rng, n, -5.0, 5.0);
    let dy = rand_vec(&mut rng, n, -2.0, 2.0);
    for a in ACTIVATIONS {
        let mut y = vec![0.0; n];
        act::activation_forward(a, &x, &mut y);
        let mut dx = vec![0.0; n];
        act::activation_backward(a, &x, &y, &dy, &mut dx);
        for i in 0..n {
            let xi = x[i] as f64;
            if matches!(a, Activation::Relu | Activation::LeakyRelu) && xi.abs() < 1e-3 {
                continue; // the kink
            }
            let f = |v: &[f64]| forward_f64(a, v[0]);
            let fd = dy[i] as f64 * central_diff(&f, &[xi], 0, 1e-5);
            let tol = 1e-6 * fd.abs() + 2.4e-7 * (dy[i] as f64).abs() + 1e-9;
            assert!((dx[i] as f64 - fd).abs() <= tol, "{} backward at x={xi}: {} vs fd {fd}", a.name(), dx[i]);
        }
    }
}

// ---- bias + activation ---------------------------------------------------------------------

/// `bias_activation` at every level against its spec (`bias_add_scalar` then
/// `activation_forward_scalar`), on the bias shapes (dense, NCHW planes, empty) with
/// activation edge values in `x` and, for some elements, `x = -bias` exactly (z = 0, relu's
/// kink). `z` is exact; `y` is held to the activation forward's tolerance.
#[test]
fn bias_activation_every_level_matches_scalar() {
    let mut rng = rng(10);
    for (outer, channels, inner) in BIAS_SHAPES.into_iter().chain([(3, 1, 4099), (64, 256, 1), (2, 16, 28 * 28)]) {
        let n = outer * channels * inner;
        let bias = rand_vec(&mut rng, channels, -2.0, 2.0);
        let mut x = activation_inputs(&mut rng, n);
        for (i, v) in x.iter_mut().enumerate().skip(3).step_by(7) {
            *v = -bias[(i / inner) % channels];
        }
        for a in ACTIVATIONS {
            let (mut zw, mut yw) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            act::bias_activation_scalar(a, &x, &bias, &mut zw, &mut yw, outer, channels, inner);
            // The spec is the composition of the two specs.
            let mut z2 = vec![f32::NAN; n];
            reduce::bias_add_scalar(&x, &bias, &mut z2, outer, channels, inner);
            let mut y2 = vec![f32::NAN; n];
            act::activation_forward_scalar(a, &z2, &mut y2);
            let shape = format!("{}x{outer}x{channels}x{inner}", a.name());
            assert_close32(&format!("bias_activation scalar z {shape}"), &zw, &z2, 0.0, 0.0);
            assert_close32(&format!("bias_activation scalar y {shape}"), &yw, &y2, 0.0, 0.0);
            for level in simd_levels() {
                let (mut z, mut y) = (vec![f32::NAN; n], vec![f32::NAN; n]);
                act::bias_activation_with(level, a, &x, &bias, &mut z, &mut y, outer, channels, inner);
                let what = format!("bias_activation {} {shape}", level.name());
                assert_close32(&format!("{what} z"), &z, &zw, EXACT_REL, 0.0);
                let (rel, abs) = forward_tolerance(a);
                assert_close32(&format!("{what} y"), &y, &yw, rel, abs);
            }
        }
    }
}

#[test]
#[should_panic(expected = "bias_activation: lengths do not match shape")]
fn bias_activation_rejects_short_output() {
    let (x, bias) = ([1.0f32; 6], [0.5f32; 3]);
    let (mut z, mut y) = ([0.0f32; 6], [0.0f32; 5]);
    act::bias_activation(Activation::Relu, &x, &bias, &mut z, &mut y, 2, 3, 1);
}

#[test]
fn relu_derivative_at_zero_is_zero() {
    let x = [0.0f32, -0.0];
    let dy = [1.0f32, 1.0];
    for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
        let mut dx = [9.0f32; 2];
        act::activation_backward_with(level, Activation::Relu, &x, &x, &dy, &mut dx);
        assert_eq!(dx, [0.0, 0.0], "{}", level.name());
    }
}

/// The names the CLI and config.json use, and the codes the WGSL constants are made from:
/// every activation parses back from its name, the aliases land on the right one, and the
/// codes are the positions in `ALL` (the shader's `ACT_*` constants follow that order).
#[test]
fn activation_names_and_codes_round_trip() {
    for (i, a) in Activation::ALL.into_iter().enumerate() {
        assert_eq!(Activation::parse(a.name()), Some(a), "{a:?}");
        assert_eq!(a.code(), i as u32, "{a:?}");
    }
    let names: Vec<_> = Activation::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]);
    for (alias, a) in [("linear", Activation::Identity), ("none", Activation::Identity)]
        .into_iter()
        .chain([("leaky-relu", Activation::LeakyRelu), ("lrelu", Activation::LeakyRelu)])
    {
        assert_eq!(Activation::parse(alias), Some(a), "{alias}");
    }
    assert_eq!(Activation::parse("swish"), None);
}

/// The plain entry points (what the CPU backend calls) run the detected level: each gives
/// the bits of `*_with(level(), ..)`, which the tests above compare with the specification.
#[test]
fn plain_entry_points_run_the_detected_level() {
    let level = autoenc_kernels::simd::level();
    let mut rng = rng(11);
    for n in [1, 17, 97, 1000] {
        let (a, b) = (rand_vec(&mut rng, n, -3.0, 3.0), rand_vec(&mut rng, n, -3.0, 3.0));
        let run = |f: &dyn Fn(&mut [f32])| {
            let mut out = vec![f32::NAN; n];
            f(&mut out);
            out
        };
        assert_eq!(run(&|o| reduce::add(&a, &b, o)), run(&|o| reduce::add_with(level, &a, &b, o)), "add {n}");
        assert_eq!(run(&|o| reduce::mul(&a, &b, o)), run(&|o| reduce::mul_with(level, &a, &b, o)), "mul {n}");
        assert_eq!(run(&|o| reduce::scale(&a, 0.3, o)), run(&|o| reduce::scale_with(level, &a, 0.3, o)), "scale {n}");
        let axpy = |f: &dyn Fn(&mut [f32])| {
            let mut y = b.clone();
            f(&mut y);
            y
        };
        assert_eq!(axpy(&|y| reduce::axpy(0.7, &a, y)), axpy(&|y| reduce::axpy_with(level, 0.7, &a, y)), "axpy {n}");
        assert_ne!(axpy(&|y| reduce::axpy(0.7, &a, y)), b, "axpy {n} changed nothing");
        assert_eq!(reduce::sum_all(&a).to_bits(), reduce::sum_all_with(level, &a).to_bits(), "sum_all {n}");
        for act in Activation::ALL {
            let y = run(&|o| act::activation_forward(act, &a, o));
            assert_eq!(y, run(&|o| act::activation_forward_with(level, act, &a, o)), "{act:?} fwd {n}");
            let dx = run(&|o| act::activation_backward(act, &a, &y, &b, o));
            assert_eq!(dx, run(&|o| act::activation_backward_with(level, act, &a, &y, &b, o)), "{act:?} bwd {n}");
        }
    }
    // [outer, channels, inner] = [3, 5, 7]: bias add and its gradient, fresh and accumulated.
    let (outer, channels, inner) = (3, 5, 7);
    let n = outer * channels * inner;
    let (x, bias) = (rand_vec(&mut rng, n, -1.0, 1.0), rand_vec(&mut rng, channels, -1.0, 1.0));
    let (mut got, mut want) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    reduce::bias_add(&x, &bias, &mut got, outer, channels, inner);
    reduce::bias_add_with(level, &x, &bias, &mut want, outer, channels, inner);
    assert_eq!(got, want, "bias_add");
    for accumulate in [false, true] {
        let (mut got, mut want) = (vec![0.5f32; channels], vec![0.5f32; channels]);
        reduce::bias_grad(&x, &mut got, outer, channels, inner, accumulate);
        reduce::bias_grad_with(level, &x, &mut want, outer, channels, inner, accumulate);
        assert_eq!(got, want, "bias_grad accumulate={accumulate}");
        assert_ne!(got, vec![0.5f32; channels], "bias_grad accumulate={accumulate} wrote nothing");
    }
    for act in Activation::ALL {
        let (mut z, mut y, mut z2, mut y2) =
            (vec![f32::NAN; n], vec![f32::NAN; n], vec![f32::NAN; n], vec![f32::NAN; n]);
        act::bias_activation(act, &x, &bias, &mut z, &mut y, outer, channels, inner);
        act::bias_activation_with(level, act, &x, &bias, &mut z2, &mut y2, outer, channels, inner);
        assert_eq!((&z, &y), (&z2, &y2), "{act:?} bias_activation");
    }
}
