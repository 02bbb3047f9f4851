//! Helpers of the data-movement kernel tests (conv, pool, upsample, layout): bitwise
//! comparison of fast paths with the scalar specification, and the adjoint identity.

use rand::rngs::StdRng;
use rand::Rng;

/// `len` values uniform in [-1, 1).
pub fn random(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

pub fn assert_bitwise(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{what}: element {i}: {g} vs {w}");
    }
}

/// `|a - b| <= tol * scale`, where `scale` is the sum of the magnitudes of the terms that
/// made the values (the natural size of a sum's rounding error, even under cancellation).
pub fn assert_close(what: &str, a: f64, b: f64, scale: f64, tol: f64) {
    assert!((a - b).abs() <= tol * scale, "{what}: {a} vs {b} (scale {scale}, tol {tol})");
}

/// Dot product in f64, and the sum of |terms| for [`assert_close`].
pub fn dot(a: &[f32], b: &[f32]) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(s, m), (&x, &y)| {
        let t = x as f64 * y as f64;
        (s + t, m + t.abs())
    })
}
