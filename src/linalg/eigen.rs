//! Symmetric eigensolver: Householder reduction to tridiagonal form, then the implicit QL
//! algorithm with Wilkinson-style shifts ([`symmetric_eigen`]).

use super::dot;
use crate::error::{Error, Result};

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
