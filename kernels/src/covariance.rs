//! Covariance of the rows of a matrix around a given mean, in f64: `C = X_c^T X_c / n` with
//! `X_c = X - mean` (PCA's first step).
//!
//! [`covariance_scalar`] is the specification. The fast path is a blocked symmetric rank-k
//! update: only the tiles at or above the diagonal, a 4x8 register tile of f64, rows
//! centred into chunks that stay in L2, threads over rows, their partial sums added at the
//! end and mirrored into the lower triangle. Every output element is one chain of
//! multiply-adds per chunk, so the vector width does not change the result; FMA does.
//!
//! Levels: `Avx2Fma` and `Avx512` run the blocked update compiled with AVX2 + FMA (the
//! compiler vectorises the tile; `mul_add` is one instruction). `Scalar` and `Neon` run the
//! same blocked update without FMA (plain multiply then add), which is what PCA has always
//! computed on CPUs without AVX2, so PCA's numbers do not depend on this module's layout:
//! `covariance_with(Scalar, ..)` is therefore *not* the spec, which tests call directly.

use crate::SimdLevel;

/// Output tile of the rank-k update: MR rows (broadcast) by NR columns (vector loads).
/// 4x8 f64 = 8 AVX2 accumulators, leaving registers for the loads.
const MR: usize = 4;
const NR: usize = 8;
/// Rows per chunk: a 784-wide chunk of 128 f64 rows is 800 KB, which stays in L2 while
/// every tile of the upper triangle streams over it.
const CHUNK: usize = 128;

/// The `d x d` covariance (normalised by `n`, row-major) of the `n` rows of `d` values of
/// `x` (row-major) around `mean`, at the best SIMD level, multi-threaded over rows.
///
/// # Panics
/// If `x` is not `n x d` or `mean` not `d` long.
pub fn covariance(x: &[f32], n: usize, d: usize, mean: &[f64]) -> Vec<f64> {
    covariance_with(crate::simd::level(), x, n, d, mean)
}

/// [`covariance`] at a chosen level (see the module doc for what each level runs).
///
/// # Panics
/// As [`covariance`], and if this CPU lacks an x86 `level`.
pub fn covariance_with(level: SimdLevel, x: &[f32], n: usize, d: usize, mean: &[f64]) -> Vec<f64> {
    check(x, n, d, mean);
    let fma = match level {
        SimdLevel::Scalar | SimdLevel::Neon => false,
        SimdLevel::Avx2Fma | SimdLevel::Avx512 => {
            assert!(crate::simd::available_levels().contains(&level), "covariance: {} is not available", level.name());
            true
        }
    };
    blocked(x, n, d, mean, fma)
}

/// The specification: for each row in order, add the outer product of the centred row to
/// `C` in f64, then divide by `n`.
pub fn covariance_scalar(x: &[f32], n: usize, d: usize, mean: &[f64]) -> Vec<f64> {
    check(x, n, d, mean);
    let mut c = vec![0.0f64; d * d];
    let mut centred = vec![0.0f64; d];
    for row in x.chunks_exact(d).take(n) {
        for ((o, &v), &m) in centred.iter_mut().zip(row).zip(mean) {
            *o = v as f64 - m;
        }
        for (i, &ci) in centred.iter().enumerate() {
            for (out, &cj) in c[i * d..(i + 1) * d].iter_mut().zip(&centred) {
                *out += ci * cj;
            }
        }
    }
    c.iter_mut().for_each(|v| *v /= n as f64);
    c
}

fn check(x: &[f32], n: usize, d: usize, mean: &[f64]) {
    assert_eq!(x.len(), n * d, "covariance: x holds {} values, expected {n} x {d}", x.len());
    assert_eq!(mean.len(), d, "covariance: mean holds {} values, expected {d}", mean.len());
}

/// The blocked, threaded update; `fma` selects the AVX2 + FMA compilation of the tile loop
/// (the caller checked the CPU has it).
fn blocked(x: &[f32], n: usize, d: usize, mean: &[f64], fma: bool) -> Vec<f64> {
    // Columns padded to the tile width so tiles need no edge cases (padding stays zero).
    let dp = d.div_ceil(NR) * NR;
    // Each thread sums its own share of rows; the partial sums are added at the end.
    let threads = crate::simd::threads().min(n.div_ceil(CHUNK)).max(1);
    let per = n.div_ceil(threads);
    let partials = crate::workers::map(threads, &|t| {
        covariance_rows(&x[(t * per).min(n) * d..((t + 1) * per).min(n) * d], d, dp, mean, fma)
    });
    let mut c = vec![0.0f64; d * d];
    for i in 0..d {
        for j in i..d {
            let v = partials.iter().map(|p| p[i * dp + j]).sum::<f64>() / n as f64;
            c[i * d + j] = v;
            c[j * d + i] = v;
        }
    }
    c
}

/// Upper triangle (by tiles) of `X_c^T X_c` over `rows`, `dp x dp`.
fn covariance_rows(rows: &[f32], d: usize, dp: usize, mean: &[f64], fma: bool) -> Vec<f64> {
    let mut c = vec![0.0f64; dp * dp];
    let mut buf = vec![0.0f64; CHUNK * dp];
    for chunk in rows.chunks(CHUNK * d) {
        let r = chunk.len() / d;
        for (src, dst) in chunk.chunks_exact(d).zip(buf.chunks_exact_mut(dp)) {
            for ((o, &v), &m) in dst.iter_mut().zip(src).zip(mean) {
                *o = v as f64 - m;
            }
        }
        syrk_upper(&buf[..r * dp], r, dp, &mut c, fma);
    }
    c
}

/// `c += a^T a` on the tiles at or above the diagonal; `a` is `rows x dp`.
fn syrk_upper(a: &[f64], rows: usize, dp: usize, c: &mut [f64], fma: bool) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `covariance_with` chose `fma` only for a level this CPU has, and both x86
        // levels imply AVX2 and FMA.
        unsafe { syrk_upper_avx2(a, rows, dp, c) };
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    assert!(!fma, "covariance: FMA levels exist only on x86_64");
    syrk_upper_generic::<false>(a, rows, dp, c);
}

/// The same loops compiled with AVX2 + FMA enabled (the compiler vectorises the tile).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn syrk_upper_avx2(a: &[f64], rows: usize, dp: usize, c: &mut [f64]) {
    syrk_upper_generic::<true>(a, rows, dp, c);
}

#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, acc: f64) -> f64 {
    // mul_add is one instruction only where FMA is enabled; elsewhere it is a libm call.
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

#[inline(always)]
fn syrk_upper_generic<const FMA: bool>(a: &[f64], rows: usize, dp: usize, c: &mut [f64]) {
    for i0 in (0..dp).step_by(MR) {
        // The first column tile that touches the upper triangle of these MR rows.
        let j_start = i0 / NR * NR;
        for j0 in (j_start..dp).step_by(NR) {
            let mut acc = [[0.0f64; NR]; MR];
            for row in a.chunks_exact(dp).take(rows) {
                let ai: &[f64; MR] = row[i0..i0 + MR].try_into().expect("tile in bounds");
                let bj: &[f64; NR] = row[j0..j0 + NR].try_into().expect("tile in bounds");
                for (acc_row, &av) in acc.iter_mut().zip(ai) {
                    for (s, &bv) in acc_row.iter_mut().zip(bj) {
                        *s = madd::<FMA>(av, bv, *s);
                    }
                }
            }
            for (ii, acc_row) in acc.iter().enumerate() {
                let dst = &mut c[(i0 + ii) * dp + j0..(i0 + ii) * dp + j0 + NR];
                for (o, &v) in dst.iter_mut().zip(acc_row) {
                    *o += v;
                }
            }
        }
    }
}
