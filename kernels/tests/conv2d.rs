//! conv2d, its input gradient and its weight gradient: the scalar specification against
//! an independent f64 definition, every SIMD level's blocked version against the same
//! definition (single images, several images per column block, ragged last blocks,
//! blocks spread over the worker pool, more blocks than weight partials), and the
//! adjoint identities that tie the three maps together.

mod kernel_util;

use autoenc_kernels::conv2d::{
    check_forced_value, conv2d, conv2d_input_grad, conv2d_input_grad_scalar, conv2d_input_grad_with, conv2d_scalar,
    conv2d_weight_grad, conv2d_weight_grad_scalar, conv2d_weight_grad_with, conv2d_with, Algorithm, ImageBlocks,
    COL_BLOCK_FLOATS,
};
use autoenc_kernels::{ConvGeom, SimdLevel};
use kernel_util::layout_util::{dot, random};
use kernel_util::simd_levels;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Awkward small geometries with per-axis stride, padding and dilation; `.1` is the
/// number of output channels.
fn small_geoms() -> Vec<(ConvGeom, usize)> {
    let mut out = Vec::new();
    for (batch, channels, oc) in [(1, 1, 1), (3, 2, 5), (2, 3, 1)] {
        for (height, width) in [(1, 1), (5, 9), (7, 4)] {
            for (kernel_h, kernel_w) in [(1, 1), (3, 3), (2, 3), (5, 1)] {
                for (stride_h, stride_w) in [(1, 1), (2, 2), (1, 3)] {
                    for (pad_h, pad_w) in [(0, 0), (1, 1), (2, 0)] {
                        for (dil_h, dil_w) in [(1, 1), (2, 1)] {
                            let g = ConvGeom {
                                batch,
                                channels,
                                height,
                                width,
                                kernel_h,
                                kernel_w,
                                stride_h,
                                stride_w,
                                pad_h,
                                pad_w,
                                dil_h,
                                dil_w,
                            };
                            if g.check().is_ok() {
                                out.push((g, oc));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(out.len() > 300, "{} geometries", out.len());
    out
}

/// Shapes that exercise the blocking and the direct algorithm's threading: one image per
/// block with blocks spread over the pool and more blocks than weight partials; several
/// images per block, with a ragged last block, sequential and spread; a single image
/// larger than a block; 1 -> 16 and 16 -> 1 channels over 40 images (rows longer than
/// one 16-lane vector with a ragged end, images over the pool, more images than weight
/// partials).
fn blocked_geoms() -> Vec<(ConvGeom, usize)> {
    let mnist = ConvGeom::square(40, 16, 28, 28, (3, 3), 1, 1, 1); // 113k floats per image
    assert!(mnist.col_rows() * 784 <= COL_BLOCK_FLOATS && 2 * mnist.col_rows() * 784 > COL_BLOCK_FLOATS);
    vec![
        (mnist, 1),
        (ConvGeom { batch: 3, ..mnist }, 8),
        (ConvGeom::square(100, 8, 7, 7, (3, 3), 1, 1, 1), 8), // 37 images per block, 3 blocks
        (ConvGeom::square(300, 8, 7, 7, (3, 3), 1, 1, 1), 5), // 9 blocks over the pool
        (ConvGeom { stride_w: 2, pad_h: 0, dil_h: 2, ..ConvGeom::square(5, 3, 300, 200, (3, 2), 1, 1, 1) }, 2),
        (ConvGeom { channels: 1, ..mnist }, 16),
        (ConvGeom { pad_w: 2, dil_w: 2, dil_h: 2, ..ConvGeom::square(40, 2, 9, 37, (3, 3), 1, 1, 1) }, 1),
    ]
}

/// `(value, sum of |terms|)` per output of the three maps, in f64 from the definition.
struct Reference {
    y: Vec<(f64, f64)>,
    dx: Vec<(f64, f64)>,
    dw: Vec<(f64, f64)>,
}

fn reference(x: &[f32], w: &[f32], dy: &[f32], g: ConvGeom, oc_n: usize) -> Reference {
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let mut y = vec![(0.0, 0.0); g.batch * oc_n * oh_n * ow_n];
    let mut dx = vec![(0.0, 0.0); g.image_len()];
    let mut dw = vec![(0.0, 0.0); oc_n * g.col_rows()];
    let add = |acc: &mut (f64, f64), t: f64| {
        acc.0 += t;
        acc.1 += t.abs();
    };
    for n in 0..g.batch {
        for o in 0..oc_n {
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let yi = ((n * oc_n + o) * oh_n + oh) * ow_n + ow;
                    for c in 0..g.channels {
                        for ki in 0..g.kernel_h {
                            for kj in 0..g.kernel_w {
                                let h = (oh * g.stride_h + ki * g.dil_h) as i64 - g.pad_h as i64;
                                let wi = (ow * g.stride_w + kj * g.dil_w) as i64 - g.pad_w as i64;
                                if h < 0 || wi < 0 || h >= g.height as i64 || wi >= g.width as i64 {
                                    continue;
                                }
                                let xi = ((n * g.channels + c) * g.height + h as usize) * g.width + wi as usize;
                                let wk = ((o * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj;
                                add(&mut y[yi], w[wk] as f64 * x[xi] as f64);
                                add(&mut dx[xi], w[wk] as f64 * dy[yi] as f64);
                                add(&mut dw[wk], dy[yi] as f64 * x[xi] as f64);
                            }
                        }
                    }
                }
            }
        }
    }
    Reference { y, dx, dw }
}

/// `|got - want| <= tol * (sum of |terms|)` per element; an output with no terms is 0.
fn assert_matches(what: &str, got: &[f32], want: &[(f64, f64)], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &(v, scale))) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - v).abs();
        assert!(err <= tol * scale, "{what}: element {i}: got {g:e}, want {v:e} (error {err:e}, scale {scale:e})");
    }
}

struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    dy: Vec<f32>,
}

fn data(rng: &mut StdRng, g: &ConvGeom, oc_n: usize) -> Data {
    Data {
        x: random(rng, g.image_len()),
        w: random(rng, oc_n * g.col_rows()),
        dy: random(rng, g.batch * oc_n * g.out_h() * g.out_w()),
    }
}

/// Runs the three maps of one implementation, outputs poisoned with NaN first.
fn run_all(
    d: &Data,
    g: ConvGeom,
    oc_n: usize,
    fwd: impl Fn(&[f32], &[f32], &mut [f32]),
    input_grad: impl Fn(&[f32], &[f32], &mut [f32]),
    weight_grad: impl Fn(&[f32], &[f32], &mut [f32]),
) -> [Vec<f32>; 3] {
    let mut y = vec![f32::NAN; g.batch * oc_n * g.out_h() * g.out_w()];
    let mut dx = vec![f32::NAN; g.image_len()];
    let mut dw = vec![f32::NAN; oc_n * g.col_rows()];
    fwd(&d.x, &d.w, &mut y);
    input_grad(&d.dy, &d.w, &mut dx);
    weight_grad(&d.x, &d.dy, &mut dw);
    [y, dx, dw]
}

/// The plain entry points (the selected algorithm at the best level).
fn run_plain(d: &Data, g: ConvGeom, oc: usize) -> [Vec<f32>; 3] {
    run_all(
        d,
        g,
        oc,
        |x, w, y| conv2d(x, w, y, g, oc),
        |dy, w, dx| conv2d_input_grad(dy, w, dx, g, oc),
        |x, dy, dw| conv2d_weight_grad(x, dy, dw, g, oc),
    )
}

/// Sums in f32 of up to a few thousand terms: the rounding error stays far below 1e-5
/// of the sum of magnitudes (about K * 6e-8 in the worst case for the spec's K <= 150
/// terms; the blocked versions sum in a different order and with FMA).
const TOL: f64 = 1e-5;

fn check(label: &str, out: &[Vec<f32>; 3], r: &Reference) {
    assert_matches(&format!("{label} conv2d"), &out[0], &r.y, TOL);
    assert_matches(&format!("{label} input_grad"), &out[1], &r.dx, TOL);
    assert_matches(&format!("{label} weight_grad"), &out[2], &r.dw, TOL);
}

#[test]
fn the_scalar_specification_matches_the_definition() {
    let mut rng = StdRng::seed_from_u64(11);
    for (g, oc) in small_geoms() {
        let d = data(&mut rng, &g, oc);
        let out = run_all(
            &d,
            g,
            oc,
            |x, w, y| conv2d_scalar(x, w, y, g, oc),
            |dy, w, dx| conv2d_input_grad_scalar(dy, w, dx, g, oc),
            |x, dy, dw| conv2d_weight_grad_scalar(x, dy, dw, g, oc),
        );
        check(&format!("scalar {g:?} oc {oc}"), &out, &reference(&d.x, &d.w, &d.dy, g, oc));
    }
}

/// Every algorithm that takes the shape at every level (`Scalar` runs each algorithm's
/// plain code: the scalar matmul, the plain row operations), on the small grid and the
/// blocked shapes.
#[test]
fn every_algorithm_at_every_level_matches_the_definition() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut levels = simd_levels();
    levels.extend([SimdLevel::Neon, SimdLevel::Scalar]);
    let (mut direct_runs, mut blocked_runs) = (0, 0);
    for (g, oc) in small_geoms().into_iter().chain(blocked_geoms()) {
        let d = data(&mut rng, &g, oc);
        let r = reference(&d.x, &d.w, &d.dy, g, oc);
        let mut algos = vec![Algorithm::Blocked(ImageBlocks::new(&g))];
        if Algorithm::direct_takes(&g) {
            algos.push(Algorithm::Direct);
        }
        for algo in algos {
            for &level in &levels {
                let out = run_all(
                    &d,
                    g,
                    oc,
                    |x, w, y| algo.conv2d(level, x, w, y, g, oc),
                    |dy, w, dx| algo.input_grad(level, dy, w, dx, g, oc),
                    |x, dy, dw| algo.weight_grad(level, x, dy, dw, g, oc),
                );
                check(&format!("{algo:?} {} {g:?} oc {oc}", level.name()), &out, &r);
            }
            match algo {
                Algorithm::Direct => direct_runs += 1,
                Algorithm::Blocked(_) => blocked_runs += 1,
            }
        }
    }
    assert!(direct_runs > 100 && blocked_runs > 300, "{direct_runs} direct, {blocked_runs} blocked shapes");
}

/// The selected algorithm at every level, and the plain entry points.
#[test]
fn every_level_matches_the_definition() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut levels = simd_levels();
    levels.push(SimdLevel::Neon); // the portable packed matmul runs on any CPU
    for (g, oc) in small_geoms().into_iter().chain(blocked_geoms()) {
        let d = data(&mut rng, &g, oc);
        let r = reference(&d.x, &d.w, &d.dy, g, oc);
        for &level in &levels {
            let out = run_all(
                &d,
                g,
                oc,
                |x, w, y| conv2d_with(level, x, w, y, g, oc),
                |dy, w, dx| conv2d_input_grad_with(level, dy, w, dx, g, oc),
                |x, dy, dw| conv2d_weight_grad_with(level, x, dy, dw, g, oc),
            );
            check(&format!("{} {g:?} oc {oc}", level.name()), &out, &r);
        }
        let out = run_plain(&d, g, oc);
        check(&format!("default {g:?} oc {oc}"), &out, &r);
    }
}

/// At the `Scalar` level the `_with` entry points are the specification itself, bit for bit.
#[test]
fn the_scalar_level_is_the_specification() {
    let mut rng = StdRng::seed_from_u64(16);
    for (g, oc) in small_geoms().into_iter().step_by(11) {
        let d = data(&mut rng, &g, oc);
        let level = SimdLevel::Scalar;
        let with = run_all(
            &d,
            g,
            oc,
            |x, w, y| conv2d_with(level, x, w, y, g, oc),
            |dy, w, dx| conv2d_input_grad_with(level, dy, w, dx, g, oc),
            |x, dy, dw| conv2d_weight_grad_with(level, x, dy, dw, g, oc),
        );
        let spec = run_all(
            &d,
            g,
            oc,
            |x, w, y| conv2d_scalar(x, w, y, g, oc),
            |dy, w, dx| conv2d_input_grad_scalar(dy, w, dx, g, oc),
            |x, dy, dw| conv2d_weight_grad_scalar(x, dy, dw, g, oc),
        );
        for (a, b) in with.iter().zip(&spec) {
            assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()), "{g:?} oc {oc}");
        }
    }
}

/// `<conv2d(x), dy> = <x, input_grad(dy)> = <w, weight_grad(x, dy)>`: the input gradient
/// is the adjoint of the forward in x, the weight gradient its adjoint in w.
#[test]
fn the_gradients_are_the_adjoints_of_the_forward() {
    let mut rng = StdRng::seed_from_u64(13);
    for (g, oc) in small_geoms().into_iter().step_by(7).chain(blocked_geoms()) {
        let d = data(&mut rng, &g, oc);
        let out = run_plain(&d, g, oc);
        let (ydy, scale) = dot(&out[0], &d.dy);
        let (xdx, _) = dot(&d.x, &out[1]);
        let (wdw, _) = dot(&d.w, &out[2]);
        let tol = 1e-4 * scale.max(1.0);
        assert!((ydy - xdx).abs() <= tol, "{g:?}: <y,dy> {ydy} vs <x,dx> {xdx}");
        assert!((ydy - wdw).abs() <= tol, "{g:?}: <y,dy> {ydy} vs <w,dw> {wdw}");
    }
}

/// The weight gradient's partial sums are fixed per block, not per thread: two calls give
/// the same bits.
#[test]
fn the_weight_gradient_is_reproducible() {
    let mut rng = StdRng::seed_from_u64(14);
    let (g, oc) = blocked_geoms()[0];
    let d = data(&mut rng, &g, oc);
    let mut first = vec![0.0; oc * g.col_rows()];
    conv2d_weight_grad(&d.x, &d.dy, &mut first, g, oc);
    for _ in 0..3 {
        let mut again = vec![f32::NAN; first.len()];
        conv2d_weight_grad(&d.x, &d.dy, &mut again, g, oc);
        assert!(first.iter().zip(&again).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

/// The selector: direct for one channel on either side at stride 1, blocked otherwise;
/// `AUTOENC_CONV` overrides where the shape allows; a bad value is an error to report.
#[test]
fn the_selector_picks_by_channels_and_stride() {
    let direct = |g: &ConvGeom, oc, forced| Algorithm::choose(g, oc, forced) == Algorithm::Direct;
    let g = ConvGeom::square(4, 16, 28, 28, (3, 3), 1, 1, 1);
    assert!(direct(&g, 1, None), "16 -> 1");
    assert!(direct(&ConvGeom { channels: 1, ..g }, 16, None), "1 -> 16");
    assert!(!direct(&g, 8, None), "16 -> 8");
    assert!(!direct(&ConvGeom { channels: 2, ..g }, 2, None), "2 -> 2");
    assert!(!direct(&ConvGeom { stride_h: 2, ..g }, 1, None), "stride 2x1");
    assert!(!direct(&ConvGeom { stride_w: 2, ..g }, 1, None), "stride 1x2");
    assert!(direct(&g, 8, Some("direct")));
    assert!(!direct(&ConvGeom { stride_w: 2, ..g }, 8, Some("direct")), "direct cannot take stride 2");
    assert!(!direct(&g, 1, Some("blocked")));
    assert!(direct(&g, 1, Some("bogus")), "an unknown value leaves the default");
    assert_eq!(Algorithm::choose(&g, 8, None), Algorithm::Blocked(ImageBlocks::new(&g)));
    assert!(check_forced_value(None).is_ok());
    assert!(check_forced_value(Some("direct")).is_ok() && check_forced_value(Some("blocked")).is_ok());
    // The bench's label says which algorithm and, for blocked, the block plan.
    assert!(Algorithm::Direct.to_string().starts_with("direct"));
    let b = ImageBlocks::new(&ConvGeom { channels: 8, ..g });
    assert_eq!((b.blocks, b.per_block), (2, 2), "two images of 72 x 784 columns fit a 128 Ki-float block");
    let label = Algorithm::Blocked(b).to_string();
    assert!(label.starts_with("blocked") && label.contains("2 x 2 img"), "{label}");
    let err = check_forced_value(Some("im2col")).unwrap_err();
    assert!(err.contains("AUTOENC_CONV") && err.contains("im2col") && err.contains("blocked, direct"), "{err}");
}

#[test]
#[should_panic(expected = "exceeds padded input")]
fn an_empty_geometry_panics_with_its_reason() {
    let g = ConvGeom::square(1, 1, 3, 3, (5, 5), 1, 0, 1);
    conv2d(&[0.0; 9], &[0.0; 25], &mut [], g, 1);
}
