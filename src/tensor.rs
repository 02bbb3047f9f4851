//! A shape and a backend buffer. No math lives here: ops are on the [`Backend`].

use crate::backend::Backend;
use crate::error::Result;
use std::fmt;

/// Dimensions, outermost first (row-major; images are NCHW).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    pub fn new(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    /// First dimension (batch rows); 1 for a scalar.
    pub fn rows(&self) -> usize {
        self.0.first().copied().unwrap_or(1)
    }
    /// Product of all but the first dimension.
    pub fn cols(&self) -> usize {
        self.0.iter().skip(1).product()
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "x")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(d.to_vec())
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(d.to_vec())
    }
}

/// A tensor: its shape and a handle to the backend's storage. Cloning is cheap
/// (shares the storage).
pub struct Tensor<B: Backend> {
    pub shape: Shape,
    pub buf: B::Buf,
}

impl<B: Backend> Clone for Tensor<B> {
    fn clone(&self) -> Self {
        Tensor { shape: self.shape.clone(), buf: self.buf.clone() }
    }
}

impl<B: Backend> Tensor<B> {
    pub fn zeros(backend: &B, shape: impl Into<Shape>, label: &str) -> Result<Self> {
        let shape = shape.into();
        let buf = backend.zeros(shape.numel(), label)?;
        Ok(Tensor { shape, buf })
    }
    /// A tensor whose contents are unspecified until an op overwrites them all.
    pub fn empty(backend: &B, shape: impl Into<Shape>, label: &str) -> Result<Self> {
        let shape = shape.into();
        let buf = backend.empty(shape.numel(), label)?;
        Ok(Tensor { shape, buf })
    }
    pub fn from_slice(backend: &B, shape: impl Into<Shape>, data: &[f32], label: &str) -> Result<Self> {
        let shape = shape.into();
        crate::ensure_shape!(
            shape.numel() == data.len(),
            "{label}: shape {shape} needs {} values, got {}",
            shape.numel(),
            data.len()
        );
        let buf = backend.upload(data, label)?;
        Ok(Tensor { shape, buf })
    }
    pub fn to_vec(&self, backend: &B) -> Result<Vec<f32>> {
        let mut v = backend.download(&self.buf)?;
        v.truncate(self.numel());
        Ok(v)
    }
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }
    /// The same storage seen with another shape of equal size.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        crate::ensure_shape!(shape.numel() == self.numel(), "cannot reshape {} to {}", self.shape, shape);
        Ok(Tensor { shape, buf: self.buf.clone() })
    }
}

/// A fresh tensor of standard normal draws `offset .. offset + numel` of stream `seed`: the
/// same values on every backend (see [`GaussianOps::normal_fill`](crate::backend::GaussianOps::normal_fill)).
/// Advance `offset` by `numel` per call to continue one stream. Not a tape op: the draws
/// are constants (the noise of `autodiff::ops::reparameterize`).
pub fn normal<B: Backend>(be: &B, shape: impl Into<Shape>, seed: u64, offset: u64) -> Result<Tensor<B>> {
    let out = Tensor::empty(be, shape, "normal")?;
    be.normal_fill(seed, offset, &out.buf, out.numel())?;
    Ok(out)
}
