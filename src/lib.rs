//! autoenc: autoencoders trained through hand-written WGSL compute shaders and a SIMD
//! CPU reference path.
//!
//! Layers, bottom up: `autoenc-kernels` (CPU kernels) and `shaders/` (WGSL) ->
//! [`backend`] (the op set, CPU and GPU) -> [`autodiff`] (tape) -> [`nn`], [`optim`] ->
//! [`models`] -> [`train`] and the `autoenc` command.

pub mod autodiff;
pub mod backend;
pub mod data;
pub mod error;
pub mod io;
pub mod limits;
pub mod linalg;
pub mod models;
pub mod nn;
pub mod optim;
pub mod plots;
pub mod run;
pub mod tensor;
pub mod tools;
pub mod train;

pub use backend::cpu::CpuBackend;
pub use backend::Backend;
pub use error::{Error, Result};
pub use tensor::{Shape, Tensor};
