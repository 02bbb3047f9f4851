//! Principal component analysis on the CPU, in f64: the reference a linear autoencoder
//! is measured against (with MSE and no activations it reaches PCA's reconstruction error
//! and spans the same subspace).
//!
//! The pieces live elsewhere and are re-exported here:
//! - the covariance, `X_c^T X_c / n`, is the kernel [`autoenc_kernels::covariance`]
//!   (a blocked symmetric rank-k update, threads over rows);
//! - the symmetric eigensolver ([`symmetric_eigen`]) and principal angles between two
//!   subspaces ([`principal_angles`]) are in [`crate::linalg`].

use crate::error::{Error, Result};
use crate::linalg::dot;
pub use crate::linalg::{principal_angles, symmetric_eigen};
pub use autoenc_kernels::covariance::covariance;

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

    /// This fit cut to its top `k <= self.k` components: PCA's directions are nested, so
    /// PCA-k is the first k rows of PCA-K (one covariance and eigensolve serve every k).
    pub fn truncated(&self, k: usize) -> Result<Pca> {
        if k == 0 || k > self.k {
            return Err(Error::Config(format!("PCA truncation to {k} components: must be in 1..={}", self.k)));
        }
        let components = self.components[..k * self.d].to_vec();
        Ok(Pca { mean: self.mean.clone(), components, eigenvalues: self.eigenvalues.clone(), k, d: self.d })
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
