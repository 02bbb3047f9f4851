//! Layout changes: [`swap_leading_axes`] (NCHW <-> CNHW around the batched conv matmul).

use crate::im2col::for_each_block_run;

/// `[a, b, inner] -> [b, a, inner]`.
///
/// Uses [`swap_leading_axes_fast`] unless the scalar reference path is forced.
pub fn swap_leading_axes(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    if crate::simd::level() == crate::SimdLevel::Scalar {
        swap_leading_axes_scalar(x, out, a, b, inner)
    } else {
        swap_leading_axes_fast(x, out, a, b, inner)
    }
}

/// The specification: `out[j, i, k] = x[i, j, k]`.
pub fn swap_leading_axes_scalar(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    debug_assert_eq!(x.len(), a * b * inner);
    debug_assert_eq!(out.len(), a * b * inner);
    for i in 0..a {
        for j in 0..b {
            for k in 0..inner {
                out[(j * a + i) * inner + k] = x[(i * b + j) * inner + k];
            }
        }
    }
}

/// Same result as [`swap_leading_axes_scalar`], with the output's `j` rows split across
/// threads when large. Long `inner` rows move as slice copies. A short `inner` makes this
/// a matrix transpose, where a copy call per row would cost more than the data (6x slower
/// at `inner` = 1): indexed element loops (which the compiler does not turn back into
/// copy calls), in tiles of `TILE` output rows so that the writes stay in a few cache
/// lines while the reads stream through `x`.
pub fn swap_leading_axes_fast(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    const TILE: usize = 16;
    debug_assert_eq!(x.len(), a * b * inner);
    debug_assert_eq!(out.len(), a * b * inner);
    let work = out.len();
    for_each_block_run(out, a * inner, work, |j_first, run| {
        let j_count = run.len() / (a * inner).max(1);
        if inner >= 16 {
            for (t, dst) in run.chunks_exact_mut(inner).enumerate() {
                let (j, i) = (j_first + t / a, t % a);
                dst.copy_from_slice(&x[(i * b + j) * inner..][..inner]);
            }
            return;
        }
        for t0 in (0..j_count).step_by(TILE) {
            let t1 = (t0 + TILE).min(j_count);
            for i in 0..a {
                for t in t0..t1 {
                    for k in 0..inner {
                        run[(t * a + i) * inner + k] = x[(i * b + j_first + t) * inner + k];
                    }
                }
            }
        }
    });
}
