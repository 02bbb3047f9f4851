//! Device buffers and the pool that recycles them.
//!
//! A [`GpuBuf`] is a cheap handle (`Rc`) to one `wgpu::Buffer` plus its logical length in
//! f32s. When the last handle drops, the buffer goes back to a free list keyed by its byte
//! size, so a training step that allocates the same temporaries every time allocates
//! nothing after the first step. Each wgpu buffer carries a unique id that survives the
//! round trip through the pool: bind groups are cached by these ids.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// Every buffer's byte size is rounded up to this, so that shaders may read any buffer
/// through an `array<vec4<f32>>` view and so that zero-length tensors still bind.
pub(crate) const BUF_ALIGN_BYTES: u64 = 16;

/// Byte size of the allocation that holds `len` f32s.
pub(crate) fn alloc_bytes(len: usize) -> u64 {
    ((len as u64 * 4).max(1)).div_ceil(BUF_ALIGN_BYTES) * BUF_ALIGN_BYTES
}

/// A handle to f32 storage on the device. Clones share the buffer.
#[derive(Clone)]
pub struct GpuBuf {
    inner: Rc<BufInner>,
}

struct BufInner {
    buffer: Option<wgpu::Buffer>,
    id: u64,
    len: usize,
    pool: Weak<Pool>,
}

impl GpuBuf {
    /// Logical length in f32s (what `download` returns).
    pub fn len(&self) -> usize {
        self.inner.len
    }
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }
    /// Unique id of the underlying wgpu buffer (stable across pool reuse).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.inner.buffer.as_ref().expect("buffer present until drop")
    }
    /// Bytes the logical length covers (a multiple of 4).
    pub(crate) fn bytes(&self) -> u64 {
        self.inner.len as u64 * 4
    }
    /// True when both handles share one device buffer.
    pub fn same(&self, other: &GpuBuf) -> bool {
        self.inner.id == other.inner.id
    }
}

impl std::fmt::Debug for GpuBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuf(#{}, {} f32)", self.inner.id, self.inner.len)
    }
}

impl Drop for BufInner {
    fn drop(&mut self) {
        if let (Some(buffer), Some(pool)) = (self.buffer.take(), self.pool.upgrade()) {
            pool.give_back(self.id, buffer);
        }
    }
}

/// Free lists of storage buffers by byte size.
#[derive(Default)]
pub(crate) struct Pool {
    free: RefCell<HashMap<u64, Vec<(u64, wgpu::Buffer)>>>,
    next_id: std::cell::Cell<u64>,
    stats: RefCell<PoolStats>,
}

/// Counters for tests and `autoenc info`: steady-state training should stop allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// wgpu buffers created so far.
    pub allocations: u64,
    /// Requests served from the free lists.
    pub reuses: u64,
    /// Bytes held by buffers currently in the free lists.
    pub free_bytes: u64,
}

/// Usage of every pooled storage buffer: bound to shaders, copied in and out.
pub(crate) const STORAGE_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

impl Pool {
    /// A buffer for `len` f32s (contents undefined), reused when one of that size is free.
    pub(crate) fn take(self: &Rc<Self>, device: &wgpu::Device, len: usize, label: &str) -> GpuBuf {
        let bytes = alloc_bytes(len);
        let reused = self.free.borrow_mut().get_mut(&bytes).and_then(|v| v.pop());
        let (id, buffer) = match reused {
            Some(entry) => {
                let mut s = self.stats.borrow_mut();
                s.reuses += 1;
                s.free_bytes -= bytes;
                entry
            }
            None => {
                let id = self.next_id.get() + 1;
                self.next_id.set(id);
                self.stats.borrow_mut().allocations += 1;
                let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: bytes,
                    usage: STORAGE_USAGE,
                    mapped_at_creation: false,
                });
                (id, buffer)
            }
        };
        GpuBuf { inner: Rc::new(BufInner { buffer: Some(buffer), id, len, pool: Rc::downgrade(self) }) }
    }

    fn give_back(&self, id: u64, buffer: wgpu::Buffer) {
        let bytes = buffer.size();
        self.stats.borrow_mut().free_bytes += bytes;
        self.free.borrow_mut().entry(bytes).or_default().push((id, buffer));
    }

    /// Frees every idle buffer; returns their ids (so cached bind groups can be dropped).
    pub(crate) fn trim(&self) -> Vec<u64> {
        let mut free = self.free.borrow_mut();
        let ids = free.values().flatten().map(|(id, _)| *id).collect();
        free.clear();
        self.stats.borrow_mut().free_bytes = 0;
        ids
    }

    pub(crate) fn stats(&self) -> PoolStats {
        *self.stats.borrow()
    }
}
