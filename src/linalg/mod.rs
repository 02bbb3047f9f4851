//! Dense linear algebra in f64 on the CPU, for PCA and its comparison with the linear
//! autoencoder: a symmetric eigensolver ([`symmetric_eigen`]) and principal angles between
//! subspaces ([`principal_angles`]). Plain loops: the matrices are at most a few hundred wide.

mod angles;
mod eigen;

pub use angles::principal_angles;
pub use eigen::symmetric_eigen;

/// `a · b` over the shorter length, summed in order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x * y).sum()
}
