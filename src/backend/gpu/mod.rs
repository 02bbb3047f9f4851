//! `GpuBackend`: the op set as hand-written WGSL compute shaders, through wgpu.
//!
//! Pieces: `context.rs` (adapter, device, error capture), `buffer.rs` ([`GpuBuf`] and the
//! pool), `pipeline.rs` (modules, pipelines, bind groups: compiled / built once, cached),
//! `recorder.rs` (one pending command encoder per step, uniform-parameter arena),
//! `consts.rs` (the Rust-defined constants prepended to every shader as WGSL `const`s).
//! This file holds the backend and its dispatch helpers; `memory.rs` implements [`Core`].
//! One file per op family implements that family's trait as the host side of its
//! shaders: `matmul.rs` ([`MatmulOps`]), `reduce.rs` ([`ReduceOps`]), `activation.rs`
//! ([`ActivationOps`]), `loss.rs` ([`LossOps`]), `contractive.rs` ([`ContractiveOps`]),
//! `gaussian.rs` ([`GaussianOps`]), `conv.rs` ([`ConvOps`]: im2col, col2im, layout),
//! `pool.rs` ([`PoolOps`]: pool, upsample), `optim.rs` ([`OptimOps`]).
//!
//! # How to add a kernel
//!
//! 0. The op: a method on its family trait in `src/backend/mod.rs` and the CPU kernel
//!    `kernels/src/<family>.rs::<op>` (`tests/op_names.rs` pairs kernels and entry points
//!    by name: the entry point is `<op>`, or `<op>_<pass>` for the passes of a
//!    multi-pass op, in the shader of the same stem).
//! 1. WGSL, in `shaders/<family>.wgsl`: buffers at `@group(0) @binding(0..)` in argument
//!    order (`var<storage, read>` for inputs, `var<storage, read_write>` for outputs);
//!    scalar parameters in one struct of at most 16 u32/f32 words at
//!    `@group(1) @binding(0) var<uniform> p: Params;`. For 1-D work use
//!    `@workgroup_size(256)` and the flat index
//!    `let i = (wid.y * nwg.x + wid.x) * 256u + lid;` (`@builtin(workgroup_id) wid`,
//!    `@builtin(num_workgroups) nwg`, `@builtin(local_invocation_index) lid`) with
//!    `if (i >= p.len) { return; }`: [`GpuBackend::dispatch_1d`] spreads long grids over
//!    x and y because one dimension holds at most 65535 workgroups. The entry points of
//!    one shader share its `Params` struct: a kernel that needs a new parameter extends
//!    that struct and the host file's `params()` together (see `activation.rs`). Codes
//!    shared with Rust (activations, losses) are never written as numbers: use the
//!    `ACT_*` / `LOSS_*` constants that `consts.rs` prepends, and add new ones there.
//! 2. Host, in `src/backend/gpu/<family>.rs`, inside that family's trait impl:
//!    ```ignore
//!    const SHADER: Shader = Shader { name: "reduce", source: include_str!("../../../shaders/reduce.wgsl") };
//!    const ADD: Kernel = Kernel::new(SHADER, "add", "rrw"); // a, b read; out written
//!    impl ReduceOps for GpuBackend {
//!        fn add(&self, a: &GpuBuf, b: &GpuBuf, out: &GpuBuf, len: usize) -> Result<()> {
//!            self.check_len(a, len, "add a")?; // every index the shader touches is checked here:
//!            self.check_len(b, len, "add b")?; // modules are built without runtime bounds checks
//!            self.check_len(out, len, "add out")?;
//!            self.dispatch_1d(&ADD, &[a, b, out], &[len as u32], len, 256)
//!        }
//!    }
//!    ```
//!    `dispatch` / `dispatch_1d` compile the pipeline on first use, reuse cached bind
//!    groups, write the params into the arena, record into the open pass and count the
//!    dispatch. Nothing runs until `flush` (or `download`).
//! 3. A case in `src/tools/validate/` comparing it with `CpuBackend` on awkward shapes.

mod activation;
mod buffer;
mod consts;
mod context;
mod contractive;
mod conv;
mod conv2d;
mod gaussian;
mod loss;
mod matmul;
mod memory;
mod optim;
mod pipeline;
mod pool;
mod recorder;
mod reduce;
pub mod strict;

pub use buffer::{GpuBuf, PoolStats};
pub(crate) use pipeline::{Kernel, Shader};

use super::*;
use crate::error::Error;
use buffer::Pool;
use context::Context;
use pipeline::{Pipelines, PARAMS_WORDS};
use recorder::Recorder;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The GPU backend. Clones share one device, pool and pending encoder.
#[derive(Clone)]
pub struct GpuBackend {
    inner: Rc<Inner>,
}

struct Inner {
    ctx: Context,
    pool: Rc<Pool>,
    pipes: RefCell<Pipelines>,
    rec: RefCell<Recorder>,
    dispatches: Cell<u64>,
    submits: Cell<u64>,
    /// Reused MAP_READ buffer for downloads (grown on demand).
    staging: RefCell<Option<wgpu::Buffer>>,
}

/// `f32` parameter as the u32 word the uniform struct holds.
pub(crate) fn fbits(x: f32) -> u32 {
    x.to_bits()
}

impl GpuBackend {
    /// Opens the adapter whose name contains `adapter_filter` (case-insensitive), else the
    /// one named by env `AUTOENC_ADAPTER`, else the highest-performance one (software
    /// adapters such as lavapipe last). Shader modules are built without runtime bounds
    /// checks unless env `AUTOENC_CHECKED_SHADERS=1`.
    pub fn new(adapter_filter: Option<&str>) -> Result<Self> {
        let checked = std::env::var("AUTOENC_CHECKED_SHADERS").is_ok_and(|v| v == "1");
        Self::with_checks(adapter_filter, checked)
    }

    /// Like [`GpuBackend::new`] with the runtime-bounds-check choice made explicitly.
    pub fn with_checks(adapter_filter: Option<&str>, checked_shaders: bool) -> Result<Self> {
        let ctx = Context::new(adapter_filter)?;
        let pipes = Pipelines::new(&ctx.device, checked_shaders);
        let rec = Recorder::new(&ctx.device, &pipes.params_layout, &ctx.limits);
        ctx.take_errors()?;
        Ok(GpuBackend {
            inner: Rc::new(Inner {
                ctx,
                pool: Rc::new(Pool::default()),
                pipes: RefCell::new(pipes),
                rec: RefCell::new(rec),
                dispatches: Cell::new(0),
                submits: Cell::new(0),
                staging: RefCell::new(None),
            }),
        })
    }

    /// Adapter, backend, device type, driver, limits and features (for `autoenc info`).
    pub fn info(&self) -> String {
        let c = &self.inner.ctx;
        format!(
            "{}\nshaders:  {}\ntimestamps: {}",
            c.describe_long(),
            if self.checked_shaders() { "runtime bounds checks ON" } else { "trusted (no runtime bounds checks)" },
            if c.has_timestamps() { "yes" } else { "no (bench uses wall clock)" }
        )
    }

    pub fn adapter_name(&self) -> &str {
        &self.inner.ctx.info.name
    }
    /// True for CPU adapters such as lavapipe / llvmpipe (correct but slow).
    pub fn is_software(&self) -> bool {
        context::is_software(&self.inner.ctx.info)
    }
    pub fn checked_shaders(&self) -> bool {
        self.inner.pipes.borrow().checked()
    }
    pub fn has_timestamps(&self) -> bool {
        self.inner.ctx.has_timestamps()
    }
    /// Compute dispatches recorded since this backend was created.
    pub fn dispatch_count(&self) -> u64 {
        self.inner.dispatches.get()
    }
    /// Queue submits so far (one per flush with pending work).
    pub fn submit_count(&self) -> u64 {
        self.inner.submits.get()
    }
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }
    /// Releases every idle pooled buffer (and the bind groups that pin them).
    pub fn trim_pool(&self) {
        let ids = self.inner.pool.trim();
        self.inner.pipes.borrow_mut().forget_buffers(&ids);
    }
    /// [`MatmulOps::matmul`] with a chosen tile edge (64 or 128) instead of the automatic
    /// choice: for validation of both variants and for benchmarks.
    pub fn matmul_with_tile(&self, a: &GpuBuf, b: &GpuBuf, c: &GpuBuf, dims: MatmulDims, tile: usize) -> Result<()> {
        matmul::matmul_tile(self, a, b, c, dims, tile)
    }
    /// Copies the first `4 * len4` values of `src` to `dst` with a vec4 compute kernel:
    /// the bandwidth probe of `autoenc bench` (timestamps see compute passes, not the
    /// transfer that [`Core::copy`] records).
    pub fn copy_vec4(&self, src: &GpuBuf, dst: &GpuBuf, len4: usize) -> Result<()> {
        reduce::copy_vec4(self, src, dst, len4)
    }
    /// The tile edge [`MatmulOps::matmul`] picks for `dims`.
    pub fn matmul_tile_for(&self, dims: &MatmulDims) -> usize {
        matmul::tile_for(dims)
    }

    // ---- helpers for the op files -------------------------------------------------------

    /// `Error::Shape` unless `buf` holds at least `len` values.
    pub(crate) fn check_len(&self, buf: &GpuBuf, len: usize, what: &str) -> Result<()> {
        if buf.len() < len {
            return Err(Error::Shape(format!("{what}: buffer holds {} values, op needs {len}", buf.len())));
        }
        Ok(())
    }

    /// `Error::Gpu` when `len` f32s cannot live in one storage binding on this device.
    pub(crate) fn check_alloc(&self, len: usize, label: &str) -> Result<()> {
        let max = self.inner.ctx.max_storage_elems();
        if len as u64 > max || buffer::alloc_bytes(len) > self.inner.ctx.limits.max_buffer_size {
            return Err(Error::Gpu(format!(
                "{label}: {len} f32 values ({} bytes) exceed this device's storage-buffer binding limit of {} bytes \
                 (max_storage_buffer_binding_size {}, max_buffer_size {})",
                len as u64 * 4,
                max * 4,
                self.inner.ctx.limits.max_storage_buffer_binding_size,
                self.inner.ctx.limits.max_buffer_size
            )));
        }
        Ok(())
    }

    /// A pooled buffer of `len` f32s with undefined contents (scratch space for kernels).
    pub(crate) fn scratch(&self, len: usize, label: &str) -> Result<GpuBuf> {
        self.check_alloc(len, label)?;
        Ok(self.inner.pool.take(&self.inner.ctx.device, len, label))
    }

    /// The largest workgroup count per grid dimension.
    pub(crate) fn max_groups(&self) -> u32 {
        self.inner.ctx.limits.max_compute_workgroups_per_dimension
    }

    /// A 2-D grid of at least `groups` workgroups (x filled first, x <= the per-dimension
    /// limit). Shaders flatten it as `wid.y * nwg.x + wid.x` and skip the tail.
    pub(crate) fn grid_1d(&self, groups: u64) -> Result<[u32; 3]> {
        let max = self.max_groups() as u64;
        let x = groups.clamp(1, max);
        let y = groups.div_ceil(x);
        if y > max {
            return Err(Error::Gpu(format!("{groups} workgroups exceed the {max} x {max} grid this device allows")));
        }
        Ok([x as u32, y as u32, 1])
    }

    /// Dispatch of a 1-D kernel over `n` items, `per_group` items per workgroup.
    pub(crate) fn dispatch_1d(
        &self,
        k: &Kernel,
        bufs: &[&GpuBuf],
        params: &[u32],
        n: usize,
        per_group: usize,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let grid = self.grid_1d((n as u64).div_ceil(per_group as u64))?;
        self.dispatch(k, bufs, params, grid)
    }

    /// Records one dispatch of `k` with `bufs` bound in order and `params` as its uniform
    /// block. Refuses a writable buffer that is also bound elsewhere (wgpu would reject
    /// it) and workgroup counts over the device limit. A zero count records nothing.
    pub(crate) fn dispatch(&self, k: &Kernel, bufs: &[&GpuBuf], params: &[u32], groups: [u32; 3]) -> Result<()> {
        if bufs.len() != k.bindings.len() || params.len() > PARAMS_WORDS {
            return Err(Error::Gpu(format!(
                "internal: {}::{} takes {} buffers and <= {PARAMS_WORDS} params, got {} and {}",
                k.shader.name,
                k.entry,
                k.bindings.len(),
                bufs.len(),
                params.len()
            )));
        }
        for (i, c) in k.bindings.chars().enumerate() {
            if c == 'w' && bufs.iter().enumerate().any(|(j, b)| j != i && b.same(bufs[i])) {
                return Err(Error::Shape(format!(
                    "{}::{}: output buffer (binding {i}) aliases another argument",
                    k.shader.name, k.entry
                )));
            }
        }
        let max = self.max_groups();
        if groups.iter().any(|&g| g > max) {
            return Err(Error::Gpu(format!(
                "{}::{}: grid {groups:?} exceeds {max} workgroups per dimension",
                k.shader.name, k.entry
            )));
        }
        if groups.contains(&0) {
            return Ok(());
        }
        let ctx = &self.inner.ctx;
        let (pipeline, bind_group) = {
            let mut pipes = self.inner.pipes.borrow_mut();
            let p = pipes.pipeline(ctx, k)?;
            (p, pipes.bind_group(&ctx.device, k, bufs))
        };
        if self.inner.rec.borrow().params_full() {
            self.flush()?;
        }
        self.inner.rec.borrow_mut().dispatch(&ctx.device, &pipeline, &bind_group, params, groups);
        self.inner.dispatches.set(self.inner.dispatches.get() + 1);
        Ok(())
    }

    /// Runs `record` (which records GPU work) and returns the device time it took, from
    /// timestamp queries; `None` when the adapter has no timestamps (time it on the host
    /// around a `download` instead).
    pub fn time_gpu(&self, record: impl FnOnce() -> Result<()>) -> Result<Option<f64>> {
        let ctx = &self.inner.ctx;
        if !ctx.has_timestamps() {
            record()?;
            return Ok(None);
        }
        self.flush()?;
        let qs = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("timing"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        self.inner.rec.borrow_mut().start_timing(qs);
        let r = record();
        let (qs, any) = self.inner.rec.borrow_mut().stop_timing().expect("timing was started");
        r?;
        if !any {
            return Ok(Some(0.0));
        }
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        self.inner.rec.borrow_mut().encoder(&ctx.device).resolve_query_set(&qs, 0..2, &resolve, 0);
        let raw = self.read_back(&resolve, 16)?;
        let t: &[u64] = bytemuck::cast_slice(&raw);
        let ticks = t[1].saturating_sub(t[0]);
        Ok(Some(ticks as f64 * ctx.queue.get_timestamp_period() as f64 * 1e-9))
    }
}
