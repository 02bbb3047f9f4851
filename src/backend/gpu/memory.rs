//! [`Core`] for the GPU: buffers in and out of the device, fills, copies, submits.

use super::{reduce, GpuBackend, GpuBuf};
use crate::backend::Core;
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

impl GpuBackend {
    /// Copies `bytes` of `src` into a host vector (flushes and waits).
    pub(super) fn read_back(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            self.flush()?;
            return Ok(Vec::new());
        }
        let ctx = &self.inner.ctx;
        let staging = {
            let mut st = self.inner.staging.borrow_mut();
            if st.as_ref().is_none_or(|b| b.size() < bytes) {
                *st = Some(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("download staging"),
                    size: bytes.next_power_of_two().max(256),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }));
            }
            st.clone().expect("staging just made")
        };
        self.inner.rec.borrow_mut().encoder(&ctx.device).copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
        self.flush()?;
        let done: Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>> = Arc::default();
        let flag = done.clone();
        staging.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            *flag.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        });
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
        let status = done.lock().unwrap_or_else(|p| p.into_inner()).take();
        match status {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Gpu(format!("mapping the download buffer: {e}"))),
            None => return Err(Error::Gpu("download buffer was not mapped after waiting".into())),
        }
        let out = {
            let view =
                staging.get_mapped_range(0..bytes).map_err(|e| Error::Gpu(format!("reading download buffer: {e}")))?;
            view.to_vec()
        };
        staging.unmap();
        ctx.take_errors()?;
        Ok(out)
    }
}

impl Core for GpuBackend {
    type Buf = GpuBuf;

    fn name(&self) -> &'static str {
        "gpu"
    }

    fn describe(&self) -> String {
        let i = &self.inner.ctx.info;
        format!(
            "gpu ({}, {:?}{}{})",
            i.name,
            i.backend,
            if self.is_software() { ", software" } else { "" },
            if self.checked_shaders() { ", checked shaders" } else { "" }
        )
    }

    fn dispatch_count(&self) -> Option<u64> {
        Some(self.inner.dispatches.get())
    }

    fn zeros(&self, len: usize, label: &str) -> Result<GpuBuf> {
        let buf = self.scratch(len, label)?;
        self.inner.rec.borrow_mut().encoder(&self.inner.ctx.device).clear_buffer(buf.raw(), 0, None);
        Ok(buf)
    }

    fn empty(&self, len: usize, label: &str) -> Result<GpuBuf> {
        self.scratch(len, label)
    }

    fn upload(&self, data: &[f32], label: &str) -> Result<GpuBuf> {
        let buf = self.scratch(data.len(), label)?;
        if data.is_empty() {
            return Ok(buf);
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let ctx = &self.inner.ctx;
        let mut rec = self.inner.rec.borrow_mut();
        if rec.is_empty() {
            // Queue writes land before the next submit: safe while nothing is pending.
            ctx.queue.write_buffer(buf.raw(), 0, bytes);
        } else {
            // Pending commands may still use this (pooled) buffer: copy in command order.
            let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("upload staging"),
                size: bytes.len() as u64,
                usage: wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            staging
                .get_mapped_range_mut(..)
                .map_err(|e| Error::Gpu(format!("{label}: mapping upload buffer: {e}")))?
                .copy_from_slice(bytes);
            staging.unmap();
            rec.encoder(&ctx.device).copy_buffer_to_buffer(&staging, 0, buf.raw(), 0, bytes.len() as u64);
        }
        Ok(buf)
    }

    fn download(&self, buf: &GpuBuf) -> Result<Vec<f32>> {
        let raw = self.read_back(buf.raw(), buf.bytes())?;
        Ok(bytemuck::pod_collect_to_vec(&raw))
    }

    fn fill(&self, buf: &GpuBuf, value: f32) -> Result<()> {
        reduce::fill(self, buf, value)
    }

    fn copy(&self, src: &GpuBuf, dst: &GpuBuf) -> Result<()> {
        if src.same(dst) || src.is_empty() {
            return Ok(());
        }
        self.check_len(dst, src.len(), "copy dst")?;
        let device = &self.inner.ctx.device;
        self.inner.rec.borrow_mut().encoder(device).copy_buffer_to_buffer(src.raw(), 0, dst.raw(), 0, src.bytes());
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let ctx = &self.inner.ctx;
        let cb = self.inner.rec.borrow_mut().finish(&ctx.queue);
        if let Some(cb) = cb {
            ctx.queue.submit([cb]);
            self.inner.submits.set(self.inner.submits.get() + 1);
        }
        ctx.take_errors()
    }
}
