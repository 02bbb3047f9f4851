//! Host side of `shaders/contractive.wgsl`: the closed-form contractive penalty and its
//! gradients.
//!
//! Both ops first run `contractive_penalty_stats` (one workgroup per hidden unit j) into a
//! pooled `[2 * hidden]` scratch buffer holding `s_j = sum_i W_ji^2` and
//! `c_j = sum_r f'(z_rj)^2`; then the penalty is one single-workgroup reduction of
//! `sum_j c_j s_j / rows`, and the backward is one elementwise pass that updates dz and
//! dW together. Two dispatches per op.

use super::{Activation, ContractiveOps, GpuBackend, GpuBuf, Kernel, Shader};
use crate::ensure_shape;
use crate::error::{Error, Result};

const SHADER: Shader = Shader { name: "contractive", source: include_str!("../../../shaders/contractive.wgsl") };

const K_STATS: Kernel = Kernel::new(SHADER, "contractive_penalty_stats", "rrw");
const K_PENALTY: Kernel = Kernel::new(SHADER, "contractive_penalty", "rw");
const K_BACKWARD: Kernel = Kernel::new(SHADER, "contractive_backward", "rrrrww");

/// Invocations per workgroup of every kernel here.
const WG: usize = 256;

/// Checks the sizes and buffers shared by both ops; returns `(rows*hidden, hidden*inputs)`.
fn check(
    gpu: &GpuBackend,
    op: &str,
    z: &GpuBuf,
    w: &GpuBuf,
    rows: usize,
    hidden: usize,
    inputs: usize,
) -> Result<(usize, usize)> {
    // The penalty is a batch mean: an empty batch has none (the shader would divide by 0).
    ensure_shape!(rows > 0, "{op}: rows must be at least 1");
    let fit = |a: usize, b: usize, what: &str| -> Result<usize> {
        let n = a.checked_mul(b).ok_or_else(|| Error::Shape(format!("{op} {what}: size overflows")))?;
        // u32 indices in the shader; 2*hidden also indexes the scratch buffer.
        ensure_shape!(n < u32::MAX as usize / 2, "{op} {what}: {n} exceeds the GPU kernels' u32 indexing");
        Ok(n)
    };
    let zn = fit(rows, hidden, "z")?;
    let wn = fit(hidden, inputs, "W")?;
    fit(2, hidden, "hidden")?;
    gpu.check_len(z, zn, &format!("{op} z"))?;
    gpu.check_len(w, wn, &format!("{op} W"))?;
    Ok((zn, wn))
}

/// Records the stats pass and returns the scratch buffer it fills. Dropping the handle
/// after recording is safe: a later user of the pooled buffer runs later in command order.
fn stats(gpu: &GpuBackend, params: &[u32; 4], z: &GpuBuf, w: &GpuBuf, hidden: usize) -> Result<GpuBuf> {
    let stats = gpu.scratch(2 * hidden, "contractive stats")?;
    gpu.dispatch(&K_STATS, &[z, w, &stats], params, gpu.grid_1d(hidden as u64)?)?;
    Ok(stats)
}

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl ContractiveOps for GpuBackend {
    fn contractive_penalty(
        &self,
        act: Activation,
        z: &GpuBuf,
        w: &GpuBuf,
        out: &GpuBuf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()> {
        check(self, "contractive_penalty", z, w, rows, hidden, inputs)?;
        self.check_len(out, 1, "contractive_penalty out")?;
        let params = [rows as u32, hidden as u32, inputs as u32, act.code()];
        let s = stats(self, &params, z, w, hidden)?;
        // hidden == 0 skips the stats pass; the reduction still writes out[0] = 0.
        self.dispatch(&K_PENALTY, &[&s, out], &params, [1, 1, 1])
    }

    fn contractive_backward(
        &self,
        act: Activation,
        z: &GpuBuf,
        w: &GpuBuf,
        dout: &GpuBuf,
        dz: &GpuBuf,
        dw: &GpuBuf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()> {
        let (zn, wn) = check(self, "contractive_backward", z, w, rows, hidden, inputs)?;
        self.check_len(dout, 1, "contractive_backward dout")?;
        self.check_len(dz, zn, "contractive_backward dz")?;
        self.check_len(dw, wn, "contractive_backward dW")?;
        let params = [rows as u32, hidden as u32, inputs as u32, act.code()];
        let s = stats(self, &params, z, w, hidden)?;
        self.dispatch_1d(&K_BACKWARD, &[z, w, dout, &s, dz, dw], &params, zn.max(wn), WG)
    }
}

#[cfg(test)]
mod tests {
    use super::super::strict;
    use crate::backend::prelude::*;
    use crate::backend::Activation;
    use crate::error::Error;

    #[test]
    fn bad_sizes_are_shape_errors() {
        let Some(g) = strict::gpu_or_skip("GPU contractive unit test") else { return };
        let (z, w, out) = (g.zeros(12, "z").unwrap(), g.zeros(12, "w").unwrap(), g.zeros(1, "out").unwrap());
        let shape = |r| matches!(r, Err(Error::Shape(_)));
        assert!(shape(g.contractive_penalty(Activation::Sigmoid, &z, &w, &out, 0, 3, 4))); // empty batch
        assert!(shape(g.contractive_penalty(Activation::Sigmoid, &z, &w, &out, 5, 3, 4))); // z holds 12 < 15
        assert!(shape(g.contractive_penalty(Activation::Tanh, &z, &w, &out, usize::MAX, 3, 4)));
        let (dz, dw) = (g.zeros(12, "dz").unwrap(), g.zeros(11, "dw").unwrap());
        assert!(shape(g.contractive_backward(Activation::Tanh, &z, &w, &out, &dz, &dw, 4, 3, 4))); // dw short
        assert!(shape(g.contractive_backward(Activation::Tanh, &z, &w, &out, &dz, &dz, 4, 3, 4))); // dz is dw
        g.flush().unwrap();
    }
}
