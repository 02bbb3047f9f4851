//! Principal angles between two subspaces ([`principal_angles`]).

use super::{dot, symmetric_eigen};

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
