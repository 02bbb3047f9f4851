//! `CpuBackend`: the reference backend, a thin layer over `autoenc-kernels`.
//!
//! Buffers are shared host vectors. Every op checks that its buffers are long enough
//! (an error, not a panic) and then calls the kernel at the detected SIMD level.

use super::*;
use crate::error::Error;
use autoenc_kernels as k;
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::HashMap;
use std::rc::Rc;

/// A host buffer shared by handle. When the last handle goes, its memory returns to the
/// backend's pool, so a training step reuses the previous step's allocations instead of
/// faulting in fresh pages for every tensor (which dominated conv training before).
#[derive(Clone)]
pub struct CpuBuf(Rc<Storage>);

struct Storage {
    data: RefCell<Vec<f32>>,
    pool: Rc<Pool>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(self.data.get_mut()));
    }
}

impl std::ops::Deref for CpuBuf {
    type Target = RefCell<Vec<f32>>;
    fn deref(&self) -> &RefCell<Vec<f32>> {
        &self.0.data
    }
}

/// Freed vectors by length, bounded in total size.
#[derive(Default)]
struct Pool {
    free: RefCell<HashMap<usize, Vec<Vec<f32>>>>,
    held: Cell<usize>,
}

/// Vectors shorter than this are cheap to allocate; the pool keeps longer ones only.
const POOL_MIN_LEN: usize = 4096;
/// At most this many f32s wait in the pool (1 GiB).
const POOL_MAX_HELD: usize = 1 << 28;

impl Pool {
    fn take(&self, len: usize) -> Option<Vec<f32>> {
        let v = self.free.borrow_mut().get_mut(&len)?.pop()?;
        self.held.set(self.held.get() - len);
        Some(v)
    }

    fn put(&self, v: Vec<f32>) {
        let len = v.len();
        if len < POOL_MIN_LEN || self.held.get() + len > POOL_MAX_HELD {
            return;
        }
        self.held.set(self.held.get() + len);
        self.free.borrow_mut().entry(len).or_default().push(v);
    }
}

#[derive(Clone, Default)]
pub struct CpuBackend {
    pool: Rc<Pool>,
}

impl std::fmt::Debug for CpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBackend({})", self.simd_level().name())
    }
}

impl CpuBackend {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn simd_level(&self) -> SimdLevel {
        k::simd::level()
    }
    fn wrap(&self, data: Vec<f32>) -> CpuBuf {
        CpuBuf(Rc::new(Storage { data: RefCell::new(data), pool: self.pool.clone() }))
    }
}

fn read<'a>(buf: &'a CpuBuf, len: usize, what: &str) -> Result<Ref<'a, [f32]>> {
    let b = buf.try_borrow().map_err(|_| Error::Shape(format!("{what}: buffer is also an output of this op")))?;
    if b.len() < len {
        return Err(Error::Shape(format!("{what}: buffer holds {} values, op needs {len}", b.len())));
    }
    Ok(Ref::map(b, |v| &v[..len]))
}

fn write<'a>(buf: &'a CpuBuf, len: usize, what: &str) -> Result<RefMut<'a, [f32]>> {
    let b = buf.try_borrow_mut().map_err(|_| Error::Shape(format!("{what}: output buffer aliases an input")))?;
    if b.len() < len {
        return Err(Error::Shape(format!("{what}: buffer holds {} values, op needs {len}", b.len())));
    }
    Ok(RefMut::map(b, |v| &mut v[..len]))
}

fn set_scalar(out: &CpuBuf, value: f32, what: &str) -> Result<()> {
    write(out, 1, what)?[0] = value;
    Ok(())
}

fn scalar(buf: &CpuBuf, what: &str) -> Result<f32> {
    Ok(read(buf, 1, what)?[0])
}

impl Backend for CpuBackend {
    type Buf = CpuBuf;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn describe(&self) -> String {
        format!("cpu ({}, {} threads)", self.simd_level().name(), k::simd::threads())
    }

    fn zeros(&self, len: usize, _label: &str) -> Result<CpuBuf> {
        let data = match self.pool.take(len) {
            Some(mut v) => {
                v.fill(0.0);
                v
            }
            None => vec![0.0; len],
        };
        Ok(self.wrap(data))
    }

    fn empty(&self, len: usize, _label: &str) -> Result<CpuBuf> {
        Ok(self.wrap(self.pool.take(len).unwrap_or_else(|| vec![0.0; len])))
    }

    fn upload(&self, data: &[f32], _label: &str) -> Result<CpuBuf> {
        let v = match self.pool.take(data.len()) {
            Some(mut v) => {
                v.copy_from_slice(data);
                v
            }
            None => data.to_vec(),
        };
        Ok(self.wrap(v))
    }

    fn download(&self, buf: &CpuBuf) -> Result<Vec<f32>> {
        Ok(buf.borrow().clone())
    }

    fn fill(&self, buf: &CpuBuf, value: f32) -> Result<()> {
        buf.borrow_mut().fill(value);
        Ok(())
    }

    fn copy(&self, src: &CpuBuf, dst: &CpuBuf) -> Result<()> {
        if Rc::ptr_eq(&src.0, &dst.0) {
            return Ok(());
        }
        let s = src.borrow();
        let mut d = write(dst, s.len(), "copy")?;
        d.copy_from_slice(&s);
        Ok(())
    }

    fn matmul(&self, a: &CpuBuf, b: &CpuBuf, c: &CpuBuf, dims: MatmulDims) -> Result<()> {
        if dims.batch == 0 || dims.m == 0 || dims.n == 0 {
            return Ok(());
        }
        let (a, b) = (read(a, dims.a_len(), "matmul A")?, read(b, dims.b_len(), "matmul B")?);
        let mut c = write(c, dims.c_len(), "matmul C")?;
        k::matmul::matmul(&a, &b, &mut c, dims);
        Ok(())
    }

    fn bias_add(
        &self,
        x: &CpuBuf,
        bias: &CpuBuf,
        out: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer * channels * inner;
        let (x, bias) = (read(x, len, "bias_add x")?, read(bias, channels, "bias_add bias")?);
        k::reduce::bias_add(&x, &bias, &mut write(out, len, "bias_add out")?, outer, channels, inner);
        Ok(())
    }

    fn bias_grad(
        &self,
        dy: &CpuBuf,
        out: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
        accumulate: bool,
    ) -> Result<()> {
        let dy = read(dy, outer * channels * inner, "bias_grad dy")?;
        k::reduce::bias_grad(&dy, &mut write(out, channels, "bias_grad out")?, outer, channels, inner, accumulate);
        Ok(())
    }

    fn sum_all(&self, x: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let s = k::reduce::sum_all(&read(x, len, "sum_all x")?);
        set_scalar(out, s, "sum_all out")
    }

    fn add(&self, a: &CpuBuf, b: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let (a, b) = (read(a, len, "add a")?, read(b, len, "add b")?);
        k::reduce::add(&a, &b, &mut write(out, len, "add out")?);
        Ok(())
    }

    fn mul(&self, a: &CpuBuf, b: &CpuBuf, out: &CpuBuf, len: usize) -> Result<()> {
        let (a, b) = (read(a, len, "mul a")?, read(b, len, "mul b")?);
        k::reduce::mul(&a, &b, &mut write(out, len, "mul out")?);
        Ok(())
    }

    fn scale(&self, x: &CpuBuf, alpha: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "scale x")?;
        k::reduce::scale(&x, alpha, &mut write(out, len, "scale out")?);
        Ok(())
    }

    fn axpy(&self, alpha: f32, x: &CpuBuf, y: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "axpy x")?;
        k::reduce::axpy(alpha, &x, &mut write(y, len, "axpy y")?);
        Ok(())
    }

    fn scale_by_scalar(&self, x: &CpuBuf, s: &CpuBuf, alpha: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let s = scalar(s, "scale_by_scalar s")?;
        self.scale(x, alpha * s, out, len)
    }

    fn bias_activation(
        &self,
        act: Activation,
        x: &CpuBuf,
        bias: &CpuBuf,
        z: &CpuBuf,
        y: &CpuBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) -> Result<()> {
        let len = outer * channels * inner;
        let (x, bias) = (read(x, len, "bias_activation x")?, read(bias, channels, "bias_activation bias")?);
        let (mut z, mut y) = (write(z, len, "bias_activation z")?, write(y, len, "bias_activation y")?);
        k::activation::bias_activation(act, &x, &bias, &mut z, &mut y, outer, channels, inner);
        Ok(())
    }

    fn activation_forward(&self, act: Activation, x: &CpuBuf, y: &CpuBuf, len: usize) -> Result<()> {
        let x = read(x, len, "activation x")?;
        k::activation::activation_forward(act, &x, &mut write(y, len, "activation y")?);
        Ok(())
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &CpuBuf,
        y: &CpuBuf,
        dy: &CpuBuf,
        dx: &CpuBuf,
        len: usize,
    ) -> Result<()> {
        let (x, y, dy) = (
            read(x, len, "activation_backward x")?,
            read(y, len, "activation_backward y")?,
            read(dy, len, "activation_backward dy")?,
        );
        k::activation::activation_backward(act, &x, &y, &dy, &mut write(dx, len, "activation_backward dx")?);
        Ok(())
    }

    fn loss_forward(
        &self,
        loss: Loss,
        pred: &CpuBuf,
        target: &CpuBuf,
        out: &CpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let (p, t) = (read(pred, rows * cols, "loss pred")?, read(target, rows * cols, "loss target")?);
        let v = k::loss::loss_forward(loss, &p, &t, rows, cols);
        drop((p, t));
        set_scalar(out, v, "loss out")
    }

    fn loss_backward(
        &self,
        loss: Loss,
        pred: &CpuBuf,
        target: &CpuBuf,
        dout: &CpuBuf,
        dpred: &CpuBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let g = scalar(dout, "loss_backward dout")?;
        let (p, t) =
            (read(pred, rows * cols, "loss_backward pred")?, read(target, rows * cols, "loss_backward target")?);
        k::loss::loss_backward(loss, &p, &t, g, &mut write(dpred, rows * cols, "loss_backward dpred")?, rows, cols);
        Ok(())
    }

    fn l1_penalty(&self, x: &CpuBuf, out: &CpuBuf, rows: usize, cols: usize) -> Result<()> {
        let v = k::loss::l1_penalty(&read(x, rows * cols, "l1 x")?, rows, cols);
        set_scalar(out, v, "l1 out")
    }

    fn l1_penalty_backward(&self, x: &CpuBuf, dout: &CpuBuf, dx: &CpuBuf, rows: usize, cols: usize) -> Result<()> {
        let g = scalar(dout, "l1_backward dout")?;
        let x = read(x, rows * cols, "l1_backward x")?;
        k::loss::l1_penalty_backward(&x, g, &mut write(dx, rows * cols, "l1_backward dx")?, rows, cols);
        Ok(())
    }

    fn kl_sparsity(&self, rho_hat: &CpuBuf, rho: f32, out: &CpuBuf, len: usize) -> Result<()> {
        let v = k::loss::kl_sparsity(&read(rho_hat, len, "kl rho_hat")?, rho);
        set_scalar(out, v, "kl out")
    }

    fn kl_sparsity_backward(
        &self,
        rho_hat: &CpuBuf,
        rho: f32,
        dout: &CpuBuf,
        drho_hat: &CpuBuf,
        len: usize,
    ) -> Result<()> {
        let g = scalar(dout, "kl_backward dout")?;
        let r = read(rho_hat, len, "kl_backward rho_hat")?;
        k::loss::kl_sparsity_backward(&r, rho, g, &mut write(drho_hat, len, "kl_backward d")?);
        Ok(())
    }

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

    fn im2col(&self, x: &CpuBuf, cols: &CpuBuf, geom: ConvGeom) -> Result<()> {
        let x = read(x, geom.image_len(), "im2col x")?;
        k::im2col::im2col(&x, &mut write(cols, geom.col_rows() * geom.col_cols(), "im2col cols")?, geom);
        Ok(())
    }

    fn col2im(&self, cols: &CpuBuf, x: &CpuBuf, geom: ConvGeom, accumulate: bool) -> Result<()> {
        let c = read(cols, geom.col_rows() * geom.col_cols(), "col2im cols")?;
        k::col2im::col2im(&c, &mut write(x, geom.image_len(), "col2im x")?, geom, accumulate);
        Ok(())
    }

    fn swap_leading_axes(&self, x: &CpuBuf, out: &CpuBuf, a: usize, b: usize, inner: usize) -> Result<()> {
        let len = a * b * inner;
        let x = read(x, len, "swap_leading_axes x")?;
        k::im2col::swap_leading_axes(&x, &mut write(out, len, "swap_leading_axes out")?, a, b, inner);
        Ok(())
    }

    fn max_pool2d(&self, x: &CpuBuf, y: &CpuBuf, argmax: &CpuBuf, geom: PoolGeom) -> Result<()> {
        let x = read(x, geom.in_len(), "max_pool2d x")?;
        let mut y = write(y, geom.out_len_total(), "max_pool2d y")?;
        let mut am = write(argmax, geom.out_len_total(), "max_pool2d argmax")?;
        k::pool::max_pool2d(&x, &mut y, bytemuck::cast_slice_mut(&mut am), geom);
        Ok(())
    }

    fn max_pool2d_backward(&self, dy: &CpuBuf, argmax: &CpuBuf, dx: &CpuBuf, geom: PoolGeom) -> Result<()> {
        let dy = read(dy, geom.out_len_total(), "max_pool2d_backward dy")?;
        let am = read(argmax, geom.out_len_total(), "max_pool2d_backward argmax")?;
        k::pool::max_pool2d_backward(
            &dy,
            bytemuck::cast_slice(&am),
            &mut write(dx, geom.in_len(), "max_pool2d_backward dx")?,
            geom,
        );
        Ok(())
    }

    fn upsample2d(&self, x: &CpuBuf, y: &CpuBuf, geom: UpsampleGeom) -> Result<()> {
        let x = read(x, geom.in_len(), "upsample2d x")?;
        k::pool::upsample2d(&x, &mut write(y, geom.out_len(), "upsample2d y")?, geom);
        Ok(())
    }

    fn upsample2d_backward(&self, dy: &CpuBuf, dx: &CpuBuf, geom: UpsampleGeom) -> Result<()> {
        let dy = read(dy, geom.out_len(), "upsample2d_backward dy")?;
        k::pool::upsample2d_backward(&dy, &mut write(dx, geom.in_len(), "upsample2d_backward dx")?, geom);
        Ok(())
    }

    fn sgd_update(&self, param: &CpuBuf, grad: &CpuBuf, velocity: &CpuBuf, len: usize, p: SgdParams) -> Result<()> {
        let g = read(grad, len, "sgd grad")?;
        let mut v = write(velocity, len, "sgd velocity")?;
        k::optim::sgd_update(&mut write(param, len, "sgd param")?, &g, &mut v, p);
        Ok(())
    }

    fn adam_update(
        &self,
        param: &CpuBuf,
        grad: &CpuBuf,
        m: &CpuBuf,
        v: &CpuBuf,
        len: usize,
        p: AdamParams,
    ) -> Result<()> {
        let g = read(grad, len, "adam grad")?;
        let mut ms = write(m, len, "adam m")?;
        let mut vs = write(v, len, "adam v")?;
        k::optim::adam_update(&mut write(param, len, "adam param")?, &g, &mut ms, &mut vs, p);
        Ok(())
    }
}
