//! `GpuBackend`: WGSL compute shaders through wgpu. (Filled by the GPU backend issue.)
