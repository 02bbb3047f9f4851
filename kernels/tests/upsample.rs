//! Nearest-neighbour upsampling (kernels/src/upsample.rs): fast paths against the scalar
//! specification, and the backward against its forward (adjoint identity).

use autoenc_kernels::upsample::{
    upsample2d, upsample2d_backward, upsample2d_backward_fast, upsample2d_backward_scalar, upsample2d_fast,
    upsample2d_scalar,
};
use autoenc_kernels::UpsampleGeom;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

fn assert_bitwise(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{what}: element {i}: {g} vs {w}");
    }
}

/// `|a - b| <= tol * scale`, where `scale` is the sum of the magnitudes of the terms that
/// made the values (the natural size of a sum's rounding error, even under cancellation).
fn assert_close(what: &str, a: f64, b: f64, scale: f64, tol: f64) {
    assert!((a - b).abs() <= tol * scale, "{what}: {a} vs {b} (scale {scale}, tol {tol})");
}

/// Dot product in f64, and the sum of |terms| for [`assert_close`].
fn dot(a: &[f32], b: &[f32]) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(s, m), (&x, &y)| {
        let t = x as f64 * y as f64;
        (s + t, m + t.abs())
    })
}

fn upsample_geoms() -> Vec<UpsampleGeom> {
    let mut out = Vec::new();
    for (batch, channels) in [(1, 1), (3, 4)] {
        for (height, width) in [(7, 7), (5, 9), (1, 1)] {
            for scale in [1, 2, 3] {
                out.push(UpsampleGeom { batch, channels, height, width, scale });
            }
        }
    }
    out.push(UpsampleGeom { batch: 8, channels: 8, height: 40, width: 40, scale: 2 });
    out
}

// ---- upsampling -----------------------------------------------------------------------------

#[test]
fn upsample2d_fast_matches_scalar_and_definition() {
    let mut rng = StdRng::seed_from_u64(11);
    for g in upsample_geoms() {
        let x = random(&mut rng, g.in_len());
        let mut want = vec![f32::NAN; g.out_len()];
        upsample2d_scalar(&x, &mut want, g);
        let mut got = vec![f32::NAN; g.out_len()];
        upsample2d_fast(&x, &mut got, g);
        assert_bitwise(&format!("upsample fast {g:?}"), &got, &want);
        let mut got = vec![f32::NAN; g.out_len()];
        upsample2d(&x, &mut got, g);
        assert_bitwise(&format!("upsample {g:?}"), &got, &want);
        // Spot check: the last output comes from the last input of its plane.
        assert_eq!(want[g.out_len() - 1], x[g.in_len() - 1]);
    }
}

#[test]
fn upsample2d_backward_is_adjoint_and_fast_matches_scalar() {
    let mut rng = StdRng::seed_from_u64(12);
    for g in upsample_geoms() {
        let x = random(&mut rng, g.in_len());
        let dy = random(&mut rng, g.out_len());
        let mut y = vec![0.0; g.out_len()];
        upsample2d(&x, &mut y, g);
        let mut want = vec![f32::NAN; g.in_len()];
        upsample2d_backward_scalar(&dy, &mut want, g);
        let mut got = vec![f32::NAN; g.in_len()];
        upsample2d_backward_fast(&dy, &mut got, g);
        assert_bitwise(&format!("upsample backward fast {g:?}"), &got, &want);
        let mut dx = vec![f32::NAN; g.in_len()];
        upsample2d_backward(&dy, &mut dx, g);
        assert_bitwise(&format!("upsample backward {g:?}"), &dx, &want);
        let (lhs, scale) = dot(&y, &dy);
        let (rhs, _) = dot(&x, &dx);
        assert_close(&format!("upsample adjoint {g:?}"), lhs, rhs, scale, 1e-5);
    }
}
