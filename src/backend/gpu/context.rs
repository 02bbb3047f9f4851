//! Adapter choice, device creation, error capture and the `autoenc info` description.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// The device and what we learned about it.
pub(crate) struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Everything the adapter offers (we enable only what we use).
    pub adapter_features: wgpu::Features,
    /// Errors wgpu reported outside an error scope (validation, out of memory, device
    /// lost); drained into `Error::Gpu` at the next flush.
    errors: Arc<Mutex<Vec<String>>>,
}

const NO_ADAPTER_HELP: &str = "no GPU adapter found. Install a GPU driver with Vulkan (or Metal / DX12) support, \
     or a software Vulkan device: `apt-get install mesa-vulkan-drivers` (lavapipe)";

/// Rank used when no filter is given: real GPUs first, then native APIs over GL.
fn rank(info: &wgpu::AdapterInfo) -> u32 {
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 1,
        _ => 0,
    };
    ty * 2 + api
}

pub(crate) fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "swiftshader", "warp", "software"].iter().any(|s| name.contains(s))
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor { backends, ..wgpu::InstanceDescriptor::new_without_display_handle() })
}

/// Adapters of the native APIs (Vulkan, Metal, DX12), or of every API (GL too) when
/// `all`: probing GL needs a display connection and prints noise without one.
fn adapters(all: bool) -> (wgpu::Instance, Vec<wgpu::Adapter>) {
    let backends = if all { wgpu::Backends::all() } else { wgpu::Backends::PRIMARY };
    let inst = instance(backends);
    let found = pollster::block_on(inst.enumerate_adapters(backends));
    (inst, found)
}

fn describe_adapters(adapters: &[wgpu::Adapter]) -> String {
    let names: Vec<String> =
        adapters.iter().map(|a| format!("{} ({:?})", a.get_info().name, a.get_info().backend)).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The best adapter (see [`rank`]) among those whose name contains `filter`; native APIs
/// first, GL only when no native adapter qualifies.
fn pick_adapter(filter: Option<&str>) -> Result<wgpu::Adapter> {
    let filter = filter.map(str::to_lowercase).filter(|f| !f.is_empty());
    let matches = |a: &wgpu::Adapter| filter.as_ref().is_none_or(|f| a.get_info().name.to_lowercase().contains(f));
    let mut last = Vec::new();
    for all in [false, true] {
        let (instance, found) = adapters(all);
        if let Some(best) = found.iter().filter(|a| matches(a)).max_by_key(|a| rank(&a.get_info())) {
            return Ok(best.clone());
        }
        if all && filter.is_none() {
            // Nothing enumerated: ask once more, allowing a fallback (software) adapter.
            let opts = wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: true,
                ..Default::default()
            };
            return pollster::block_on(instance.request_adapter(&opts)).map_err(|_| Error::Gpu(NO_ADAPTER_HELP.into()));
        }
        last = found;
    }
    Err(Error::Gpu(format!(
        "no adapter name contains '{}' (AUTOENC_ADAPTER / --adapter); available: {}",
        filter.unwrap_or_default(),
        describe_adapters(&last)
    )))
}

impl Context {
    /// `filter`: case-insensitive substring of the adapter name; `None` reads
    /// `AUTOENC_ADAPTER`, then picks the highest-performance adapter.
    pub fn new(filter: Option<&str>) -> Result<Self> {
        let env_filter = std::env::var("AUTOENC_ADAPTER").ok();
        let filter = filter.or(env_filter.as_deref());
        let adapter = pick_adapter(filter)?;
        let info = adapter.get_info();
        // The default limits cap storage bindings at 128 MiB: take what the adapter has.
        let limits = adapter.limits();
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let desc = wgpu::DeviceDescriptor {
            label: Some("autoenc"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::Gpu(format!("cannot open device on adapter '{}': {e}", info.name)))?;
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, msg| {
            // Dropping the device at exit also reports here: only real losses are errors.
            if reason != wgpu::DeviceLostReason::Destroyed {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(format!("device lost ({reason:?}): {msg}"));
            }
        });
        Ok(Context { device, queue, info, limits, features, adapter_features: adapter.features(), errors })
    }

    /// `Err` with every error wgpu reported since the last call.
    pub fn take_errors(&self) -> Result<()> {
        let mut errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errs.is_empty() {
            return Ok(());
        }
        let msg = errs.join("; ");
        errs.clear();
        Err(Error::Gpu(format!("device error: {msg}")))
    }

    /// Runs `f` inside a validation + out-of-memory error scope; its errors become `Error::Gpu`.
    pub fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
            None => Ok(out),
        }
    }

    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Largest f32 count one buffer may hold and still be bound as storage.
    pub fn max_storage_elems(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size) / 4
    }

    /// Multi-line description for `autoenc info`.
    pub fn describe_long(&self) -> String {
        let i = &self.info;
        let l = &self.limits;
        let mib = |b: u64| format!("{} MiB", b / (1 << 20));
        let mut s = String::new();
        s += &format!("adapter:  {}\n", i.name);
        s += &format!("backend:  {:?}\n", i.backend);
        s += &format!("type:     {:?}{}\n", i.device_type, if is_software(i) { " (software adapter)" } else { "" });
        s += &format!("driver:   {} {}\n", i.driver, i.driver_info);
        s += &format!("vendor:   {:#06x} device {:#06x}\n", i.vendor, i.device);
        s += "limits:\n";
        s += &format!(
            "  max_storage_buffer_binding_size     {} ({})\n",
            l.max_storage_buffer_binding_size,
            mib(l.max_storage_buffer_binding_size)
        );
        s += &format!("  max_buffer_size                     {} ({})\n", l.max_buffer_size, mib(l.max_buffer_size));
        s += &format!("  max_compute_workgroup_storage_size  {} bytes\n", l.max_compute_workgroup_storage_size);
        s += &format!("  max_compute_invocations_per_workgroup {}\n", l.max_compute_invocations_per_workgroup);
        s += &format!(
            "  max_compute_workgroup_size          {} x {} x {}\n",
            l.max_compute_workgroup_size_x, l.max_compute_workgroup_size_y, l.max_compute_workgroup_size_z
        );
        s += &format!("  max_compute_workgroups_per_dimension {}\n", l.max_compute_workgroups_per_dimension);
        s += &format!("  max_storage_buffers_per_shader_stage {}\n", l.max_storage_buffers_per_shader_stage);
        s += &format!("  min_uniform_buffer_offset_alignment {}\n", l.min_uniform_buffer_offset_alignment);
        let names = |f: wgpu::Features| f.iter_names().map(|(n, _)| n.to_lowercase()).collect::<Vec<_>>().join(", ");
        s += &format!(
            "features enabled: {}\n",
            if self.features.is_empty() { "none".into() } else { names(self.features) }
        );
        s += &format!("features offered: {}", names(self.adapter_features));
        s
    }
}
