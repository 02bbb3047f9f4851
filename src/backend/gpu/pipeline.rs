//! Shader modules, pipelines and bind groups, each built once and cached.
//!
//! Every kernel binds its buffers at `@group(0) @binding(0..)` in argument order and its
//! scalar parameters as one uniform struct at `@group(1) @binding(0)` (at most
//! [`PARAMS_BYTES`] bytes, read through a dynamic offset into a per-submit arena, see
//! `recorder.rs`). A [`Kernel`] names the shader, the entry point and, per binding,
//! whether the shader writes it.

use super::buffer::GpuBuf;
use super::context::Context;
use crate::error::Result;
use std::borrow::Cow;
use std::collections::HashMap;

/// A WGSL file: its stem (for errors and the cache key) and its source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shader {
    pub name: &'static str,
    pub source: &'static str,
}

/// One entry point of a shader. `bindings` has one char per `@group(0)` binding:
/// `'r'` = `var<storage, read>`, `'w'` = `var<storage, read_write>`. `constants` set the
/// shader's `override` declarations; kernels that differ only in them need distinct
/// `variant` names (the cache key).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kernel {
    pub shader: Shader,
    pub entry: &'static str,
    pub bindings: &'static str,
    pub variant: &'static str,
    pub constants: &'static [(&'static str, f64)],
}

impl Kernel {
    pub const fn new(shader: Shader, entry: &'static str, bindings: &'static str) -> Self {
        Kernel { shader, entry, bindings, variant: "", constants: &[] }
    }
    /// The same entry point built with other `override` values.
    pub const fn with_constants(self, variant: &'static str, constants: &'static [(&'static str, f64)]) -> Self {
        Kernel { variant, constants, ..self }
    }
}

/// Size of the uniform parameter block every kernel sees at `@group(1) @binding(0)`:
/// 16 words of u32 / f32. Shaders declare a struct of at most this size.
pub(crate) const PARAMS_BYTES: u64 = 64;
pub(crate) const PARAMS_WORDS: usize = (PARAMS_BYTES / 4) as usize;

/// Caches keyed by shader name, entry point and buffer ids.
pub(crate) struct Pipelines {
    checked: bool,
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<(&'static str, &'static str, &'static str), wgpu::ComputePipeline>,
    layouts: HashMap<&'static str, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    bind_groups: HashMap<(&'static str, Vec<u64>), wgpu::BindGroup>,
    pub params_layout: wgpu::BindGroupLayout,
}

/// Drop the bind-group cache past this many entries (each pins its buffers).
const MAX_BIND_GROUPS: usize = 4096;

impl Pipelines {
    pub fn new(device: &wgpu::Device, checked: bool) -> Self {
        let params_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("params"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(PARAMS_BYTES),
                },
                count: None,
            }],
        });
        Pipelines {
            checked,
            modules: HashMap::new(),
            pipelines: HashMap::new(),
            layouts: HashMap::new(),
            bind_groups: HashMap::new(),
            params_layout,
        }
    }

    pub fn checked(&self) -> bool {
        self.checked
    }

    fn layout(
        &mut self,
        device: &wgpu::Device,
        bindings: &'static str,
    ) -> &(wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let params_layout = &self.params_layout;
        self.layouts.entry(bindings).or_insert_with(|| {
            let entries: Vec<_> = bindings
                .chars()
                .enumerate()
                .map(|(i, c)| wgpu::BindGroupLayoutEntry {
                    binding: i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: c == 'r' },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect();
            let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(bindings),
                entries: &entries,
            });
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(bindings),
                bind_group_layouts: &[Some(&bgl), Some(params_layout)],
                immediate_size: 0,
            });
            (bgl, pl)
        })
    }

    /// The compiled pipeline for `k` (compiled on first use; shader errors -> `Error::Gpu`).
    pub fn pipeline(&mut self, ctx: &Context, k: &Kernel) -> Result<wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.get(&(k.shader.name, k.entry, k.variant)) {
            return Ok(p.clone());
        }
        if !self.modules.contains_key(k.shader.name) {
            // The shared constants (`consts.rs`) come first, then the file.
            let source = format!("{}\n{}", super::consts::wgsl_prelude(), k.shader.source);
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(k.shader.name),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)),
            };
            let checks = if self.checked {
                wgpu::ShaderRuntimeChecks::checked()
            } else {
                wgpu::ShaderRuntimeChecks::unchecked()
            };
            // SAFETY: unchecked modules index out of bounds only if a kernel's host-side shape
            // checks are wrong; every kernel is tested on edge shapes with poisoned outputs,
            // and AUTOENC_CHECKED_SHADERS=1 rebuilds everything with runtime checks.
            let module = ctx.scoped(&format!("compiling shaders/{}.wgsl", k.shader.name), || unsafe {
                ctx.device.create_shader_module_trusted(desc, checks)
            })?;
            self.modules.insert(k.shader.name, module);
        }
        let layout = self.layout(&ctx.device, k.bindings).1.clone();
        let module = &self.modules[k.shader.name];
        let label = format!("{}::{}{}", k.shader.name, k.entry, k.variant);
        let pipeline = ctx.scoped(&format!("building pipeline {label}"), || {
            ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&layout),
                module,
                entry_point: Some(k.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: k.constants,
                    // Every kernel writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
        })?;
        self.pipelines.insert((k.shader.name, k.entry, k.variant), pipeline.clone());
        Ok(pipeline)
    }

    /// The bind group of `bufs` for `k`'s layout, cached by buffer ids.
    pub fn bind_group(&mut self, device: &wgpu::Device, k: &Kernel, bufs: &[&GpuBuf]) -> wgpu::BindGroup {
        let key = (k.bindings, bufs.iter().map(|b| b.id()).collect::<Vec<_>>());
        if let Some(bg) = self.bind_groups.get(&key) {
            return bg.clone();
        }
        if self.bind_groups.len() >= MAX_BIND_GROUPS {
            self.bind_groups.clear();
        }
        let bgl = self.layout(device, k.bindings).0.clone();
        let entries: Vec<_> = bufs
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.raw().as_entire_binding() })
            .collect();
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(k.entry),
            layout: &bgl,
            entries: &entries,
        });
        self.bind_groups.insert(key, bg.clone());
        bg
    }

    /// Forgets bind groups that mention any of `ids` (buffers being freed).
    pub fn forget_buffers(&mut self, ids: &[u64]) {
        if !ids.is_empty() {
            self.bind_groups.retain(|(_, k), _| !k.iter().any(|id| ids.contains(id)));
        }
    }
}
