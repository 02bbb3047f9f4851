//! Convolution data movement (im2col, col2im) and pooling kernels:
//! fast paths against the scalar specification, the specification against independent
//! naive definitions, and every backward against its forward (adjoint identities).
//! `layout.rs` and `upsample.rs` test the axis swap and the upsampling.

mod kernel_util;

use autoenc_kernels::col2im::{col2im, col2im_fast, col2im_scalar};
use autoenc_kernels::im2col::{im2col, im2col_fast, im2col_scalar};
use autoenc_kernels::pool::{
    max_pool2d, max_pool2d_backward, max_pool2d_backward_fast, max_pool2d_backward_scalar, max_pool2d_fast,
    max_pool2d_scalar,
};
use autoenc_kernels::{ConvGeom, PoolGeom};
use kernel_util::layout_util::{assert_bitwise, assert_close, dot, random};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---- geometry grids ---------------------------------------------------------------------

/// Awkward convolution geometries: 1 and many channels, batch 1 and 3, odd image sizes,
/// kernels 1/2/3/5 (and non-square), strides 1/2/3, padding 0/1/2, dilation 1/2, each
/// also differing between the two axes. Only geometries with an output are kept.
fn conv_geoms() -> Vec<ConvGeom> {
    let mut out = Vec::new();
    for (batch, channels) in [(1, 1), (3, 4), (1, 3)] {
        // 4x37: rows longer than one 16-lane vector, with a ragged tail.
        for (height, width) in [(7, 7), (5, 9), (1, 1), (4, 37)] {
            for (kernel_h, kernel_w) in [(1, 1), (2, 2), (3, 3), (5, 5), (1, 3), (3, 2)] {
                for (stride_h, stride_w) in [(1, 1), (2, 2), (3, 3), (1, 2), (3, 1)] {
                    for (pad_h, pad_w) in [(0, 0), (1, 1), (2, 2), (0, 2), (1, 0)] {
                        for (dil_h, dil_w) in [(1, 1), (2, 2), (1, 2)] {
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
                                out.push(g);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(out.len() > 2000);
    out
}

/// `check` accepts exactly the geometries whose output exists, per axis.
#[test]
fn geometry_check_rejects_empty_outputs() {
    let g = ConvGeom::square(1, 1, 5, 7, (3, 3), 1, 0, 1);
    assert!(g.check().is_ok());
    assert_eq!((g.out_h(), g.out_w()), (3, 5));
    for bad in [
        ConvGeom { kernel_h: 6, ..g },
        ConvGeom { kernel_w: 8, ..g },
        ConvGeom { kernel_w: 0, ..g },
        ConvGeom { stride_h: 0, ..g },
        ConvGeom { stride_w: 0, ..g },
        ConvGeom { dil_h: 0, ..g },
        ConvGeom { dil_w: 3, kernel_w: 4, ..g }, // span 10 > 7
        ConvGeom { pad_h: usize::MAX, ..g },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
    // Padding on one axis only makes room on that axis only.
    assert!(ConvGeom { kernel_h: 7, pad_h: 1, ..g }.check().is_ok());
    assert!(ConvGeom { kernel_h: 7, pad_w: 1, ..g }.check().is_err());
    let ok = ConvGeom { stride_h: 2, stride_w: 3, pad_w: 2, dil_h: 2, ..g };
    assert_eq!((ok.out_h(), ok.out_w()), (1, 3));
}

/// Large enough that the fast paths split the work across threads.
fn big_conv_geoms() -> Vec<ConvGeom> {
    let g = ConvGeom::square(8, 16, 28, 28, (3, 3), 1, 1, 1);
    vec![
        g,
        ConvGeom { stride_h: 2, stride_w: 2, kernel_h: 5, kernel_w: 5, pad_h: 2, pad_w: 2, ..g },
        ConvGeom { batch: 1, channels: 1, height: 600, width: 500, ..g },
        ConvGeom { stride_w: 2, pad_h: 0, dil_h: 2, ..g },
    ]
}

/// Pooling geometries with a valid PyTorch configuration (padding <= kernel / 2).
fn pool_geoms() -> Vec<PoolGeom> {
    let mut out = Vec::new();
    for (batch, channels) in [(1, 1), (3, 4)] {
        for (height, width) in [(7, 7), (5, 9), (1, 1), (8, 6)] {
            for kernel in [1, 2, 3, 5] {
                for stride in [1, 2, 3] {
                    for padding in 0..=kernel / 2 {
                        for ceil_mode in [false, true] {
                            if height + 2 * padding >= kernel && width + 2 * padding >= kernel {
                                out.push(PoolGeom {
                                    batch,
                                    channels,
                                    height,
                                    width,
                                    kernel,
                                    stride,
                                    padding,
                                    ceil_mode,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

// ---- im2col / col2im ----------------------------------------------------------------------

#[test]
fn im2col_fast_matches_scalar_bitwise() {
    let mut rng = StdRng::seed_from_u64(1);
    for g in conv_geoms().into_iter().chain(big_conv_geoms()) {
        let x = random(&mut rng, g.image_len());
        let len = g.col_rows() * g.col_cols();
        let mut want = vec![f32::NAN; len];
        im2col_scalar(&x, &mut want, g);
        // Poisoned outputs: every element must be written.
        let mut got = vec![f32::NAN; len];
        im2col_fast(&x, &mut got, g);
        assert_bitwise(&format!("im2col_fast {g:?}"), &got, &want);
        let mut got = vec![f32::NAN; len];
        im2col(&x, &mut got, g);
        assert_bitwise(&format!("im2col {g:?}"), &got, &want);
    }
}

/// col2im_fast adds in the scalar spec's order, so even the sums agree bit for bit.
#[test]
fn col2im_fast_matches_scalar_bitwise() {
    let mut rng = StdRng::seed_from_u64(2);
    for g in conv_geoms().into_iter().chain(big_conv_geoms()) {
        let cols = random(&mut rng, g.col_rows() * g.col_cols());
        let start = random(&mut rng, g.image_len());
        for accumulate in [false, true] {
            // Without accumulate the initial contents must be ignored: start from NaN.
            let init = if accumulate { start.clone() } else { vec![f32::NAN; g.image_len()] };
            let mut want = init.clone();
            col2im_scalar(&cols, &mut want, g, accumulate);
            let mut got = init.clone();
            col2im_fast(&cols, &mut got, g, accumulate);
            assert_bitwise(&format!("col2im_fast acc={accumulate} {g:?}"), &got, &want);
            let mut got = init;
            col2im(&cols, &mut got, g, accumulate);
            assert_bitwise(&format!("col2im acc={accumulate} {g:?}"), &got, &want);
        }
    }
}

/// col2im is the transpose of im2col: <im2col(x), c> == <x, col2im(c)>.
#[test]
fn col2im_is_adjoint_of_im2col() {
    let mut rng = StdRng::seed_from_u64(3);
    for g in conv_geoms().into_iter().chain(big_conv_geoms()) {
        let x = random(&mut rng, g.image_len());
        let c = random(&mut rng, g.col_rows() * g.col_cols());
        let mut cols = vec![0.0; c.len()];
        im2col(&x, &mut cols, g);
        let mut xt = vec![0.0; x.len()];
        col2im(&c, &mut xt, g, false);
        let (lhs, scale) = dot(&cols, &c);
        let (rhs, _) = dot(&x, &xt);
        assert_close(&format!("adjoint {g:?}"), lhs, rhs, scale, 1e-5);
    }
}

#[test]
fn col2im_accumulate_adds_to_existing() {
    let mut rng = StdRng::seed_from_u64(4);
    let g = ConvGeom { stride_w: 1, pad_h: 2, ..ConvGeom::square(3, 2, 5, 9, (3, 2), 2, 1, 2) };
    let cols = random(&mut rng, g.col_rows() * g.col_cols());
    let base = random(&mut rng, g.image_len());
    let mut fresh = vec![0.0; g.image_len()];
    col2im(&cols, &mut fresh, g, false);
    let mut acc = base.clone();
    col2im(&cols, &mut acc, g, true);
    for i in 0..acc.len() {
        // base + (sum of contributions) vs the contributions summed onto base one by one.
        assert!((acc[i] - (base[i] + fresh[i])).abs() <= 1e-5, "element {i}");
    }
}

/// Naive direct convolution in f64: y[n, o, oh, ow] = sum_{c, ki, kj} w[o, c, ki, kj] * x[...].
fn conv2d_naive(x: &[f32], w: &[f32], c_out: usize, g: ConvGeom) -> Vec<f64> {
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let mut y = vec![0.0f64; g.batch * c_out * oh_n * ow_n];
    for n in 0..g.batch {
        for o in 0..c_out {
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut sum = 0.0f64;
                    for c in 0..g.channels {
                        for ki in 0..g.kernel_h {
                            for kj in 0..g.kernel_w {
                                let h = (oh * g.stride_h + ki * g.dil_h) as i64 - g.pad_h as i64;
                                let wi = (ow * g.stride_w + kj * g.dil_w) as i64 - g.pad_w as i64;
                                if h < 0 || wi < 0 || h >= g.height as i64 || wi >= g.width as i64 {
                                    continue;
                                }
                                let xv = x[((n * g.channels + c) * g.height + h as usize) * g.width + wi as usize];
                                let wv = w[((o * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj];
                                sum += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * c_out + o) * oh_n + oh) * ow_n + ow] = sum;
                }
            }
        }
    }
    y
}

/// W [C_out, C*KH*KW] times im2col(x) [C*KH*KW, N*OH*OW] is the convolution (laid out
/// [C_out, N, OH, OW]). Both sides in f64 from the same f32 values, so they differ only
/// by the order of summation.
#[test]
fn im2col_matmul_equals_naive_conv2d() {
    let mut rng = StdRng::seed_from_u64(5);
    let c_out = 3;
    for g in conv_geoms() {
        let x = random(&mut rng, g.image_len());
        let w = random(&mut rng, c_out * g.col_rows());
        let mut cols = vec![0.0; g.col_rows() * g.col_cols()];
        im2col(&x, &mut cols, g);
        let want = conv2d_naive(&x, &w, c_out, g);
        let (ncols, plane) = (g.col_cols(), g.out_h() * g.out_w());
        for o in 0..c_out {
            for col in 0..ncols {
                let (mut sum, mut scale) = (0.0f64, 0.0f64);
                for r in 0..g.col_rows() {
                    let t = w[o * g.col_rows() + r] as f64 * cols[r * ncols + col] as f64;
                    sum += t;
                    scale += t.abs();
                }
                let (n, p) = (col / plane, col % plane);
                let naive = want[(n * c_out + o) * plane + p];
                assert_close(&format!("conv o={o} col={col} {g:?}"), sum, naive, scale, 1e-12);
            }
        }
    }
}

#[test]
fn im2col_small_case_by_hand() {
    // 1x1x3x3 image 1..9, 2x2 kernel, stride 1, padding 1: 4x4 outputs per tap.
    let g = ConvGeom::square(1, 1, 3, 3, (2, 2), 1, 1, 1);
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let mut cols = vec![f32::NAN; g.col_rows() * g.col_cols()];
    im2col(&x, &mut cols, g);
    #[rustfmt::skip]
    let tap00 = [0., 0., 0., 0.,  0., 1., 2., 3.,  0., 4., 5., 6.,  0., 7., 8., 9.];
    #[rustfmt::skip]
    let tap11 = [1., 2., 3., 0.,  4., 5., 6., 0.,  7., 8., 9., 0.,  0., 0., 0., 0.];
    assert_eq!(&cols[..16], &tap00);
    assert_eq!(&cols[48..], &tap11);
}

// ---- max pooling ----------------------------------------------------------------------------

/// Independent reference: pads the plane with `None`, then scans each full window in
/// row-major order keeping the first strict maximum (no NaN in these inputs).
fn max_pool2d_naive(x: &[f32], g: PoolGeom) -> (Vec<f32>, Vec<u32>) {
    let (ph, pw) = (g.height + 2 * g.padding, g.width + 2 * g.padding);
    let (oh_n, ow_n) = (g.out_h(), g.out_w());
    let (mut y, mut am) = (Vec::new(), Vec::new());
    for plane in x.chunks(g.height * g.width) {
        let mut padded = vec![None; ph * pw];
        for h in 0..g.height {
            for w in 0..g.width {
                padded[(h + g.padding) * pw + w + g.padding] = Some((plane[h * g.width + w], (h * g.width + w) as u32));
            }
        }
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let mut best: Option<(f32, u32)> = None;
                for ki in 0..g.kernel {
                    for kj in 0..g.kernel {
                        let (h, w) = (oh * g.stride + ki, ow * g.stride + kj);
                        // ceil_mode windows may run past the padded image: those taps are empty.
                        if h >= ph || w >= pw {
                            continue;
                        }
                        if let Some((v, at)) = padded[h * pw + w] {
                            if best.is_none_or(|(b, _)| v > b) {
                                best = Some((v, at));
                            }
                        }
                    }
                }
                let (v, at) = best.expect("every window holds an input");
                y.push(v);
                am.push(at);
            }
        }
    }
    (y, am)
}

#[test]
fn max_pool2d_output_sizes_follow_pytorch() {
    let g = |height, kernel, stride, padding, ceil_mode| PoolGeom {
        batch: 1,
        channels: 1,
        height,
        width: height,
        kernel,
        stride,
        padding,
        ceil_mode,
    };
    assert_eq!(g(7, 2, 2, 0, true).out_h(), 4);
    assert_eq!(g(7, 2, 2, 0, false).out_h(), 3);
    assert_eq!(g(7, 3, 2, 1, false).out_h(), 4);
    // The last ceil window would start in the right padding: dropped (5 -> 3, not 4).
    assert_eq!(g(5, 2, 2, 1, true).out_h(), 3);
}

#[test]
fn max_pool2d_matches_naive_reference() {
    let mut rng = StdRng::seed_from_u64(7);
    for g in pool_geoms() {
        // Mostly distinct values, and a low-entropy run full of ties.
        for ties in [false, true] {
            let x: Vec<f32> = if ties {
                (0..g.in_len()).map(|_| rng.random_range(0..3) as f32).collect()
            } else {
                random(&mut rng, g.in_len())
            };
            let (want_y, want_am) = max_pool2d_naive(&x, g);
            let mut y = vec![f32::NAN; g.out_len_total()];
            let mut am = vec![u32::MAX - 1; g.out_len_total()];
            max_pool2d_scalar(&x, &mut y, &mut am, g);
            assert_bitwise(&format!("pool scalar y {g:?}"), &y, &want_y);
            assert_eq!(am, want_am, "pool scalar argmax {g:?}");
        }
    }
}

#[test]
fn max_pool2d_fast_matches_scalar_bitwise() {
    let mut rng = StdRng::seed_from_u64(8);
    let big =
        PoolGeom { batch: 8, channels: 16, height: 64, width: 64, kernel: 2, stride: 2, padding: 0, ceil_mode: false };
    let big_overlap = PoolGeom { kernel: 3, stride: 2, padding: 1, height: 63, width: 61, ..big };
    for g in pool_geoms().into_iter().chain([big, big_overlap]) {
        let mut x = random(&mut rng, g.in_len());
        // Some NaN and -inf, whose handling must agree too.
        for _ in 0..g.in_len() / 10 {
            let i = rng.random_range(0..x.len());
            x[i] = if rng.random::<bool>() { f32::NAN } else { f32::NEG_INFINITY };
        }
        let n = g.out_len_total();
        let (mut want_y, mut want_am) = (vec![f32::NAN; n], vec![u32::MAX - 1; n]);
        max_pool2d_scalar(&x, &mut want_y, &mut want_am, g);
        let (mut y, mut am) = (vec![f32::NAN; n], vec![u32::MAX - 1; n]);
        max_pool2d_fast(&x, &mut y, &mut am, g);
        assert_bitwise(&format!("pool fast y {g:?}"), &y, &want_y);
        assert_eq!(am, want_am, "pool fast argmax {g:?}");
        let (mut y, mut am) = (vec![f32::NAN; n], vec![u32::MAX - 1; n]);
        max_pool2d(&x, &mut y, &mut am, g);
        assert_bitwise(&format!("pool y {g:?}"), &y, &want_y);
        assert_eq!(am, want_am, "pool argmax {g:?}");
    }
}

#[test]
fn max_pool2d_nan_propagates_and_padding_never_wins() {
    let g = PoolGeom { batch: 1, channels: 1, height: 2, width: 2, kernel: 2, stride: 2, padding: 1, ceil_mode: false };
    // Every window holds one real tap, all -inf: the output is -inf at that tap, not padding.
    let x = [f32::NEG_INFINITY; 4];
    let (mut y, mut am) = (vec![0.0; 4], vec![0u32; 4]);
    max_pool2d(&x, &mut y, &mut am, g);
    assert_eq!(y, [f32::NEG_INFINITY; 4]);
    assert_eq!(am, [0, 1, 2, 3]);
    let g = PoolGeom { height: 3, width: 3, padding: 0, stride: 1, ..g };
    let x = [1.0, f32::NAN, 2.0, 5.0, 0.0, 3.0, 4.0, 4.0, 9.0];
    let (mut y, mut am) = (vec![0.0; 4], vec![0u32; 4]);
    max_pool2d(&x, &mut y, &mut am, g);
    assert!(y[0].is_nan() && y[1].is_nan());
    assert_eq!((am[0], am[1]), (1, 1));
    assert_eq!((y[2], am[2]), (5.0, 3));
    assert_eq!((y[3], am[3]), (9.0, 8));
}

/// The backward scatters to the forward's winners: for the fixed argmax, it is the
/// transpose of the gather `(G v)[o] = v[plane + argmax[o]]`, and G x is the forward output.
#[test]
fn max_pool2d_backward_is_adjoint_of_winner_gather() {
    let mut rng = StdRng::seed_from_u64(9);
    let big =
        PoolGeom { batch: 8, channels: 16, height: 63, width: 61, kernel: 3, stride: 2, padding: 1, ceil_mode: true };
    for g in pool_geoms().into_iter().chain([big]) {
        let x = random(&mut rng, g.in_len());
        let (mut y, mut am) = (vec![0.0; g.out_len_total()], vec![0u32; g.out_len_total()]);
        max_pool2d(&x, &mut y, &mut am, g);
        let (in_plane, out_plane) = (g.height * g.width, g.out_h() * g.out_w());
        let gather = |v: &[f32]| -> Vec<f32> {
            am.iter().enumerate().map(|(o, &a)| v[(o / out_plane) * in_plane + a as usize]).collect()
        };
        assert_bitwise(&format!("pool y is x at argmax {g:?}"), &gather(&x), &y);

        let dy = random(&mut rng, g.out_len_total());
        let v = random(&mut rng, g.in_len());
        let mut dx = vec![f32::NAN; g.in_len()];
        max_pool2d_backward(&dy, &am, &mut dx, g);
        let (lhs, scale) = dot(&dy, &gather(&v));
        let (rhs, _) = dot(&dx, &v);
        assert_close(&format!("pool adjoint {g:?}"), lhs, rhs, scale, 1e-5);

        let mut want = vec![f32::NAN; g.in_len()];
        max_pool2d_backward_scalar(&dy, &am, &mut want, g);
        let mut got = vec![f32::NAN; g.in_len()];
        max_pool2d_backward_fast(&dy, &am, &mut got, g);
        assert_bitwise(&format!("pool backward fast {g:?}"), &got, &want);
        assert_bitwise(&format!("pool backward {g:?}"), &dx, &want);
    }
}

/// Finite differences through the forward pass: with distinct inputs the winners do not
/// change under a small step, so (f(x + e v) - f(x - e v)) / 2e . dy == v . dx.
#[test]
fn max_pool2d_backward_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(10);
    let g = PoolGeom { batch: 2, channels: 3, height: 7, width: 7, kernel: 3, stride: 2, padding: 1, ceil_mode: true };
    // Distinct values i/64 (a shuffled ramp, below 8), far apart compared to the step.
    let mut x: Vec<f32> = (0..g.in_len()).map(|i| i as f32 / 64.0).collect();
    for i in (1..x.len()).rev() {
        x.swap(i, rng.random_range(0..=i));
    }
    // Directions on a grid of 1/256 and a step of 2^-10: x +- eps*v is a multiple of 2^-18
    // below 8, exact in f32, so the difference quotient carries no rounding at all.
    let (n, eps) = (g.out_len_total(), 1.0f32 / 1024.0);
    let v: Vec<f32> = (0..g.in_len()).map(|_| rng.random_range(-256..=256) as f32 / 256.0).collect();
    let dy = random(&mut rng, n);
    let forward = |sign: f32| {
        let xs: Vec<f32> = x.iter().zip(&v).map(|(a, b)| a + sign * eps * b).collect();
        let (mut y, mut am) = (vec![0.0; n], vec![0u32; n]);
        max_pool2d(&xs, &mut y, &mut am, g);
        y
    };
    let (yp, ym) = (forward(1.0), forward(-1.0));
    let fd: f64 = (0..n).map(|o| (yp[o] as f64 - ym[o] as f64) / (2.0 * eps as f64) * dy[o] as f64).sum();
    let (mut y, mut am) = (vec![0.0; n], vec![0u32; n]);
    max_pool2d(&x, &mut y, &mut am, g);
    let mut dx = vec![0.0; g.in_len()];
    max_pool2d_backward(&dy, &am, &mut dx, g);
    let (analytic, scale) = dot(&dx, &v);
    // Only dx's f32 sums of overlapping windows' dy round.
    assert_close("pool finite differences", fd, analytic, scale, 1e-5);
}
