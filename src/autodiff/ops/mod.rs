//! Differentiable ops. Each function computes its forward value on the backend and
//! records, right beside it, the closure that maps the output gradient to the input
//! gradients (the chain rule for that op). docs/BACKPROP.md walks through them.
//!
//! Names match the kernels (`kernels/src/<family>.rs`) and shaders (`shaders/<family>.wgsl`).
//!
//! One file per op family; this module holds what they share (output buffers and the
//! [`Biased`] pre-bias value with its backward) and re-exports every op.

use super::tape::{BackwardFn, Tape, Var};
use crate::backend::{Activation, Backend, ConvGeom, Loss, MatmulDims, PoolGeom, UpsampleGeom};
use crate::ensure_shape;
use crate::error::Result;
use crate::tensor::{Shape, Tensor};

mod conv;
mod dense;
mod elementwise;
mod gaussian;
mod loss;
mod pool;
mod reduce;
mod shape;

pub use crate::tensor::normal;
pub use conv::{conv2d, conv2d_activation, conv_transpose2d, conv_transpose2d_activation, ConvParams};
pub use dense::{bias_activation, bias_add, linear, linear_activation, matmul};
use elementwise::push_activation;
pub use elementwise::{activation, add, mul, scale};
pub use gaussian::{gaussian_kl, reparameterize};
pub use loss::{contractive_penalty, kl_sparsity, l1_penalty, loss};
pub use pool::{max_pool2d, upsample2d};
pub use reduce::{mean_rows, sum_all};
pub use shape::reshape;

/// An output buffer: every op below overwrites its outputs completely, so they need no
/// clearing (the accumulating contractive backward uses `Tensor::zeros` instead).
fn output<B: Backend>(b: &B, shape: impl Into<Shape>, label: &str) -> Result<Tensor<B>> {
    Tensor::empty(b, shape, label)
}

fn scalar_shape() -> Shape {
    Shape::new(&[1])
}

/// What linear, bias_add and the convolutions compute before their bias, with their
/// backward: the op's value is `pre` (shaped like it) plus `bias[c]` over
/// `[outer, channels, inner]`, and `back` maps the gradient of that value to the inputs'
/// gradients. The op is finished either by a bias add ([`Biased::finish`]) or by the fused
/// bias add + activation ([`Biased::finish_activation`]); both record the same node, so
/// each op's backward is written once.
struct Biased<B: Backend> {
    pre: Tensor<B>,
    bias: Tensor<B>,
    outer: usize,
    channels: usize,
    inner: usize,
    back: BackwardFn<B>,
}

impl<B: Backend> Biased<B> {
    /// `y = pre + bias`, recorded as `op` over `inputs`.
    fn finish(self, t: &Tape<B>, op: &'static str, inputs: &[Var]) -> Result<Var> {
        let be = t.backend();
        let y = output(be, self.pre.shape.clone(), op)?;
        be.bias_add(&self.pre.buf, &self.bias.buf, &y.buf, self.outer, self.channels, self.inner)?;
        Ok(t.push(op, y, inputs, self.back))
    }

    /// `z = pre + bias` and `h = f(z)` by one [`ActivationOps::bias_activation`](crate::backend::ActivationOps::bias_activation); records `z` as
    /// `op` over `inputs` (the backward of [`Biased::finish`]) and `h` as the activation
    /// node of [`activation`] over `z`. Returns `(z, h)`.
    fn finish_activation(self, t: &Tape<B>, op: &'static str, inputs: &[Var], act: Activation) -> Result<(Var, Var)> {
        let be = t.backend();
        let z = output(be, self.pre.shape.clone(), op)?;
        let h = output(be, self.pre.shape.clone(), act.name())?;
        be.bias_activation(act, &self.pre.buf, &self.bias.buf, &z.buf, &h.buf, self.outer, self.channels, self.inner)?;
        let zvar = t.push(op, z.clone(), inputs, self.back);
        Ok((zvar, push_activation(t, zvar, z, h, act)))
    }
}
