// Layout changes: swap_leading_axes, [a, b, inner] -> [b, a, inner] (NCHW <-> CNHW around
// the batched conv matmul). CPU twin: kernels/src/layout.rs; host side:
// src/backend/gpu/conv.rs.
//
// One invocation per output element; the host spreads long grids over x and y:
// idx = (wid.y * nwg.x + wid.x) * 256 + lid.

const WG: u32 = 256u;

struct SwapParams {
    a: u32,
    b: u32,
    inner: u32,
}

@group(0) @binding(0) var<storage, read> swap_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> swap_out: array<f32>;
@group(1) @binding(0) var<uniform> sp: SwapParams;

// One invocation per output element: writes coalesce, and reads stay contiguous
// within each `inner` run (HW planes for NCHW <-> CNHW).
@compute @workgroup_size(256)
fn swap_leading_axes(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    if idx >= sp.a * sp.b * sp.inner {
        return;
    }
    let k = idx % sp.inner;
    let i = (idx / sp.inner) % sp.a; // out is [b, a, inner]: the a index varies faster
    let j = idx / (sp.inner * sp.a);
    swap_out[idx] = swap_x[(i * sp.b + j) * sp.inner + k];
}
