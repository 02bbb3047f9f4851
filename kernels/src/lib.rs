//! CPU reference kernels for autoenc.
//!
//! One file per op family, with the same stem as its WGSL twin in `shaders/`. In each
//! file the `*_scalar` function is the specification, written for clarity; SIMD versions
//! (std::arch, chosen at run time by [`simd::level`]) must produce the same result and are
//! tested against it. The plain entry point (`matmul`, `activation_forward`, ...) uses the
//! best level this CPU offers; `*_with(level, ..)` runs a chosen level (tests, benches).
//!
//! Layouts are row-major; images are NCHW.

pub mod activation;
pub mod col2im;
pub mod contractive;
pub mod conv2d;
pub mod covariance;
pub mod gaussian;
pub mod im2col;
pub mod layout;
pub mod loss;
pub mod matmul;
pub mod optim;
pub mod peak;
pub mod pool;
pub mod reduce;
pub mod simd;
pub(crate) mod simd_util;
pub mod upsample;
pub mod workers;

pub use activation::Activation;
pub use im2col::ConvGeom;
pub use loss::Loss;
pub use matmul::MatmulDims;
pub use optim::{AdamParams, SgdParams};
pub use pool::PoolGeom;
pub use simd::SimdLevel;
pub use upsample::UpsampleGeom;
