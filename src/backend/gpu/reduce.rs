//! Host side of `shaders/reduce.wgsl`: fill, elementwise arithmetic, bias add / gradient
//! and the two-stage sum that the losses reuse.

use super::{fbits, GpuBackend, GpuBuf, Kernel, ReduceOps, Shader};
use crate::error::Result;

pub(super) const SHADER: Shader = Shader { name: "reduce", source: include_str!("../../../shaders/reduce.wgsl") };

const COPY4: Kernel = Kernel::new(SHADER, "copy", "rw");
const FILL: Kernel = Kernel::new(SHADER, "fill", "w");
const ADD: Kernel = Kernel::new(SHADER, "add", "rrw");
const MUL: Kernel = Kernel::new(SHADER, "mul", "rrw");
const SCALE: Kernel = Kernel::new(SHADER, "scale", "rw");
const AXPY: Kernel = Kernel::new(SHADER, "axpy", "rw");
const SCALE_BY_SCALAR: Kernel = Kernel::new(SHADER, "scale_by_scalar", "rrw");
const BIAS_ADD: Kernel = Kernel::new(SHADER, "bias_add", "rrw");
const BIAS_GRAD_COLS: Kernel = Kernel::new(SHADER, "bias_grad_cols", "rw");
const BIAS_GRAD_PLANES: Kernel = Kernel::new(SHADER, "bias_grad_planes", "rw");
const SUM_PARTIAL: Kernel = Kernel::new(SHADER, "sum_all_partial", "rw");
const SUM_FINISH: Kernel = Kernel::new(SHADER, "sum_all_finish", "rw");

const WG: usize = 256;

/// The reduce.wgsl `Params` struct: len, channels, inner, flag, alpha, chunk.
fn params(len: usize, channels: usize, inner: usize, flag: bool, alpha: f32, chunk: usize) -> [u32; 6] {
    [len as u32, channels as u32, inner as u32, flag as u32, fbits(alpha), chunk as u32]
}

/// `Error::Shape` unless every index of an op fits the shaders' u32 arithmetic.
pub(super) fn check_u32(n: usize, what: &str) -> Result<()> {
    crate::ensure_shape!(n < u32::MAX as usize, "{what}: {n} elements exceed the GPU kernels' u32 indexing");
    Ok(())
}

pub(super) fn fill(gpu: &GpuBackend, buf: &GpuBuf, value: f32) -> Result<()> {
    check_u32(buf.len(), "fill")?;
    gpu.dispatch_1d(&FILL, &[buf], &params(buf.len(), 0, 0, false, value, 0), buf.len(), WG)
}

/// `dst[..4*len4] = src[..4*len4]` by a vec4 compute kernel (the bench's bandwidth probe).
pub(super) fn copy_vec4(gpu: &GpuBackend, src: &GpuBuf, dst: &GpuBuf, len4: usize) -> Result<()> {
    check_u32(4 * len4, "copy")?;
    gpu.check_len(src, 4 * len4, "copy_vec4 src")?;
    gpu.check_len(dst, 4 * len4, "copy_vec4 dst")?;
    gpu.dispatch_1d(&COPY4, &[src, dst], &params(len4, 0, 0, false, 0.0, 0), len4, WG)
}

fn binary(gpu: &GpuBackend, k: &Kernel, a: &GpuBuf, b: &GpuBuf, out: &GpuBuf, len: usize) -> Result<()> {
    check_u32(len, k.entry)?;
    gpu.check_len(a, len, &format!("{} a", k.entry))?;
    gpu.check_len(b, len, &format!("{} b", k.entry))?;
    gpu.check_len(out, len, &format!("{} out", k.entry))?;
    gpu.dispatch_1d(k, &[a, b, out], &params(len, 0, 0, false, 0.0, 0), len, WG)
}

/// Partial-sum layout for `len` values: (workgroups, elements per workgroup). At most
/// 1024 partials (one finishing workgroup adds them), at least 1024 elements each.
pub(super) fn sum_plan(len: usize) -> (usize, usize) {
    let chunk = len.div_ceil(1024).max(4 * WG).next_multiple_of(WG);
    (len.div_ceil(chunk).max(1), chunk)
}

/// `out[0] = alpha * sum(partials[0..groups])`.
pub(super) fn sum_all_finish(
    gpu: &GpuBackend,
    partials: &GpuBuf,
    out: &GpuBuf,
    groups: usize,
    alpha: f32,
) -> Result<()> {
    gpu.dispatch(&SUM_FINISH, &[partials, out], &params(groups, 0, 0, false, alpha, 0), [1, 1, 1])
}

/// `out[0] = alpha * sum(x[0..len])`: one dispatch when `len` fits one workgroup's
/// chunk, else partial sums then a finishing pass.
pub(super) fn sum_scaled(gpu: &GpuBackend, x: &GpuBuf, out: &GpuBuf, len: usize, alpha: f32) -> Result<()> {
    check_u32(len, "sum")?;
    gpu.check_len(x, len, "sum x")?;
    gpu.check_len(out, 1, "sum out")?;
    let (groups, chunk) = sum_plan(len);
    if groups == 1 {
        return gpu.dispatch(&SUM_PARTIAL, &[x, out], &params(len, 0, 0, false, alpha, chunk), [1, 1, 1]);
    }
    let partials = gpu.scratch(groups, "sum partials")?;
    gpu.dispatch_1d(&SUM_PARTIAL, &[x, &partials], &params(len, 0, 0, false, 1.0, chunk), groups, 1)?;
    sum_all_finish(gpu, &partials, out, groups, alpha)
}

impl ReduceOps for GpuBackend {
    fn bias_add(
        &self,
        x: &GpuBuf,
        bias: &GpuBuf,
        out: &GpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer * channels * inner;
        check_u32(len, "bias_add")?;
        self.check_len(x, len, "bias_add x")?;
        self.check_len(bias, channels, "bias_add bias")?;
        self.check_len(out, len, "bias_add out")?;
        self.dispatch_1d(&BIAS_ADD, &[x, bias, out], &params(len, channels, inner, false, 0.0, 0), len, WG)
    }

    fn bias_grad(
        &self,
        dy: &GpuBuf,
        out: &GpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
        accumulate: bool,
    ) -> Result<()> {
        let len = outer * channels * inner;
        check_u32(len, "bias_grad")?;
        self.check_len(dy, len, "bias_grad dy")?;
        self.check_len(out, channels, "bias_grad out")?;
        let prm = params(outer, channels, inner, accumulate, 0.0, 0);
        if inner == 1 {
            self.dispatch_1d(&BIAS_GRAD_COLS, &[dy, out], &prm, channels, 32)
        } else {
            self.dispatch_1d(&BIAS_GRAD_PLANES, &[dy, out], &prm, channels, 1)
        }
    }

    fn sum_all(&self, x: &GpuBuf, out: &GpuBuf, len: usize) -> Result<()> {
        sum_scaled(self, x, out, len, 1.0)
    }

    fn add(&self, a: &GpuBuf, b: &GpuBuf, out: &GpuBuf, len: usize) -> Result<()> {
        binary(self, &ADD, a, b, out, len)
    }

    fn mul(&self, a: &GpuBuf, b: &GpuBuf, out: &GpuBuf, len: usize) -> Result<()> {
        binary(self, &MUL, a, b, out, len)
    }

    fn scale(&self, x: &GpuBuf, alpha: f32, out: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "scale")?;
        self.check_len(x, len, "scale x")?;
        self.check_len(out, len, "scale out")?;
        self.dispatch_1d(&SCALE, &[x, out], &params(len, 0, 0, false, alpha, 0), len, WG)
    }

    fn axpy(&self, alpha: f32, x: &GpuBuf, y: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "axpy")?;
        self.check_len(x, len, "axpy x")?;
        self.check_len(y, len, "axpy y")?;
        self.dispatch_1d(&AXPY, &[x, y], &params(len, 0, 0, false, alpha, 0), len, WG)
    }

    fn scale_by_scalar(&self, x: &GpuBuf, s: &GpuBuf, alpha: f32, out: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "scale_by_scalar")?;
        self.check_len(x, len, "scale_by_scalar x")?;
        self.check_len(s, 1, "scale_by_scalar s")?;
        self.check_len(out, len, "scale_by_scalar out")?;
        self.dispatch_1d(&SCALE_BY_SCALAR, &[x, s, out], &params(len, 0, 0, false, alpha, 0), len, WG)
    }
}
