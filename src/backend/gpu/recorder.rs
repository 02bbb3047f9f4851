//! The pending command encoder: every op records into it, `flush` submits it once.
//!
//! Dispatches share one open compute pass (wgpu inserts the barriers between dependent
//! dispatches); copies and clears close the pass first. Each dispatch's uniform
//! parameters go into a host-side arena, uploaded with one `write_buffer` right before the
//! submit and read through a dynamic offset, so recording a dispatch allocates nothing.

use super::pipeline::{PARAMS_BYTES, PARAMS_WORDS};

/// Parameter slots per submit; a step that records more dispatches is split into
/// several submits automatically.
const PARAM_SLOTS: u64 = 4096;

pub(crate) struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    params: Vec<u8>,
    slot_bytes: u64,
    params_buf: wgpu::Buffer,
    params_bg: wgpu::BindGroup,
    /// While timing: the query set, and whether the first timed pass has begun.
    timing: Option<(wgpu::QuerySet, bool)>,
}

impl Recorder {
    pub fn new(device: &wgpu::Device, params_layout: &wgpu::BindGroupLayout, limits: &wgpu::Limits) -> Self {
        let slot_bytes = PARAMS_BYTES.max(limits.min_uniform_buffer_offset_alignment as u64);
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params arena"),
            size: slot_bytes * PARAM_SLOTS,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params_bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("params"),
            layout: params_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &params_buf,
                    offset: 0,
                    size: wgpu::BufferSize::new(PARAMS_BYTES),
                }),
            }],
        });
        Recorder { encoder: None, pass: None, params: Vec::new(), slot_bytes, params_buf, params_bg, timing: None }
    }

    /// True when nothing has been recorded since the last submit.
    pub fn is_empty(&self) -> bool {
        self.encoder.is_none()
    }

    /// True when the parameter arena cannot take another dispatch.
    pub fn params_full(&self) -> bool {
        self.params.len() as u64 >= self.slot_bytes * PARAM_SLOTS
    }

    fn end_pass(&mut self) {
        self.pass = None;
    }

    /// The encoder for copies and clears (closes the open pass).
    pub fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.end_pass();
        self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("step") })
        })
    }

    /// Records one dispatch. The caller checked `params_full()` and the workgroup counts.
    pub fn dispatch(
        &mut self,
        device: &wgpu::Device,
        pipeline: &wgpu::ComputePipeline,
        bind_group: &wgpu::BindGroup,
        params: &[u32],
        groups: [u32; 3],
    ) {
        debug_assert!(params.len() <= PARAMS_WORDS && !self.params_full());
        let offset = self.params.len() as u32;
        self.params.extend_from_slice(bytemuck::cast_slice(params));
        self.params.resize(offset as usize + self.slot_bytes as usize, 0);
        if self.pass.is_none() {
            let timing = self.timing.as_mut().map(|(qs, started)| {
                let first = !*started;
                *started = true;
                wgpu::ComputePassTimestampWrites {
                    query_set: &*qs,
                    beginning_of_pass_write_index: first.then_some(0),
                    end_of_pass_write_index: Some(1),
                }
            });
            let desc = wgpu::ComputePassDescriptor { label: Some("ops"), timestamp_writes: timing };
            let encoder = self.encoder.get_or_insert_with(|| {
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("step") })
            });
            self.pass = Some(encoder.begin_compute_pass(&desc).forget_lifetime());
        }
        let pass = self.pass.as_mut().expect("pass just opened");
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.set_bind_group(1, &self.params_bg, &[offset]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    }

    /// Closes the pass and the encoder; uploads the parameter arena. `None` if empty.
    pub fn finish(&mut self, queue: &wgpu::Queue) -> Option<wgpu::CommandBuffer> {
        self.end_pass();
        let encoder = self.encoder.take()?;
        if !self.params.is_empty() {
            // Lands before this submit's commands run (queue writes precede the next submit).
            queue.write_buffer(&self.params_buf, 0, &self.params);
            self.params.clear();
        }
        Some(encoder.finish())
    }

    /// Starts timing: the next passes write timestamps (first begin, last end).
    pub fn start_timing(&mut self, query_set: wgpu::QuerySet) {
        self.end_pass();
        self.timing = Some((query_set, false));
    }

    /// Stops timing; returns the query set and whether any pass was timed.
    pub fn stop_timing(&mut self) -> Option<(wgpu::QuerySet, bool)> {
        self.end_pass();
        self.timing.take()
    }
}
