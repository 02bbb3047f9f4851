// Nearest-neighbour upsampling, forward and backward (CPU twin: kernels/src/upsample.rs;
// host side: src/backend/gpu/pool.rs). NCHW; one invocation per element written.

struct UpsampleParams {
    batch: u32,
    channels: u32,
    height: u32, // input height
    width: u32,  // input width
    scale: u32,
}

const WG: u32 = 256u;

// upsample2d: x, y, params.
@group(0) @binding(0) var<storage, read> up_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> up_y: array<f32>;
@group(1) @binding(0) var<uniform> up: UpsampleParams;

// One invocation per output: y[n, c, h, w] = x[n, c, h / s, w / s].
@compute @workgroup_size(256)
fn upsample2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    let ow_len = up.width * up.scale;
    let oh_len = up.height * up.scale;
    if idx >= up.batch * up.channels * oh_len * ow_len {
        return;
    }
    let ow = idx % ow_len;
    let oh = (idx / ow_len) % oh_len;
    let plane = idx / (ow_len * oh_len);
    up_y[idx] = up_x[(plane * up.height + oh / up.scale) * up.width + ow / up.scale];
}

// upsample2d_backward: dy, dx, params.
@group(0) @binding(0) var<storage, read> upb_dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> upb_dx: array<f32>;
@group(1) @binding(0) var<uniform> upb: UpsampleParams;

// Gather: each input element sums its scale x scale block of dy (row-major order,
// as the CPU kernel does).
@compute @workgroup_size(256)
fn upsample2d_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    if idx >= upb.batch * upb.channels * upb.height * upb.width {
        return;
    }
    let w = idx % upb.width;
    let h = (idx / upb.width) % upb.height;
    let plane = idx / (upb.width * upb.height);
    let ow_len = upb.width * upb.scale;
    let base = (plane * upb.height * upb.scale + h * upb.scale) * ow_len + w * upb.scale;
    var sum = 0.0;
    for (var i = 0u; i < upb.scale; i++) {
        for (var j = 0u; j < upb.scale; j++) {
            sum += upb_dy[base + i * ow_len + j];
        }
    }
    upb_dx[idx] = sum;
}
