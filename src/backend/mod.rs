//! The seam between the engine and its kernels.
//!
//! Everything above this module (tape, layers, models, training loop) is generic over
//! [`Backend`] and never knows whether it runs on the CPU reference kernels or on WGSL
//! shaders.
//!
//! The op set is split by family, one trait per kernel family: [`Core`] (memory), then
//! [`MatmulOps`], [`ReduceOps`], [`ActivationOps`], [`LossOps`], [`ContractiveOps`],
//! [`GaussianOps`], [`ConvOps`], [`PoolOps`] and [`OptimOps`]. [`Backend`] is their sum,
//! implemented for every type that implements them all. `cpu/<family>.rs` and
//! `gpu/<family>.rs` each implement one family. Generic code takes `B: Backend`; code that calls ops on a
//! concrete `CpuBackend` / `GpuBackend` imports the traits with
//! `use crate::backend::prelude::*`.
//!
//! Adding an op means: one method on its family trait here, its CPU kernel
//! (`kernels/src/<family>.rs`) called from `cpu/<family>.rs`, its WGSL entry point (named
//! as the kernel, in `shaders/<family>.wgsl`) dispatched from `gpu/<family>.rs`, and one
//! backward arm in `autodiff/ops.rs`. `tests/op_names.rs` checks that kernels and shader
//! entries carry the same names.
//!
//! Conventions shared by every op:
//! - Storage is f32. Buffers are opaque handles (`Core::Buf`); data moves only through
//!   `upload` / `download`.
//! - The output buffer is the last argument and is fully overwritten, unless the op says
//!   it accumulates (`accumulate: true` adds into it).
//! - Outputs never alias inputs, except the documented in-place ops (`axpy`, optimizer
//!   updates).
//! - Dimensions are passed explicitly and validated by the caller (the tape / layers);
//!   backends may re-check and return [`Error::Shape`](crate::error::Error::Shape).

pub mod cpu;
pub mod gpu;

use crate::error::Result;

pub use autoenc_kernels::activation::{Activation, LEAKY_RELU_SLOPE};
pub use autoenc_kernels::im2col::ConvGeom;
pub use autoenc_kernels::loss::{Loss, BCE_EPS};
pub use autoenc_kernels::matmul::MatmulDims;
pub use autoenc_kernels::optim::{AdamParams, SgdParams};
pub use autoenc_kernels::pool::PoolGeom;
pub use autoenc_kernels::simd::SimdLevel;
pub use autoenc_kernels::upsample::UpsampleGeom;

/// Memory and bookkeeping: buffers in and out, fills, copies, flushing.
pub trait Core: Clone + 'static {
    /// A cheap, clonable handle to device (or host) f32 storage.
    type Buf: Clone;

    /// "cpu" or "gpu".
    fn name(&self) -> &'static str;
    /// A human-readable description (SIMD level, adapter name).
    fn describe(&self) -> String;

    /// A buffer of `len` elements, all zero. `label` names it in errors (e.g. a
    /// size over the device's storage-binding limit).
    fn zeros(&self, len: usize, label: &str) -> Result<Self::Buf>;
    /// A buffer of `len` elements with unspecified contents, for an output the next op
    /// overwrites completely (saves clearing memory that is about to be written).
    fn empty(&self, len: usize, label: &str) -> Result<Self::Buf> {
        self.zeros(len, label)
    }
    fn upload(&self, data: &[f32], label: &str) -> Result<Self::Buf>;
    /// Blocks until every queued op has run, then copies the buffer to the host.
    fn download(&self, buf: &Self::Buf) -> Result<Vec<f32>>;
    fn fill(&self, buf: &Self::Buf, value: f32) -> Result<()>;
    fn copy(&self, src: &Self::Buf, dst: &Self::Buf) -> Result<()>;
    /// Hands queued work to the device (one submit on the GPU). No-op on the CPU.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    /// Kernel dispatches recorded so far (GPU), for the dispatches-per-step figure.
    fn dispatch_count(&self) -> Option<u64> {
        None
    }
}

/// `kernels/src/matmul.rs`, `shaders/matmul.wgsl`.
pub trait MatmulOps: Core {
    fn matmul(&self, a: &Self::Buf, b: &Self::Buf, c: &Self::Buf, dims: MatmulDims) -> Result<()>;
}

/// `kernels/src/reduce.rs`, `shaders/reduce.wgsl`: bias, sums, elementwise arithmetic.
pub trait ReduceOps: Core {
    /// `out[o,c,i] = x[o,c,i] + bias[c]` over a tensor viewed as `[outer, channels, inner]`
    /// (dense layers: `[rows, cols, 1]`; NCHW conv: `[N, C, H*W]`).
    fn bias_add(
        &self,
        x: &Self::Buf,
        bias: &Self::Buf,
        out: &Self::Buf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()>;
    /// `out[c] (+)= sum_{o,i} x[o,c,i]`: the bias gradient of [`ReduceOps::bias_add`].
    fn bias_grad(
        &self,
        dy: &Self::Buf,
        out: &Self::Buf,
        outer: usize,
        channels: usize,
        inner: usize,
        accumulate: bool,
    ) -> Result<()>;
    /// `out[0] = sum x` (a scalar in a 1-element buffer).
    fn sum_all(&self, x: &Self::Buf, out: &Self::Buf, len: usize) -> Result<()>;
    /// `out = a + b` over `len` elements.
    fn add(&self, a: &Self::Buf, b: &Self::Buf, out: &Self::Buf, len: usize) -> Result<()>;
    /// `out = a * b` over `len` elements.
    fn mul(&self, a: &Self::Buf, b: &Self::Buf, out: &Self::Buf, len: usize) -> Result<()>;
    /// `out = alpha * x`.
    fn scale(&self, x: &Self::Buf, alpha: f32, out: &Self::Buf, len: usize) -> Result<()>;
    /// `y += alpha * x` (in place on `y`).
    fn axpy(&self, alpha: f32, x: &Self::Buf, y: &Self::Buf, len: usize) -> Result<()>;
    /// `out = alpha * s[0] * x`: multiplies by a scalar that lives on the device (the
    /// upstream gradient of a scalar), so nothing is read back.
    fn scale_by_scalar(&self, x: &Self::Buf, s: &Self::Buf, alpha: f32, out: &Self::Buf, len: usize) -> Result<()>;
}

/// `kernels/src/activation.rs`, `shaders/activation.wgsl`.
// Kernel entry points take their buffers and every dimension explicitly, like the CPU
// kernels and the shaders they mirror, so long argument lists are the design.
#[allow(clippy::too_many_arguments)]
pub trait ActivationOps: Core {
    /// `z[o,c,i] = x[o,c,i] + bias[c]` and `y = f(z)` over a tensor viewed as
    /// `[outer, channels, inner]` (as [`ReduceOps::bias_add`]), both outputs written: a
    /// layer's bias and activation in one kernel (one GPU dispatch instead of two). `z` is
    /// kept for the activation's backward and the contractive penalty.
    fn bias_activation(
        &self,
        act: Activation,
        x: &Self::Buf,
        bias: &Self::Buf,
        z: &Self::Buf,
        y: &Self::Buf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()>;
    /// `y = f(x)` over `len` elements.
    fn activation_forward(&self, act: Activation, x: &Self::Buf, y: &Self::Buf, len: usize) -> Result<()>;
    /// `dx = dy * f'(x)`; `y = f(x)` is passed too so sigmoid/tanh use the cheap form.
    fn activation_backward(
        &self,
        act: Activation,
        x: &Self::Buf,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &Self::Buf,
        len: usize,
    ) -> Result<()>;
}

/// `kernels/src/loss.rs`, `shaders/loss.wgsl`: losses and the activity / sparsity penalties.
// Kernel entry points take their buffers and every dimension explicitly, like the CPU
// kernels and the shaders they mirror, so long argument lists are the design.
#[allow(clippy::too_many_arguments)]
pub trait LossOps: Core {
    /// `out[0] = loss(pred, target)` for `[rows, cols]` tensors (see [`Loss`]).
    fn loss_forward(
        &self,
        loss: Loss,
        pred: &Self::Buf,
        target: &Self::Buf,
        out: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// `dpred = dout[0] * dloss/dpred`.
    fn loss_backward(
        &self,
        loss: Loss,
        pred: &Self::Buf,
        target: &Self::Buf,
        dout: &Self::Buf,
        dpred: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// L1 activity penalty: `out[0] = sum |x| / rows` for `x: [rows, cols]`.
    fn l1_penalty(&self, x: &Self::Buf, out: &Self::Buf, rows: usize, cols: usize) -> Result<()>;
    /// `dx = dout[0] * sign(x) / rows` (sign(0) = 0).
    fn l1_penalty_backward(
        &self,
        x: &Self::Buf,
        dout: &Self::Buf,
        dx: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// KL sparsity: `out[0] = sum_j KL(rho || rho_hat_j)` with `rho_hat` (length `len`)
    /// clamped to [1e-6, 1-1e-6].
    fn kl_sparsity(&self, rho_hat: &Self::Buf, rho: f32, out: &Self::Buf, len: usize) -> Result<()>;
    /// `d rho_hat_j = dout[0] * (-(rho/rho_hat_j) + (1-rho)/(1-rho_hat_j))`.
    fn kl_sparsity_backward(
        &self,
        rho_hat: &Self::Buf,
        rho: f32,
        dout: &Self::Buf,
        drho_hat: &Self::Buf,
        len: usize,
    ) -> Result<()>;
}

/// `kernels/src/contractive.rs`, `shaders/contractive.wgsl`.
// Kernel entry points take their buffers and every dimension explicitly, like the CPU
// kernels and the shaders they mirror, so long argument lists are the design.
#[allow(clippy::too_many_arguments)]
pub trait ContractiveOps: Core {
    /// Contractive penalty of the encoder `h = f(z)`, `z = x W^T + b`, `W: [hidden, inputs]`,
    /// `z: [rows, hidden]`: `out[0] = (1/rows) sum_r sum_j f'(z_rj)^2 * sum_i W_ji^2`
    /// (the batch mean of `||J_f(x)||_F^2`). `f` is sigmoid, tanh, relu (subgradient:
    /// f'(0)=0), leaky relu or identity.
    fn contractive_penalty(
        &self,
        act: Activation,
        z: &Self::Buf,
        w: &Self::Buf,
        out: &Self::Buf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()>;
    /// Gradients of [`ContractiveOps::contractive_penalty`] scaled by `dout[0]`:
    /// `dz_rj += dout * (2/rows) f'(z_rj) f''(z_rj) * sum_i W_ji^2` and
    /// `dw_ji += dout * (2/rows) W_ji * sum_r f'(z_rj)^2`. Both accumulate.
    fn contractive_backward(
        &self,
        act: Activation,
        z: &Self::Buf,
        w: &Self::Buf,
        dout: &Self::Buf,
        dz: &Self::Buf,
        dw: &Self::Buf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()>;
}

/// `kernels/src/gaussian.rs`, `shaders/gaussian.wgsl`: the variational autoencoder's
/// normal draws, reparameterization and KL divergence.
// Kernel entry points take their buffers and every dimension explicitly, like the CPU
// kernels and the shaders they mirror, so long argument lists are the design.
#[allow(clippy::too_many_arguments)]
pub trait GaussianOps: Core {
    /// `out[i]` = standard normal draw number `offset + i` of stream `seed`
    /// (Philox4x32-10 + Box-Muller, counter-based: the same values on every backend, for
    /// any `len` and any split of `[offset, offset + len)` into fills).
    fn normal_fill(&self, seed: u64, offset: u64, out: &Self::Buf, len: usize) -> Result<()>;
    /// `z = mu + exp(0.5 logvar) * eps` over `len` elements.
    fn reparameterize_forward(
        &self,
        mu: &Self::Buf,
        logvar: &Self::Buf,
        eps: &Self::Buf,
        z: &Self::Buf,
        len: usize,
    ) -> Result<()>;
    /// `dmu = dz`, `dlogvar = dz * 0.5 * exp(0.5 logvar) * eps` (both overwritten).
    fn reparameterize_backward(
        &self,
        logvar: &Self::Buf,
        eps: &Self::Buf,
        dz: &Self::Buf,
        dmu: &Self::Buf,
        dlogvar: &Self::Buf,
        len: usize,
    ) -> Result<()>;
    /// `out[0] = (1/rows) sum -0.5 (1 + lv - mu^2 - exp(lv))` over `[rows, cols]`: the batch
    /// mean of `KL(N(mu, exp(lv)) || N(0, I))`; 0 for an empty batch.
    fn gaussian_kl_forward(
        &self,
        mu: &Self::Buf,
        logvar: &Self::Buf,
        out: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// `dmu = dout[0] mu / rows`, `dlogvar = dout[0] 0.5 (exp(lv) - 1) / rows` (overwritten).
    fn gaussian_kl_backward(
        &self,
        mu: &Self::Buf,
        logvar: &Self::Buf,
        dout: &Self::Buf,
        dmu: &Self::Buf,
        dlogvar: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
}

/// Convolutions (`conv2d`: `kernels/src/conv2d.rs`, `shaders/conv2d.wgsl`) and the conv
/// data movement `im2col`, `col2im` and `layout` (`kernels/src/<stem>.rs`,
/// `shaders/<stem>.wgsl`). `geom` describes the conv's input images; `out_channels` is
/// the number of output channels. conv_transpose2d is the same three maps with the roles
/// swapped (see `autodiff::ops::conv`).
pub trait ConvOps: Core {
    /// `y [N, OC, OH, OW]` (overwritten) = conv of `x [N, C, H, W]` with `w [OC, C, KH, KW]`
    /// (no bias).
    fn conv2d(&self, x: &Self::Buf, w: &Self::Buf, y: &Self::Buf, geom: ConvGeom, out_channels: usize) -> Result<()>;
    /// `dx [N, C, H, W]` (overwritten): the adjoint of [`Self::conv2d`] in `x`, applied to
    /// `dy [N, OC, OH, OW]`.
    fn conv2d_input_grad(
        &self,
        dy: &Self::Buf,
        w: &Self::Buf,
        dx: &Self::Buf,
        geom: ConvGeom,
        out_channels: usize,
    ) -> Result<()>;
    /// `dw [OC, C, KH, KW]` (overwritten): the adjoint of [`Self::conv2d`] in `w`, applied
    /// to `dy`.
    fn conv2d_weight_grad(
        &self,
        x: &Self::Buf,
        dy: &Self::Buf,
        dw: &Self::Buf,
        geom: ConvGeom,
        out_channels: usize,
    ) -> Result<()>;
    /// Which algorithm [`Self::conv2d`] and its gradients use for this shape, in words
    /// (`autoenc bench` shows it beside the conv rows).
    fn conv2d_algorithm(&self, geom: ConvGeom, out_channels: usize) -> String;
    /// NCHW image `x` -> column matrix `cols` (layout in [`ConvGeom`]).
    fn im2col(&self, x: &Self::Buf, cols: &Self::Buf, geom: ConvGeom) -> Result<()>;
    /// The adjoint of im2col: scatters-adds `cols` back into image `x` (overwritten,
    /// or added to when `accumulate`).
    fn col2im(&self, cols: &Self::Buf, x: &Self::Buf, geom: ConvGeom, accumulate: bool) -> Result<()>;
    /// `[a, b, inner] -> [b, a, inner]`: swaps the two leading axes (NCHW <-> CNHW, which
    /// turns the batched matmul's `[C_out, N*P]` result into NCHW and back).
    fn swap_leading_axes(&self, x: &Self::Buf, out: &Self::Buf, a: usize, b: usize, inner: usize) -> Result<()>;
}

/// `pool` and `upsample` (`kernels/src/<stem>.rs`, `shaders/<stem>.wgsl`).
pub trait PoolOps: Core {
    /// Max pooling; `argmax` receives, per output, the flat index `h*W + w` of the winning
    /// input within its channel plane, stored as the bit pattern of a u32
    /// (`f32::from_bits`). Padding never wins.
    fn max_pool2d(&self, x: &Self::Buf, y: &Self::Buf, argmax: &Self::Buf, geom: PoolGeom) -> Result<()>;
    /// `dx` (overwritten) receives each `dy` at its argmax.
    fn max_pool2d_backward(&self, dy: &Self::Buf, argmax: &Self::Buf, dx: &Self::Buf, geom: PoolGeom) -> Result<()>;
    fn upsample2d(&self, x: &Self::Buf, y: &Self::Buf, geom: UpsampleGeom) -> Result<()>;
    /// `dx` (overwritten) = sum of `dy` over each `scale x scale` block.
    fn upsample2d_backward(&self, dy: &Self::Buf, dx: &Self::Buf, geom: UpsampleGeom) -> Result<()>;
}

/// `kernels/src/optim.rs`, `shaders/optim.wgsl`.
pub trait OptimOps: Core {
    /// In place on `param` and `velocity`.
    fn sgd_update(
        &self,
        param: &Self::Buf,
        grad: &Self::Buf,
        velocity: &Self::Buf,
        len: usize,
        p: SgdParams,
    ) -> Result<()>;
    /// In place on `param`, `m`, `v`.
    fn adam_update(
        &self,
        param: &Self::Buf,
        grad: &Self::Buf,
        m: &Self::Buf,
        v: &Self::Buf,
        len: usize,
        p: AdamParams,
    ) -> Result<()>;
}

/// The whole op set: every family. Implemented for any type that implements them all, so a
/// backend only implements the family traits.
pub trait Backend:
    Core + MatmulOps + ReduceOps + ActivationOps + LossOps + ContractiveOps + GaussianOps + ConvOps + PoolOps + OptimOps
{
}

impl<T> Backend for T where
    T: Core
        + MatmulOps
        + ReduceOps
        + ActivationOps
        + LossOps
        + ContractiveOps
        + GaussianOps
        + ConvOps
        + PoolOps
        + OptimOps
{
}

/// The traits, for calling ops on a concrete backend: `use autoenc::backend::prelude::*;`.
pub mod prelude {
    pub use super::{
        ActivationOps, Backend, ContractiveOps, ConvOps, Core, GaussianOps, LossOps, MatmulOps, OptimOps, PoolOps,
        ReduceOps,
    };
}
