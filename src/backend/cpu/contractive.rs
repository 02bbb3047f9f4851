//! [`ContractiveOps`] on the CPU: `kernels/src/contractive.rs`.

use super::{read, scalar, set_scalar, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl ContractiveOps for CpuBackend {
    fn contractive_penalty(
        &self,
        act: Activation,
        z: &CpuBuf,
        w: &CpuBuf,
        out: &CpuBuf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()> {
        let (zs, ws) = (read(z, rows * hidden, "contractive z")?, read(w, hidden * inputs, "contractive W")?);
        let v = k::contractive::contractive_penalty(act, &zs, &ws, rows, hidden, inputs);
        drop((zs, ws));
        set_scalar(out, v, "contractive out")
    }

    fn contractive_backward(
        &self,
        act: Activation,
        z: &CpuBuf,
        w: &CpuBuf,
        dout: &CpuBuf,
        dz: &CpuBuf,
        dw: &CpuBuf,
        rows: usize,
        hidden: usize,
        inputs: usize,
    ) -> Result<()> {
        let g = scalar(dout, "contractive_backward dout")?;
        let (zs, ws) =
            (read(z, rows * hidden, "contractive_backward z")?, read(w, hidden * inputs, "contractive_backward W")?);
        let mut dzs = write(dz, rows * hidden, "contractive_backward dz")?;
        let mut dws = write(dw, hidden * inputs, "contractive_backward dW")?;
        k::contractive::contractive_backward(act, &zs, &ws, g, &mut dzs, &mut dws, rows, hidden, inputs);
        Ok(())
    }
}
