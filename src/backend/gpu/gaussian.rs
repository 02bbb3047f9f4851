//! [`GaussianOps`], the host side of `shaders/gaussian.wgsl`: normal draws, the
//! reparameterization and the Gaussian KL divergence.
//!
//! The generator is one elementwise dispatch (one invocation per draw); the seed and the
//! first draw's index travel as u32 halves. The KL forward is a partial-sum pass, then
//! reduce.wgsl's `sum_all_finish` (one dispatch when the input fits one workgroup's chunk),
//! like the losses; every other op is one elementwise dispatch.

use super::reduce::{self, check_u32, sum_plan};
use super::{fbits, Core, GaussianOps, GpuBackend, GpuBuf, Kernel, Shader};
use crate::error::Result;

const SHADER: Shader = Shader { name: "gaussian", source: include_str!("../../../shaders/gaussian.wgsl") };
const NORMAL_FILL: Kernel = Kernel::new(SHADER, "normal_fill", "w");
const NORMAL_FILL_BITS: Kernel = Kernel::new(SHADER, "normal_fill_bits", "w");
const REPARAM_FORWARD: Kernel = Kernel::new(SHADER, "reparameterize_forward", "rrrw");
const REPARAM_BACKWARD: Kernel = Kernel::new(SHADER, "reparameterize_backward", "rrrww");
const KL_FORWARD_PARTIAL: Kernel = Kernel::new(SHADER, "gaussian_kl_forward_partial", "rrw");
const KL_BACKWARD: Kernel = Kernel::new(SHADER, "gaussian_kl_backward", "rrrww");

const WG: usize = 256;

/// gaussian.wgsl `Params`: len, seed (lo, hi), offset (lo, hi), chunk, alpha.
fn params(len: usize, seed: u64, offset: u64, chunk: usize, alpha: f32) -> [u32; 7] {
    [len as u32, seed as u32, (seed >> 32) as u32, offset as u32, (offset >> 32) as u32, chunk as u32, fbits(alpha)]
}

fn elementwise(len: usize) -> [u32; 7] {
    params(len, 0, 0, 0, 0.0)
}

impl GpuBackend {
    /// `out[i]` = the Philox word behind draw `offset + i` as raw u32 bits (read them with
    /// `f32::to_bits`): the counter stage of [`GaussianOps::normal_fill`] alone, which
    /// validation compares bit for bit with `autoenc_kernels::gaussian::normal_fill_bits`.
    pub fn normal_fill_bits(&self, seed: u64, offset: u64, out: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "normal_fill_bits")?;
        self.check_len(out, len, "normal_fill_bits out")?;
        self.dispatch_1d(&NORMAL_FILL_BITS, &[out], &params(len, seed, offset, 0, 0.0), len, WG)
    }
}

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl GaussianOps for GpuBackend {
    fn normal_fill(&self, seed: u64, offset: u64, out: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "normal_fill")?;
        self.check_len(out, len, "normal_fill out")?;
        self.dispatch_1d(&NORMAL_FILL, &[out], &params(len, seed, offset, 0, 0.0), len, WG)
    }

    fn reparameterize_forward(&self, mu: &GpuBuf, logvar: &GpuBuf, eps: &GpuBuf, z: &GpuBuf, len: usize) -> Result<()> {
        check_u32(len, "reparameterize_forward")?;
        self.check_len(mu, len, "reparameterize_forward mu")?;
        self.check_len(logvar, len, "reparameterize_forward logvar")?;
        self.check_len(eps, len, "reparameterize_forward eps")?;
        self.check_len(z, len, "reparameterize_forward z")?;
        self.dispatch_1d(&REPARAM_FORWARD, &[mu, logvar, eps, z], &elementwise(len), len, WG)
    }

    fn reparameterize_backward(
        &self,
        logvar: &GpuBuf,
        eps: &GpuBuf,
        dz: &GpuBuf,
        dmu: &GpuBuf,
        dlogvar: &GpuBuf,
        len: usize,
    ) -> Result<()> {
        check_u32(len, "reparameterize_backward")?;
        self.check_len(logvar, len, "reparameterize_backward logvar")?;
        self.check_len(eps, len, "reparameterize_backward eps")?;
        self.check_len(dz, len, "reparameterize_backward dz")?;
        self.check_len(dmu, len, "reparameterize_backward dmu")?;
        self.check_len(dlogvar, len, "reparameterize_backward dlogvar")?;
        self.dispatch_1d(&REPARAM_BACKWARD, &[logvar, eps, dz, dmu, dlogvar], &elementwise(len), len, WG)
    }

    fn gaussian_kl_forward(&self, mu: &GpuBuf, logvar: &GpuBuf, out: &GpuBuf, rows: usize, cols: usize) -> Result<()> {
        let len = check_kl(self, mu, logvar, rows, cols, "gaussian_kl_forward")?;
        self.check_len(out, 1, "gaussian_kl_forward out")?;
        if len == 0 {
            return self.fill(out, 0.0);
        }
        let inv = 1.0 / rows as f32;
        let (groups, chunk) = sum_plan(len);
        if groups == 1 {
            return self.dispatch(&KL_FORWARD_PARTIAL, &[mu, logvar, out], &params(len, 0, 0, chunk, inv), [1, 1, 1]);
        }
        let partials = self.scratch(groups, "gaussian_kl partials")?;
        self.dispatch_1d(&KL_FORWARD_PARTIAL, &[mu, logvar, &partials], &params(len, 0, 0, chunk, 1.0), groups, 1)?;
        reduce::sum_all_finish(self, &partials, out, groups, inv)
    }

    fn gaussian_kl_backward(
        &self,
        mu: &GpuBuf,
        logvar: &GpuBuf,
        dout: &GpuBuf,
        dmu: &GpuBuf,
        dlogvar: &GpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let len = check_kl(self, mu, logvar, rows, cols, "gaussian_kl_backward")?;
        self.check_len(dout, 1, "gaussian_kl_backward dout")?;
        self.check_len(dmu, len, "gaussian_kl_backward dmu")?;
        self.check_len(dlogvar, len, "gaussian_kl_backward dlogvar")?;
        let alpha = 1.0 / rows.max(1) as f32;
        self.dispatch_1d(&KL_BACKWARD, &[mu, logvar, dout, dmu, dlogvar], &params(len, 0, 0, 0, alpha), len, WG)
    }
}

/// `rows * cols` after checking it fits the shader's u32 indexing and both inputs.
fn check_kl(gpu: &GpuBackend, mu: &GpuBuf, logvar: &GpuBuf, rows: usize, cols: usize, op: &str) -> Result<usize> {
    let len = rows.checked_mul(cols).ok_or_else(|| crate::error::Error::Shape(format!("{op}: size overflows")))?;
    check_u32(len, op)?;
    gpu.check_len(mu, len, &format!("{op} mu"))?;
    gpu.check_len(logvar, len, &format!("{op} logvar"))?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::super::strict;
    use crate::backend::prelude::*;
    use crate::error::Error;

    #[test]
    fn bad_sizes_are_shape_errors() {
        let Some(g) = strict::gpu_or_skip("GPU gaussian unit test") else { return };
        let (a, b, c, out) = (
            g.zeros(12, "a").unwrap(),
            g.zeros(12, "b").unwrap(),
            g.zeros(12, "c").unwrap(),
            g.zeros(1, "out").unwrap(),
        );
        let shape = |r| matches!(r, Err(Error::Shape(_)));
        assert!(shape(g.normal_fill(1, 0, &a, 13)));
        assert!(shape(g.reparameterize_forward(&a, &b, &c, &out, 12))); // z holds 1
        assert!(shape(g.reparameterize_forward(&a, &b, &c, &a, 12))); // z is mu
        assert!(shape(g.reparameterize_backward(&a, &b, &c, &out, &a, 12)));
        assert!(shape(g.gaussian_kl_forward(&a, &b, &out, 5, 3))); // 15 > 12
        assert!(shape(g.gaussian_kl_forward(&a, &b, &out, usize::MAX, 3)));
        assert!(shape(g.gaussian_kl_backward(&a, &b, &out, &c, &c, 3, 4))); // dmu is dlogvar
        g.flush().unwrap();
    }
}
