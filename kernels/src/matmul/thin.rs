//! Products too thin for the packed driver (padding `m` to `MR` rows and packing a B that is
//! read only once): `m <= MAX_M` (and `k > 0`). They are memory-bound, so they stream the big
//! operand once, unpacked, with plain-Rust loops that LLVM vectorizes inside a
//! `target_feature` function. Each batch item is computed on its own.

use super::driver::{OutPtr, PAR_MIN_MACS};
use super::MatmulDims;
use crate::SimdLevel;
use std::ops::Range;

/// Rows of op(A) up to which a product counts as thin.
const MAX_M: usize = 4;
/// Columns of C kept in L1 while the rows of B stream past (`!trans_b`).
const NB: usize = 1024;
/// Depth of one chunk of a dot product (`trans_b`): the B chunk stays in L1 for the `m` rows
/// of A, and the chunk sums are added in f32 (a blocked sum, more accurate than one chain).
const KB: usize = 2048;
/// Lanes of a dot product's accumulator: 4 zmm or 8 ymm independent chains.
const LANES: usize = 64;

pub(super) fn takes(d: &MatmulDims) -> bool {
    d.m <= MAX_M && d.k > 0
}

/// One worker's share of one product. Pointers are the product's own C (or a private
/// partial buffer); ranges are disjoint between workers.
enum Job<'a> {
    /// `k == 1`: `C[e] (+)= a[e / n] * b[e % n]` for the flat output elements `elems`.
    Outer { a: &'a [f32], b: &'a [f32], c: OutPtr, n: usize, elems: Range<usize>, acc: bool },
    /// `!trans_b`: columns `cols` of `C[m,n] (+)= op(A)·B`, B stored `[k,n]`.
    Rows { a: &'a [f32], b: &'a [f32], c: OutPtr, d: MatmulDims, cols: Range<usize> },
    /// `trans_b`: `out[i * ldo + j] (+)= A_i[ks] · B_j[ks]` for `j` in `rows`, with `A` `m`
    /// contiguous rows of length `k` (row stride `k`) and B stored `[n,k]`.
    Dots {
        a: &'a [f32],
        b: &'a [f32],
        out: OutPtr,
        ldo: usize,
        m: usize,
        k: usize,
        rows: Range<usize>,
        ks: Range<usize>,
        acc: bool,
    },
}

pub(super) fn matmul(level: SimdLevel, a: &[f32], b: &[f32], c: &mut [f32], d: MatmulDims) {
    #[cfg(target_arch = "x86_64")]
    if matches!(level, SimdLevel::Avx2Fma | SimdLevel::Avx512) {
        assert!(crate::simd::available_levels().contains(&level), "matmul: {} is not available", level.name());
    }
    #[cfg(not(target_arch = "x86_64"))]
    assert!(!matches!(level, SimdLevel::Avx2Fma | SimdLevel::Avx512), "matmul: {} is not available", level.name());
    let macs = d.m * d.n * d.k;
    let nt_item = if macs >= PAR_MIN_MACS { crate::simd::threads() } else { 1 };
    let out = OutPtr(c.as_mut_ptr());
    if nt_item == 1 && d.batch > 1 && d.batch * macs >= PAR_MIN_MACS && crate::simd::threads() > 1 {
        // Many small thin products: whole products per worker, each single-threaded.
        let nt = crate::simd::threads().min(d.batch);
        let per = d.batch.div_ceil(nt);
        crate::workers::run(nt, &|_, w| {
            (w * per..((w + 1) * per).min(d.batch)).for_each(|t| product(level, a, b, out, &d, t, 1))
        });
    } else {
        (0..d.batch).for_each(|t| product(level, a, b, out, &d, t, nt_item));
    }
}

/// Splits `0..len` into `nt` shares, whole `unit`s each; share `w`.
fn share(len: usize, unit: usize, nt: usize, w: usize) -> Range<usize> {
    let per = len.div_ceil(unit).div_ceil(nt) * unit;
    (w * per).min(len)..((w + 1) * per).min(len)
}

/// Runs `jobs[w]` on worker `w`, worker 0 being the caller.
fn run_all(level: SimdLevel, jobs: Vec<Job>) {
    assert!(!jobs.is_empty(), "at least one job");
    crate::workers::run(jobs.len(), &|_, w| run(level, &jobs[w]));
}

/// Product `t` on `nt` workers.
fn product(level: SimdLevel, a: &[f32], b: &[f32], out: OutPtr, d: &MatmulDims, t: usize, nt: usize) {
    let (m, k, n) = (d.m, d.k, d.n);
    let a = &a[t * d.stride_a..][..m * k];
    let b = &b[t * d.stride_b..][..k * n];
    // SAFETY: `check` proved C holds every product's `m x n` block at `t * stride_c`.
    let c = OutPtr(unsafe { out.get().add(t * d.stride_c) });
    if k == 1 {
        // Both operands are contiguous vectors whatever the transposes.
        let jobs = (0..nt).map(|w| Job::Outer { a, b, c, n, elems: share(m * n, 16, nt, w), acc: d.accumulate });
        run_all(level, jobs.collect());
    } else if !d.trans_b {
        let jobs = (0..nt).map(|w| Job::Rows { a, b, c, d: *d, cols: share(n, 16, nt, w) });
        run_all(level, jobs.collect());
    } else {
        // Dot products need A's rows contiguous: gather them when stored transposed.
        let gathered: Vec<f32>;
        let a = if d.trans_a && m > 1 {
            gathered = (0..m).flat_map(|i| (0..k).map(move |p| a[p * m + i])).collect();
            &gathered[..]
        } else {
            a
        };
        if n >= nt {
            let jobs = (0..nt).map(|w| Job::Dots {
                a,
                b,
                out: c,
                ldo: n,
                m,
                k,
                rows: share(n, 1, nt, w),
                ks: 0..k,
                acc: d.accumulate,
            });
            run_all(level, jobs.collect());
        } else {
            // Few long dot products: split the depth, then add the partial sums in order.
            let mut partial = vec![0.0f32; nt * m * n];
            let p = OutPtr(partial.as_mut_ptr());
            let jobs = (0..nt).map(|w| Job::Dots {
                a,
                b,
                // SAFETY: worker w's `m * n` block of `partial`.
                out: OutPtr(unsafe { p.get().add(w * m * n) }),
                ldo: n,
                m,
                k,
                rows: 0..n,
                ks: share(k, LANES, nt, w),
                acc: false,
            });
            run_all(level, jobs.collect());
            for e in 0..m * n {
                let sum = partial[e..].iter().step_by(m * n).sum::<f32>();
                // SAFETY: e < m*n, inside this product's C block; the workers have joined.
                unsafe {
                    let o = c.get().add(e);
                    *o = if d.accumulate { *o + sum } else { sum };
                }
            }
        }
    }
}

fn run(level: SimdLevel, job: &Job) {
    match level {
        // SAFETY: `matmul` asserted that this CPU has the level's features.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { run_avx512(job) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma => unsafe { run_avx2(job) },
        _ => run_body(job),
    }
}

/// `run_body` compiled with each x86 level's target features (LLVM vectorizes it there).
macro_rules! run_with_features {
    ($($name:ident = $features:literal),*) => {$(
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name(job: &Job) {
            run_body(job)
        }
    )*};
}
run_with_features!(run_avx512 = "avx512f", run_avx2 = "avx2,fma");

#[inline(always)]
fn run_body(job: &Job) {
    match *job {
        Job::Outer { a, b, c, n, ref elems, acc } => {
            let mut e = elems.start;
            while e < elems.end {
                let (i, j0) = (e / n, e % n);
                let j1 = n.min(j0 + elems.end - e);
                // SAFETY: elements e..e + (j1 - j0) of row i lie in this job's range of C.
                let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(e), j1 - j0) };
                scale(a[i], &b[j0..j1], row, acc);
                e += j1 - j0;
            }
        }
        Job::Rows { a, b, c, d, ref cols } => {
            let (m, k, n) = (d.m, d.k, d.n);
            for j0 in cols.clone().step_by(NB) {
                let w = NB.min(cols.end - j0);
                for i in 0..m {
                    // SAFETY: columns j0..j0+w of row i are in this job's columns of C.
                    let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(i * n + j0), w) };
                    let a_i0 = if d.trans_a { a[i] } else { a[i * k] };
                    scale(a_i0, &b[j0..j0 + w], row, d.accumulate);
                }
                for p in 1..k {
                    let b_p = &b[p * n + j0..][..w];
                    for i in 0..m {
                        // SAFETY: as above.
                        let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(i * n + j0), w) };
                        let a_ip = if d.trans_a { a[p * m + i] } else { a[i * k + p] };
                        axpy(a_ip, b_p, row);
                    }
                }
            }
        }
        Job::Dots { a, b, out, ldo, m, k, ref rows, ref ks, acc } => {
            for j in rows.clone() {
                let b_j = &b[j * k..][..k];
                let mut sums = [0.0f32; MAX_M];
                for p0 in ks.clone().step_by(KB) {
                    let p1 = ks.end.min(p0 + KB);
                    for (i, sum) in sums.iter_mut().enumerate().take(m) {
                        *sum += dot(&a[i * k + p0..i * k + p1], &b_j[p0..p1]);
                    }
                }
                for (i, &sum) in sums.iter().enumerate().take(m) {
                    // SAFETY: (i, j) with j in this job's rows, inside `out`'s m x ldo block.
                    unsafe {
                        let o = out.get().add(i * ldo + j);
                        *o = if acc { *o + sum } else { sum };
                    }
                }
            }
        }
    }
}

/// `y = alpha * x (+ y)`.
#[inline(always)]
fn scale(alpha: f32, x: &[f32], y: &mut [f32], acc: bool) {
    if acc {
        axpy(alpha, x, y);
    } else {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = alpha * x;
        }
    }
}

/// `y += alpha * x`.
#[inline(always)]
fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `x · y` with `LANES` independent partial sums.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail = xc.remainder().iter().zip(yc.remainder()).map(|(&x, &y)| x * y).sum::<f32>();
    for (x, y) in xc.zip(yc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0] + tail
}
