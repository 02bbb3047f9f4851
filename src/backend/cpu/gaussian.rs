//! [`GaussianOps`] on the CPU: `kernels/src/gaussian.rs`.

use super::{read, scalar, set_scalar, write, CpuBackend, CpuBuf};
use crate::backend::*;
use crate::error::Result;
use autoenc_kernels as k;

#[allow(clippy::too_many_arguments)] // the trait's signatures
impl GaussianOps for CpuBackend {
    fn normal_fill(&self, seed: u64, offset: u64, out: &CpuBuf, len: usize) -> Result<()> {
        k::gaussian::normal_fill(seed, offset, &mut write(out, len, "normal_fill out")?);
        Ok(())
    }

    fn reparameterize_forward(&self, mu: &CpuBuf, logvar: &CpuBuf, eps: &CpuBuf, z: &CpuBuf, len: usize) -> Result<()> {
        let (m, lv, e) = (
            read(mu, len, "reparameterize mu")?,
            read(logvar, len, "reparameterize logvar")?,
            read(eps, len, "reparameterize eps")?,
        );
        k::gaussian::reparameterize_forward(&m, &lv, &e, &mut write(z, len, "reparameterize z")?);
        Ok(())
    }

    fn reparameterize_backward(
        &self,
        logvar: &CpuBuf,
        eps: &CpuBuf,
        dz: &CpuBuf,
        dmu: &CpuBuf,
        dlogvar: &CpuBuf,
        len: usize,
    ) -> Result<()> {
        let (lv, e, g) = (
            read(logvar, len, "reparameterize_backward logvar")?,
            read(eps, len, "reparameterize_backward eps")?,
            read(dz, len, "reparameterize_backward dz")?,
        );
        let mut dm = write(dmu, len, "reparameterize_backward dmu")?;
        let mut dl = write(dlogvar, len, "reparameterize_backward dlogvar")?;
        k::gaussian::reparameterize_backward(&lv, &e, &g, &mut dm, &mut dl);
        Ok(())
    }

    fn gaussian_kl_forward(&self, mu: &CpuBuf, logvar: &CpuBuf, out: &CpuBuf, rows: usize, cols: usize) -> Result<()> {
        let n = rows * cols;
        let (m, lv) = (read(mu, n, "gaussian_kl mu")?, read(logvar, n, "gaussian_kl logvar")?);
        let v = k::gaussian::gaussian_kl_forward(&m, &lv, rows, cols);
        drop((m, lv));
        set_scalar(out, v, "gaussian_kl out")
    }

    fn gaussian_kl_backward(
        &self,
        mu: &CpuBuf,
        logvar: &CpuBuf,
        dout: &CpuBuf,
        dmu: &CpuBuf,
        dlogvar: &CpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let n = rows * cols;
        let g = scalar(dout, "gaussian_kl_backward dout")?;
        let (m, lv) = (read(mu, n, "gaussian_kl_backward mu")?, read(logvar, n, "gaussian_kl_backward logvar")?);
        let mut dm = write(dmu, n, "gaussian_kl_backward dmu")?;
        let mut dl = write(dlogvar, n, "gaussian_kl_backward dlogvar")?;
        k::gaussian::gaussian_kl_backward(&m, &lv, g, &mut dm, &mut dl, rows, cols);
        Ok(())
    }
}
