//! Host side of `shaders/optim.wgsl`: SGD with momentum and Adam, one dispatch per
//! parameter tensor.

use super::reduce::check_u32;
use super::{fbits, AdamParams, GpuBackend, GpuBuf, Kernel, OptimOps, SgdParams, Shader};
use crate::error::Result;

const SHADER: Shader = Shader { name: "optim", source: include_str!("../../../shaders/optim.wgsl") };
const SGD: Kernel = Kernel::new(SHADER, "sgd_update", "wrw");
const ADAM: Kernel = Kernel::new(SHADER, "adam_update", "wrww");

impl OptimOps for GpuBackend {
    fn sgd_update(&self, param: &GpuBuf, grad: &GpuBuf, velocity: &GpuBuf, len: usize, p: SgdParams) -> Result<()> {
        check_u32(len, "sgd_update")?;
        self.check_len(param, len, "sgd param")?;
        self.check_len(grad, len, "sgd grad")?;
        self.check_len(velocity, len, "sgd velocity")?;
        let prm = [len as u32, fbits(p.lr), fbits(p.momentum), fbits(p.weight_decay)];
        self.dispatch_1d(&SGD, &[param, grad, velocity], &prm, len, 256)
    }

    fn adam_update(
        &self,
        param: &GpuBuf,
        grad: &GpuBuf,
        m: &GpuBuf,
        v: &GpuBuf,
        len: usize,
        p: AdamParams,
    ) -> Result<()> {
        check_u32(len, "adam_update")?;
        self.check_len(param, len, "adam param")?;
        self.check_len(grad, len, "adam grad")?;
        self.check_len(m, len, "adam m")?;
        self.check_len(v, len, "adam v")?;
        // Bias corrections in f64 once per step: beta^step underflows gracefully.
        let bc1 = (1.0 - (p.beta1 as f64).powi(p.step as i32)) as f32;
        let bc2 = (1.0 - (p.beta2 as f64).powi(p.step as i32)) as f32;
        let prm = [
            len as u32,
            fbits(p.lr),
            0,
            fbits(p.weight_decay),
            fbits(p.beta1),
            fbits(p.beta2),
            fbits(p.eps),
            fbits(bc1),
            fbits(bc2),
        ];
        self.dispatch_1d(&ADAM, &[param, grad, m, v], &prm, len, 256)
    }
}
