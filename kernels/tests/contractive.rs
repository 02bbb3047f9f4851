//! contractive.rs: the closed-form contractive penalty and its gradients. Every SIMD level
//! against the scalar spec on awkward shapes, the spec against f64 math and against the
//! explicit Jacobian norm, both gradients (z and W) against central finite differences.

mod kernel_util;

use autoenc_kernels::activation::{Activation, LEAKY_RELU_SLOPE};
use autoenc_kernels::contractive as cae;
use autoenc_kernels::SimdLevel;
use kernel_util::*;
use rand::rngs::StdRng;

const ACTIVATIONS: [Activation; 5] =
    [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu];

/// `(rows, hidden, inputs)`: 1, vector widths +-1, primes, wide layers, empty dimensions.
const SHAPES: [(usize, usize, usize); 13] = [
    (1, 1, 1),
    (2, 7, 3),
    (3, 13, 5),
    (2, 15, 16),
    (4, 16, 17),
    (2, 17, 97),
    (7, 97, 13),
    (3, 257, 7),
    (1, 1000, 2),
    (2, 4099, 1),
    (0, 5, 3),
    (4, 5, 0),
    (5, 0, 3),
];

/// Penalty and dW: f32 terms summed in f64; sigmoid/tanh derivatives from the vector exp
/// (a few ulp from libm's): the levels agree to 1e-6 relative.
const REL: f64 = 1e-6;

struct Case {
    rows: usize,
    hidden: usize,
    inputs: usize,
    z: Vec<f32>,
    w: Vec<f32>,
}

impl Case {
    fn new(rng: &mut StdRng, (rows, hidden, inputs): (usize, usize, usize)) -> Self {
        let mut z = rand_vec(rng, rows * hidden, -8.0, 8.0);
        z.iter_mut().step_by(11).for_each(|v| *v = 0.0);
        let w = rand_vec(rng, hidden * inputs, -0.5, 0.5);
        Case { rows, hidden, inputs, z, w }
    }

    fn penalty(&self, level: SimdLevel, act: Activation) -> f32 {
        cae::contractive_penalty_with(level, act, &self.z, &self.w, self.rows, self.hidden, self.inputs)
    }

    /// `(dz, dW)` accumulated into `init`.
    fn backward(&self, level: SimdLevel, act: Activation, dout: f32, init: (&[f32], &[f32])) -> (Vec<f32>, Vec<f32>) {
        let (mut dz, mut dw) = (init.0.to_vec(), init.1.to_vec());
        let (r, h, i) = (self.rows, self.hidden, self.inputs);
        cae::contractive_backward_with(level, act, &self.z, &self.w, dout, &mut dz, &mut dw, r, h, i);
        (dz, dw)
    }

    fn zero_grads(&self) -> (Vec<f32>, Vec<f32>) {
        (vec![0.0; self.z.len()], vec![0.0; self.w.len()])
    }

    /// The largest `|c s_j|`, `c = 2 dout / rows`: every dz element is `c s_j f' f''` with
    /// `|f'| <= 1`, and the rounding of `e = exp(-|z|)` reaches `f''` as a few 2^-24
    /// absolute, so errors in dz are bounded by a small multiple of 1e-7 of this.
    fn dz_scale(&self, dout: f32) -> f64 {
        let s_max = self.w.chunks(self.inputs.max(1)).map(|r| r.iter().map(|&v| (v * v) as f64).sum::<f64>());
        2.0 * (dout as f64).abs() / self.rows.max(1) as f64 * s_max.fold(0.0, f64::max)
    }
}

// ---- f64 references ---------------------------------------------------------------------

/// `(f'(z), f''(z))` straight from the definitions (accurate in f64 for |z| <= 8).
fn derivs_f64(act: Activation, z: f64) -> (f64, f64) {
    match act {
        Activation::Identity => (1.0, 0.0),
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-z).exp());
            let d = s * (1.0 - s);
            (d, d * (1.0 - 2.0 * s))
        }
        Activation::Tanh => {
            let t = z.tanh();
            let d = 1.0 - t * t;
            (d, -2.0 * t * d)
        }
        Activation::Relu => (if z > 0.0 { 1.0 } else { 0.0 }, 0.0),
        Activation::LeakyRelu => (if z > 0.0 { 1.0 } else { LEAKY_RELU_SLOPE as f64 }, 0.0),
    }
}

fn row_norms_sq(w: &[f64], hidden: usize, inputs: usize) -> Vec<f64> {
    (0..hidden).map(|j| w[j * inputs..(j + 1) * inputs].iter().map(|v| v * v).sum()).collect()
}

fn penalty_f64(act: Activation, z: &[f64], w: &[f64], rows: usize, hidden: usize, inputs: usize) -> f64 {
    if rows == 0 {
        return 0.0;
    }
    let s = row_norms_sq(w, hidden, inputs);
    let total: f64 = (0..rows * hidden).map(|k| derivs_f64(act, z[k]).0.powi(2) * s[k % hidden]).sum();
    total / rows as f64
}

/// `(1/rows) sum_r ||J_r||_F^2` with the Jacobian `J_r[j][i] = f'(z_rj) W_ji` built explicitly.
fn jacobian_penalty_f64(act: Activation, z: &[f64], w: &[f64], rows: usize, hidden: usize, inputs: usize) -> f64 {
    let mut total = 0.0;
    for r in 0..rows {
        for j in 0..hidden {
            let d = derivs_f64(act, z[r * hidden + j]).0;
            total += (0..inputs).map(|i| (d * w[j * inputs + i]).powi(2)).sum::<f64>();
        }
    }
    total / rows as f64
}

/// Analytic `(dz, dW)` for `dout`, from the definitions.
fn grads_f64(act: Activation, c: &Case, dout: f64) -> (Vec<f64>, Vec<f64>) {
    let (z, w) = (to_f64(&c.z), to_f64(&c.w));
    let s = row_norms_sq(&w, c.hidden, c.inputs);
    let k = 2.0 * dout / c.rows as f64;
    let dz: Vec<f64> = (0..z.len())
        .map(|n| {
            let (d, dd) = derivs_f64(act, z[n]);
            k * d * dd * s[n % c.hidden]
        })
        .collect();
    let q: Vec<f64> =
        (0..c.hidden).map(|j| (0..c.rows).map(|r| derivs_f64(act, z[r * c.hidden + j]).0.powi(2)).sum()).collect();
    let dw: Vec<f64> = (0..w.len()).map(|n| k * w[n] * q[n / c.inputs]).collect();
    (dz, dw)
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn penalty_every_level_matches_scalar() {
    let mut rng = rng(31);
    for shape in SHAPES {
        let case = Case::new(&mut rng, shape);
        for act in ACTIVATIONS {
            let want = case.penalty(SimdLevel::Scalar, act);
            for level in simd_levels() {
                let got = case.penalty(level, act);
                assert_close32(
                    &format!("{} penalty {} {shape:?}", act.name(), level.name()),
                    &[got],
                    &[want],
                    REL,
                    0.0,
                );
            }
        }
    }
}

#[test]
fn backward_every_level_matches_scalar() {
    let mut rng = rng(32);
    let dout = 0.8f32;
    for shape in SHAPES {
        let case = Case::new(&mut rng, shape);
        let zero = case.zero_grads();
        for act in ACTIVATIONS {
            let want = case.backward(SimdLevel::Scalar, act, dout, (&zero.0, &zero.1));
            for level in simd_levels() {
                let got = case.backward(level, act, dout, (&zero.0, &zero.1));
                let what = format!("{} {} {shape:?}", act.name(), level.name());
                assert_close32(&format!("dz {what}"), &got.0, &want.0, REL, 1e-6 * case.dz_scale(dout));
                assert_close32(&format!("dW {what}"), &got.1, &want.1, REL, 0.0);
            }
        }
    }
}

/// `dz` and `dW` are added to what the buffers held: the result is the old value plus the
/// zero-initialised result, to one rounding of the sum.
#[test]
fn backward_accumulates() {
    let mut rng = rng(33);
    let case = Case::new(&mut rng, (5, 19, 23));
    let init = (rand_vec(&mut rng, case.z.len(), -1.0, 1.0), rand_vec(&mut rng, case.w.len(), -1.0, 1.0));
    let zero = case.zero_grads();
    for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
        for act in ACTIVATIONS {
            let inc = case.backward(level, act, 1.3, (&zero.0, &zero.1));
            let got = case.backward(level, act, 1.3, (&init.0, &init.1));
            for (name, got, init, inc) in [("dz", &got.0, &init.0, &inc.0), ("dW", &got.1, &init.1, &inc.1)] {
                for k in 0..got.len() {
                    let want = init[k] as f64 + inc[k] as f64;
                    let tol = 6e-8 * (init[k].abs() + inc[k].abs()) as f64;
                    assert!((got[k] as f64 - want).abs() <= tol, "{name} {} {}: {k}", act.name(), level.name());
                }
            }
        }
    }
}

#[test]
fn scalar_matches_f64_and_explicit_jacobian() {
    let mut rng = rng(34);
    let dout = 0.8;
    for shape in SHAPES.into_iter().filter(|&(r, h, i)| r * h * i > 0) {
        let case = Case::new(&mut rng, shape);
        let (z, w) = (to_f64(&case.z), to_f64(&case.w));
        let (rows, hidden, inputs) = shape;
        for act in ACTIVATIONS {
            let got = case.penalty(SimdLevel::Scalar, act);
            let want = penalty_f64(act, &z, &w, rows, hidden, inputs);
            let jac = jacobian_penalty_f64(act, &z, &w, rows, hidden, inputs);
            assert_close(&format!("{} penalty vs f64 {shape:?}", act.name()), &[got], &[want], REL, 0.0);
            assert_close(&format!("{} penalty vs Jacobian {shape:?}", act.name()), &[got], &[jac], REL, 0.0);
            let zero = case.zero_grads();
            let (dz, dw) = case.backward(SimdLevel::Scalar, act, dout as f32, (&zero.0, &zero.1));
            let (want_dz, want_dw) = grads_f64(act, &case, dout);
            let what = format!("{} vs f64 {shape:?}", act.name());
            assert_close(&format!("dz {what}"), &dz, &want_dz, REL, 1e-6 * case.dz_scale(dout as f32));
            assert_close(&format!("dW {what}"), &dw, &want_dw, REL, 0.0);
        }
    }
}

/// Both gradients against central differences of the f64 penalty, at every level. Relu and
/// leaky relu skip z within 1e-3 of the kink (the penalty jumps there).
#[test]
fn backward_matches_finite_differences() {
    let mut rng = rng(35);
    let dout = 0.8;
    for shape in [(3, 5, 4), (2, 17, 3)] {
        let mut case = Case::new(&mut rng, shape);
        case.z.iter_mut().for_each(|v| *v *= 0.5); // |z| <= 4: derivatives well above zero
        let (rows, hidden, inputs) = shape;
        let (z, w) = (to_f64(&case.z), to_f64(&case.w));
        for act in ACTIVATIONS {
            let fz = |v: &[f64]| dout * penalty_f64(act, v, &w, rows, hidden, inputs);
            let fw = |v: &[f64]| dout * penalty_f64(act, &z, v, rows, hidden, inputs);
            let kink = |k: usize| matches!(act, Activation::Relu | Activation::LeakyRelu) && z[k].abs() < 1e-3;
            let fd_z: Vec<f64> =
                (0..z.len()).map(|k| if kink(k) { f64::NAN } else { central_diff(&fz, &z, k, 1e-5) }).collect();
            let fd_w: Vec<f64> = (0..w.len()).map(|k| central_diff(&fw, &w, k, 1e-5)).collect();
            let zero = case.zero_grads();
            for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
                let (mut dz, dw) = case.backward(level, act, dout as f32, (&zero.0, &zero.1));
                for (k, g) in dz.iter_mut().enumerate() {
                    if kink(k) {
                        *g = f32::NAN; // skipped: NaN meets NaN
                    }
                }
                let what = format!("{} {} {shape:?}", act.name(), level.name());
                // f64 differences with h = 1e-5 are accurate to ~1e-9 here.
                assert_close(&format!("dz vs fd {what}"), &dz, &fd_z, 1e-5, 1e-6 * case.dz_scale(dout as f32));
                assert_close(&format!("dW vs fd {what}"), &dw, &fd_w, 1e-5, 1e-9);
            }
        }
    }
}

/// Saturated units: `f'` is tiny but must stay accurate (relative), which `s(1-s)` in f32
/// would not be once `s` rounds to 1 (from |z| ~ 9 on). Checked one unit at a time against
/// the exact forms in `e = exp(-|z|)`, wherever `f'^2` is still a normal f32.
#[test]
fn saturated_units_keep_relative_accuracy() {
    // f' = e/(1+e)^2 (sigmoid, e = exp(-|z|)) or 4e/(1+e)^2 (tanh, e = exp(-2|z|)).
    let fp = |act: Activation, z: f64| {
        let e = (if act == Activation::Sigmoid { -z.abs() } else { -2.0 * z.abs() }).exp();
        let k = if act == Activation::Sigmoid { 1.0 } else { 4.0 };
        k * e / (1.0 + e).powi(2)
    };
    for act in [Activation::Sigmoid, Activation::Tanh] {
        for z in [9.0f32, 11.0, 12.0, 15.5, 18.0, 20.0, 25.0, 30.0, 40.0].into_iter().flat_map(|v| [v, -v]) {
            let want = fp(act, z as f64).powi(2);
            if want < f32::MIN_POSITIVE as f64 {
                continue;
            }
            // 17 copies of the unit, so that the vector bodies (8 and 16 lanes) see it too.
            let (zs, w) = ([z; 17], [1.0f32; 17]);
            for level in [SimdLevel::Scalar].into_iter().chain(simd_levels()) {
                let got = cae::contractive_penalty_with(level, act, &zs, &w, 1, 17, 1) / 17.0;
                assert_close(&format!("{} saturated z={z} {}", act.name(), level.name()), &[got], &[want], 1e-5, 0.0);
            }
        }
    }
}

/// The plain entry points (what the CPU backend calls) run the detected level: the bits of
/// `*_with(level(), ..)`, which the tests above compare with the specification.
#[test]
fn plain_entry_points_run_the_detected_level() {
    let level = autoenc_kernels::simd::level();
    let mut r = rng(29);
    for (rows, hidden, inputs) in [(1, 1, 1), (3, 17, 5), (4, 33, 97)] {
        let z = rand_vec(&mut r, rows * hidden, -3.0, 3.0);
        let w = rand_vec(&mut r, hidden * inputs, -1.0, 1.0);
        for act in Activation::ALL {
            let (got, want) = (
                cae::contractive_penalty(act, &z, &w, rows, hidden, inputs),
                cae::contractive_penalty_with(level, act, &z, &w, rows, hidden, inputs),
            );
            assert_eq!(got.to_bits(), want.to_bits(), "{act:?} penalty {rows}x{hidden}x{inputs}");
            let run = |with: bool| {
                let (mut dz, mut dw) = (vec![0.25f32; z.len()], vec![0.5f32; w.len()]);
                if with {
                    cae::contractive_backward_with(level, act, &z, &w, 0.9, &mut dz, &mut dw, rows, hidden, inputs);
                } else {
                    cae::contractive_backward(act, &z, &w, 0.9, &mut dz, &mut dw, rows, hidden, inputs);
                }
                (dz, dw)
            };
            assert_eq!(run(false), run(true), "{act:?} backward {rows}x{hidden}x{inputs}");
        }
        // Sigmoid units are never linear: the backward must move both gradients.
        let mut dw = vec![0.5f32; w.len()];
        let mut dz = vec![0.25f32; z.len()];
        cae::contractive_backward(Activation::Sigmoid, &z, &w, 0.9, &mut dz, &mut dw, rows, hidden, inputs);
        assert!(dw.iter().all(|&v| v != 0.5) && dz.iter().any(|&v| v != 0.25), "{rows}x{hidden}x{inputs}");
    }
}

/// A `z` or `W` that does not match the shape is refused at every level, never read past.
#[test]
fn wrong_shapes_are_refused() {
    let (z, w) = (vec![0.5f32; 6], vec![0.5f32; 8]);
    for level in std::iter::once(SimdLevel::Scalar).chain(simd_levels()) {
        for (z_len, w_len) in [(5, 8), (6, 7)] {
            let penalty = std::panic::catch_unwind(|| {
                cae::contractive_penalty_with(level, Activation::Sigmoid, &z[..z_len], &w[..w_len], 2, 3, 4)
            });
            let msg = penalty.expect_err("a wrong shape gave a penalty");
            let msg = msg.downcast_ref::<String>().map(String::as_str).unwrap_or("");
            assert!(msg.contains("want 2x3") && msg.contains("want 3x4"), "{msg}");
            let backward = std::panic::catch_unwind(|| {
                let (mut dz, mut dw) = (vec![0.0f32; 6], vec![0.0f32; 8]);
                let (z, w) = (&z[..z_len], &w[..w_len]);
                cae::contractive_backward_with(
                    level,
                    Activation::Sigmoid,
                    z,
                    w,
                    1.0,
                    &mut dz[..z_len],
                    &mut dw[..w_len],
                    2,
                    3,
                    4,
                );
            });
            assert!(backward.is_err(), "{}: backward took a wrong shape", level.name());
        }
    }
}
