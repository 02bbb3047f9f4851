//! Principal component analysis on the CPU, in f64: the reference a linear autoencoder
//! is measured against (with MSE and no activations it reaches PCA's reconstruction error
//! and spans the same subspace).
//!
//! Three pieces, all written here:
//! - the covariance, `X_c^T X_c / n`, as a blocked symmetric rank-k update (upper triangle
//!   only, a 4x8 register tile, rows streamed in chunks that stay in L2, threads over rows);
//! - a symmetric eigensolver: Householder reduction to tridiagonal form, then the implicit
//!   QL algorithm with Wilkinson-style shifts ([`symmetric_eigen`]);
//! - principal angles between two subspaces ([`principal_angles`]).

use crate::error::{Error, Result};

/// A fitted PCA: `x ~ mean + components^T (components (x - mean))`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Per-dimension mean of the training data (`d`).
    pub mean: Vec<f64>,
    /// The top `k` principal directions, `k x d` row-major, orthonormal rows, in order of
    /// decreasing variance.
    pub components: Vec<f64>,
    /// All `d` eigenvalues of the covariance (normalised by `n`), descending: the variance
    /// along each principal direction.
    pub eigenvalues: Vec<f64>,
    pub k: usize,
    pub d: usize,
}

impl Pca {
    /// Fits the top `k` components of `n` rows of `d` values (`x` row-major).
    pub fn fit(x: &[f32], n: usize, d: usize, k: usize) -> Result<Pca> {
        if n == 0 || d == 0 {
            return Err(Error::Config(format!("PCA needs data: got {n} rows of {d} values")));
        }
        if k == 0 || k > d {
            return Err(Error::Config(format!("PCA code size must be in 1..={d} (the input dimension), got {k}")));
        }
        if x.len() != n * d {
            return Err(Error::Shape(format!("PCA input has {} values, expected {n} x {d} = {}", x.len(), n * d)));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite(format!("PCA input value {i} (row {}) is {}", i / d, x[i])));
        }
        let mean = column_mean(x, n, d);
        let cov = covariance(x, n, d, &mean);
        let (eigenvalues, vectors) = symmetric_eigen(&cov, d)?;
        Ok(Pca { mean, components: vectors[..k * d].to_vec(), eigenvalues, k, d })
    }

    /// The fraction of the total variance the `k` components keep.
    pub fn explained_variance_ratio(&self) -> f64 {
        let total: f64 = self.eigenvalues.iter().map(|&l| l.max(0.0)).sum();
        let kept: f64 = self.eigenvalues[..self.k].iter().map(|&l| l.max(0.0)).sum();
        if total > 0.0 {
            kept / total
        } else {
            1.0
        }
    }

    /// Codes of the rows of `x`: `(x - mean) components^T`, `n x k`.
    pub fn project(&self, x: &[f32]) -> Result<Vec<f64>> {
        let n = self.rows(x)?;
        let (d, k) = (self.d, self.k);
        let mut codes = vec![0.0; n * k];
        let mut centered = vec![0.0; d];
        for (row, code) in x.chunks_exact(d).zip(codes.chunks_exact_mut(k)) {
            for ((c, &v), &m) in centered.iter_mut().zip(row).zip(&self.mean) {
                *c = v as f64 - m;
            }
            for (c, comp) in code.iter_mut().zip(self.components.chunks_exact(d)) {
                *c = dot(&centered, comp);
            }
        }
        debug_assert_eq!(codes.len(), n * k);
        Ok(codes)
    }

    /// Reconstructions of the rows of `x` from their `k`-dimensional codes.
    pub fn reconstruct(&self, x: &[f32]) -> Result<Vec<f32>> {
        let codes = self.project(x)?;
        let d = self.d;
        let mut out = vec![0.0f32; x.len()];
        let mut row = vec![0.0f64; d];
        for (code, dst) in codes.chunks_exact(self.k).zip(out.chunks_exact_mut(d)) {
            self.decode_into(code, &mut row);
            for (o, &v) in dst.iter_mut().zip(&row) {
                *o = v as f32;
            }
        }
        Ok(out)
    }

    /// Reconstruction error on the rows of `x`, in f64: (mean squared error per value,
    /// squared error summed over a row and averaged over rows). The second is what
    /// metrics.csv calls `test_sse_per_image`.
    pub fn reconstruction_error(&self, x: &[f32]) -> Result<(f64, f64)> {
        let n = self.rows(x)?;
        if n == 0 {
            return Err(Error::Config("reconstruction error of an empty set".into()));
        }
        let codes = self.project(x)?;
        let mut row = vec![0.0f64; self.d];
        let mut sse = 0.0;
        for (code, src) in codes.chunks_exact(self.k).zip(x.chunks_exact(self.d)) {
            self.decode_into(code, &mut row);
            sse += row.iter().zip(src).map(|(&r, &t)| (r - t as f64).powi(2)).sum::<f64>();
        }
        Ok((sse / (n * self.d) as f64, sse / n as f64))
    }

    /// `row = mean + code components`.
    fn decode_into(&self, code: &[f64], row: &mut [f64]) {
        row.copy_from_slice(&self.mean);
        for (&c, comp) in code.iter().zip(self.components.chunks_exact(self.d)) {
            for (r, &v) in row.iter_mut().zip(comp) {
                *r += c * v;
            }
        }
    }

    fn rows(&self, x: &[f32]) -> Result<usize> {
        if !x.len().is_multiple_of(self.d) {
            return Err(Error::Shape(format!("{} values are not whole rows of the PCA dimension {}", x.len(), self.d)));
        }
        Ok(x.len() / self.d)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x * y).sum()
}

fn column_mean(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut mean = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    mean
}

// ---------------------------------------------------------------------------------------
// Covariance: C = X_c^T X_c / n, X_c = X - mean, in f64.
// ---------------------------------------------------------------------------------------

/// Output tile of the rank-k update: MR rows (broadcast) by NR columns (vector loads).
/// 4x8 f64 = 8 AVX2 accumulators, leaving registers for the loads.
const MR: usize = 4;
const NR: usize = 8;
/// Rows per chunk: a 784-wide chunk of 128 f64 rows is 800 KB, which stays in L2 while
/// every tile of the upper triangle streams over it.
const CHUNK: usize = 128;

/// The `d x d` covariance (normalised by `n`) of the rows of `x` around `mean`.
pub fn covariance(x: &[f32], n: usize, d: usize, mean: &[f64]) -> Vec<f64> {
    // Columns padded to the tile width so tiles need no edge cases (padding stays zero).
    let dp = d.div_ceil(NR) * NR;
    // Each thread sums its own share of rows; the partial sums are added at the end.
    let threads = autoenc_kernels::simd::threads().min(n.div_ceil(CHUNK)).max(1);
    let per = n.div_ceil(threads);
    let partials: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let rows = &x[(t * per).min(n) * d..((t + 1) * per).min(n) * d];
                s.spawn(move || covariance_rows(rows, d, dp, mean))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("covariance thread panicked")).collect()
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
fn covariance_rows(rows: &[f32], d: usize, dp: usize, mean: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0f64; dp * dp];
    let mut buf = vec![0.0f64; CHUNK * dp];
    for chunk in rows.chunks(CHUNK * d) {
        let r = chunk.len() / d;
        for (src, dst) in chunk.chunks_exact(d).zip(buf.chunks_exact_mut(dp)) {
            for ((o, &v), &m) in dst.iter_mut().zip(src).zip(mean) {
                *o = v as f64 - m;
            }
        }
        syrk_upper(&buf[..r * dp], r, dp, &mut c);
    }
    c
}

/// `c += a^T a` on the tiles at or above the diagonal; `a` is `rows x dp`.
fn syrk_upper(a: &[f64], rows: usize, dp: usize, c: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if autoenc_kernels::simd::level() >= autoenc_kernels::simd::SimdLevel::Avx2Fma {
        // SAFETY: the level is only Avx2Fma or above when AVX2 and FMA were detected.
        unsafe { syrk_upper_avx2(a, rows, dp, c) };
        return;
    }
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

// ---------------------------------------------------------------------------------------
// Symmetric eigensolver: Householder tridiagonalisation + implicit QL.
// ---------------------------------------------------------------------------------------

/// Eigen-decomposition of the symmetric `n x n` matrix `a` (row-major; only symmetric
/// input is meaningful). Returns the eigenvalues in descending order and the eigenvectors
/// as the rows of an `n x n` row-major matrix, row `i` belonging to eigenvalue `i`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if a.len() != n * n {
        return Err(Error::Shape(format!("eigen-decomposition of {} values, expected {n} x {n}", a.len())));
    }
    if let Some(bad) = a.iter().find(|v| !v.is_finite()) {
        return Err(Error::NonFinite(format!("eigen-decomposition of a matrix holding {bad}")));
    }
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let (mut diag, mut off, q) = tridiagonalise(a, n);
    // Rows of w are the eigenvectors: w = S^T Q^T, where T = S L S^T. The QL rotations act
    // on columns of S, i.e. on pairs of contiguous rows of w.
    let mut w = transpose(&q, n);
    tridiagonal_ql(&mut diag, &mut off, &mut w, n)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| diag[j].total_cmp(&diag[i]));
    let values = order.iter().map(|&i| diag[i]).collect();
    let mut vectors = Vec::with_capacity(n * n);
    for &i in &order {
        vectors.extend_from_slice(&w[i * n..(i + 1) * n]);
    }
    Ok((values, vectors))
}

fn transpose(m: &[f64], n: usize) -> Vec<f64> {
    let mut t = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            t[j * n + i] = m[i * n + j];
        }
    }
    t
}

/// Reduces `a` to `Q T Q^T` with `T` tridiagonal. Returns T's diagonal, its sub-diagonal
/// (`off[i] = T[i+1][i]`, `off[n-1] = 0`) and `Q` (row-major).
///
/// Step `k` reflects column `k` below the sub-diagonal onto `e_1` with
/// `H = I - beta v v^T` and applies `H A H` to the trailing block as the rank-2 update
/// `A -= v q^T + q v^T`, `p = beta A v`, `q = p - (beta/2)(v^T p) v`.
fn tridiagonalise(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut off = vec![0.0; n];
    // Householder vectors (full length, zero above k+1) and their betas, to build Q after.
    let mut reflectors: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n.saturating_sub(2));
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        let lo = k + 1;
        let x: Vec<f64> = (lo..n).map(|i| m[i * n + k]).collect();
        // Scale first so the squared norm neither overflows nor underflows.
        let scale = x.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        if scale == 0.0 {
            off[k] = 0.0;
            reflectors.push((Vec::new(), 0.0));
            continue;
        }
        let norm = scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt();
        // alpha has the opposite sign of x_0 so v_0 = x_0 - alpha does not cancel.
        let alpha = if x[0] > 0.0 { -norm } else { norm };
        let mut v = vec![0.0; n];
        v[lo] = x[0] - alpha;
        v[lo + 1..n].copy_from_slice(&x[1..]);
        let vtv: f64 = v[lo..].iter().map(|t| t * t).sum();
        let beta = 2.0 / vtv;
        // p = beta A v on the trailing block (rows are contiguous).
        for i in lo..n {
            p[i] = beta * dot(&m[i * n + lo..i * n + n], &v[lo..]);
        }
        let half = 0.5 * beta * dot(&v[lo..], &p[lo..]);
        for i in lo..n {
            p[i] -= half * v[i];
        }
        for i in lo..n {
            let (vi, qi) = (v[i], p[i]);
            let row = &mut m[i * n + lo..i * n + n];
            for ((r, &vj), &qj) in row.iter_mut().zip(&v[lo..]).zip(&p[lo..]) {
                *r -= vi * qj + qi * vj;
            }
        }
        off[k] = alpha;
        reflectors.push((v, beta));
    }
    if n >= 2 {
        off[n - 2] = m[(n - 1) * n + n - 2];
    }
    let diag: Vec<f64> = (0..n).map(|i| m[i * n + i]).collect();

    // Q = H_0 H_1 ... H_{n-3}, built from the right end: the partial product is the
    // identity outside its trailing block, so H_k only touches rows and columns > k.
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        q[i * n + i] = 1.0;
    }
    let mut u = vec![0.0; n];
    for (k, (v, beta)) in reflectors.iter().enumerate().rev() {
        if v.is_empty() {
            continue;
        }
        let lo = k + 1;
        // u^T = beta v^T Q (over the trailing block), then Q -= v u^T.
        u[lo..].iter_mut().for_each(|t| *t = 0.0);
        for i in lo..n {
            let s = beta * v[i];
            for (t, &qv) in u[lo..].iter_mut().zip(&q[i * n + lo..i * n + n]) {
                *t += s * qv;
            }
        }
        for i in lo..n {
            let vi = v[i];
            for (qv, &t) in q[i * n + lo..i * n + n].iter_mut().zip(&u[lo..]) {
                *qv -= vi * t;
            }
        }
    }
    (diag, off, q)
}

/// Implicit QL on the symmetric tridiagonal matrix (`diag`, `off[i] = T[i+1][i]`), with
/// a shift from the leading 2x2 block. Each Givens rotation of columns `i, i+1` of the
/// eigenvector matrix is applied to rows `i, i+1` of `w` (which holds it transposed).
/// On return `diag` holds the eigenvalues (unsorted) and row `i` of `w` eigenvector `i`.
fn tridiagonal_ql(diag: &mut [f64], off: &mut [f64], w: &mut [f64], n: usize) -> Result<()> {
    const MAX_ITERATIONS: usize = 60;
    // A sub-diagonal is negligible against the norm of the whole matrix, not against its
    // neighbours on the diagonal: covariances of images have clusters of (near-)zero
    // eigenvalues (border pixels), where a relative test never deflates a tiny entry
    // between two tiny diagonal ones. Tridiagonalisation already costs eps * ||T||.
    let norm = (0..n).map(|i| diag[i].abs() + off[i].abs()).fold(0.0f64, f64::max);
    let tiny = f64::EPSILON * norm;
    for l in 0..n {
        let mut iterations = 0;
        loop {
            // The first negligible sub-diagonal at or after l splits the matrix.
            let mut m = l;
            while m + 1 < n && off[m].abs() > tiny {
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            if iterations > MAX_ITERATIONS {
                return Err(Error::NonFinite(format!(
                    "symmetric eigensolver: eigenvalue {l} of {n} did not converge in {MAX_ITERATIONS} QL iterations"
                )));
            }
            // Shift: the eigenvalue of the leading 2x2 block nearer to diag[l].
            let g = (diag[l + 1] - diag[l]) / (2.0 * off[l]);
            let r = g.hypot(1.0);
            let mut g = diag[m] - diag[l] + off[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut deflated = false;
            for i in (l..m).rev() {
                let f = s * off[i];
                let b = c * off[i];
                let r = f.hypot(g);
                off[i + 1] = r;
                if r == 0.0 {
                    // Underflow: the matrix split at i; restart with the smaller problem.
                    diag[i + 1] -= p;
                    off[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                let g2 = diag[i + 1] - p;
                let r2 = (diag[i] - g2) * s + 2.0 * c * b;
                p = s * r2;
                diag[i + 1] = g2 + p;
                g = c * r2 - b;
                rotate_rows(w, n, i, c, s);
            }
            if deflated {
                continue;
            }
            diag[l] -= p;
            off[l] = g;
            off[m] = 0.0;
        }
    }
    Ok(())
}

/// Rows `i` and `i+1` of `w` become `c w_i - s w_{i+1}` and `s w_i + c w_{i+1}`.
fn rotate_rows(w: &mut [f64], n: usize, i: usize, c: f64, s: f64) {
    let (top, bottom) = w[i * n..(i + 2) * n].split_at_mut(n);
    for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
        let (x, y) = (*a, *b);
        *a = c * x - s * y;
        *b = s * x + c * y;
    }
}

// ---------------------------------------------------------------------------------------
// Principal angles.
// ---------------------------------------------------------------------------------------

/// Principal angles (radians, ascending) between the row spaces of `a` and `b`, both
/// `k x d` row-major; the rows need not be orthonormal. A basis of rank below `k` has
/// angles of pi/2 for its missing directions.
///
/// Both bases are orthonormalised (modified Gram-Schmidt, twice for stability). With
/// `M = Qa Qb^T` the cosines are the singular values of `M` (square roots of the
/// eigenvalues of `M M^T`); for full-rank bases the sines come from the residual
/// `R = Qb - M^T Qa` the same way, and each angle is `atan2(sin, cos)`, which keeps small
/// angles accurate where `acos` near 1 would lose half the digits.
///
/// Panics if `a` or `b` is not `k x d`.
pub fn principal_angles(a: &[f64], b: &[f64], k: usize, d: usize) -> Vec<f64> {
    assert_eq!(a.len(), k * d, "principal_angles: a must be k x d");
    assert_eq!(b.len(), k * d, "principal_angles: b must be k x d");
    if k == 0 {
        return Vec::new();
    }
    let (qa, rank_a) = orthonormal_rows(a, k, d);
    let (qb, rank_b) = orthonormal_rows(b, k, d);
    // m[i][j] = <qa_i, qb_j>
    let mut m = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            m[i * k + j] = dot(&qa[i * d..(i + 1) * d], &qb[j * d..(j + 1) * d]);
        }
    }
    let cos2 = gram_eigenvalues(&m, k, k);
    if rank_a < k || rank_b < k {
        return cos2.iter().map(|&c2| c2.max(0.0).sqrt().min(1.0).acos()).collect();
    }
    // r_j = qb_j - sum_i m[i][j] qa_i: the part of each qb row outside span(qa).
    let mut r = qb.clone();
    for j in 0..k {
        for i in 0..k {
            let mij = m[i * k + j];
            for (rv, &av) in r[j * d..(j + 1) * d].iter_mut().zip(&qa[i * d..(i + 1) * d]) {
                *rv -= mij * av;
            }
        }
    }
    let sin2 = gram_eigenvalues(&r, k, d);
    // cos2 descending pairs with sin2 ascending: the smallest angle first.
    cos2.iter().zip(sin2.iter().rev()).map(|(&c2, &s2)| s2.max(0.0).sqrt().atan2(c2.max(0.0).sqrt())).collect()
}

/// Eigenvalues (descending) of `x x^T` for `x` of `rows x cols`: the squared singular values.
fn gram_eigenvalues(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut g = vec![0.0; rows * rows];
    for i in 0..rows {
        for j in 0..rows {
            g[i * rows + j] = dot(&x[i * cols..(i + 1) * cols], &x[j * cols..(j + 1) * cols]);
        }
    }
    symmetric_eigen(&g, rows).map(|(values, _)| values).unwrap_or_else(|_| vec![f64::NAN; rows])
}

/// Modified Gram-Schmidt on the rows of `x` (`rows x cols`), each row orthogonalised
/// twice ("twice is enough"). Rows that vanish (dependent on earlier ones) become zero.
/// Returns the rows and the rank found.
fn orthonormal_rows(x: &[f64], rows: usize, cols: usize) -> (Vec<f64>, usize) {
    let mut q = x.to_vec();
    let mut rank = 0;
    for i in 0..rows {
        let original = dot(&x[i * cols..(i + 1) * cols], &x[i * cols..(i + 1) * cols]).sqrt();
        let (done, rest) = q.split_at_mut(i * cols);
        let row = &mut rest[..cols];
        for _ in 0..2 {
            for prev in done.chunks_exact(cols) {
                let proj = dot(row, prev);
                for (v, &p) in row.iter_mut().zip(prev) {
                    *v -= proj * p;
                }
            }
        }
        let norm = dot(row, row).sqrt();
        // What is left of a dependent row is rounding noise, ~eps times its length.
        if norm > 1e-10 * original {
            row.iter_mut().for_each(|v| *v /= norm);
            rank += 1;
        } else {
            row.iter_mut().for_each(|v| *v = 0.0);
        }
    }
    (q, rank)
}
