//! `CpuBackend`: the reference backend, a thin layer over `autoenc-kernels`.
//!
//! Buffers are shared host vectors. Every op checks that its buffers are long enough
//! (an error, not a panic) and then calls the kernel at the detected SIMD level. This file
//! holds the buffers and [`Core`]; one file per kernel family implements that family's
//! trait (`matmul.rs`, `reduce.rs`, `activation.rs`, `loss.rs`, `contractive.rs`,
//! `gaussian.rs`, `conv.rs`, `pool.rs`, `optim.rs`).

mod activation;
mod contractive;
mod conv;
mod gaussian;
mod loss;
mod matmul;
mod optim;
mod pool;
mod reduce;

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

impl Core for CpuBackend {
    type Buf = CpuBuf;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn describe(&self) -> String {
        let threads = k::simd::threads();
        format!("cpu ({}, {threads} thread{})", self.simd_level().name(), if threads == 1 { "" } else { "s" })
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
        k::reduce::fill(&mut buf.borrow_mut(), value);
        Ok(())
    }

    fn copy(&self, src: &CpuBuf, dst: &CpuBuf) -> Result<()> {
        if Rc::ptr_eq(&src.0, &dst.0) {
            return Ok(());
        }
        let s = src.borrow();
        k::reduce::copy(&s, &mut write(dst, s.len(), "copy")?);
        Ok(())
    }
}
