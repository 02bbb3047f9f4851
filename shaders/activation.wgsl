// activation.wgsl: elementwise activations, forward and backward, and the fused bias add
// + activation of a layer's forward.
// Twin of kernels/src/activation.rs. Host side: src/backend/gpu/activation.rs. The
// activation codes (ACT_* = Activation::code()) are WGSL constants that the host prepends
// from their Rust definition (src/backend/gpu/consts.rs).
// One element per invocation, 256 per workgroup, 2-D grid (see reduce.wgsl).

// Shared by every entry point (host: `params()` in activation.rs).
struct Params {
    len: u32,
    act: u32,
    slope: f32,    // leaky relu negative-side slope
    channels: u32, // bias_activation: x viewed as [outer, channels, inner]
    inner: u32,    // (1 for the other entry points)
}

@group(1) @binding(0) var<uniform> p: Params;

// Bindings by role; each entry point uses one consistent set.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y_out: array<f32>;   // forward: y
@group(0) @binding(1) var<storage, read> y: array<f32>;             // backward: y = f(x)
@group(0) @binding(1) var<storage, read> bias: array<f32>;          // bias_activation
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> z_out: array<f32>;   // bias_activation: z
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> h_out: array<f32>;   // bias_activation: y = f(z)

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid;
}

// exp of a non-positive argument only: never overflows.
fn sigmoid(v: f32) -> f32 {
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

// 1 - 2 / (exp(2|v|) + 1): exact limits for large |v| (the builtin may give inf/inf).
fn tanh_stable(v: f32) -> f32 {
    let t = 1.0 - 2.0 / (exp(2.0 * abs(v)) + 1.0);
    return select(-t, t, v >= 0.0);
}

fn forward_one(v: f32) -> f32 {
    switch p.act {
        case ACT_SIGMOID: { return sigmoid(v); }
        case ACT_TANH: { return tanh_stable(v); }
        // `v < 0` as in the CPU kernel: NaN passes through.
        case ACT_RELU: { return select(v, 0.0, v < 0.0); }
        case ACT_LEAKY_RELU: { return select(v, p.slope * v, v < 0.0); }
        default: { return v; }
    }
}

// y = f(x) ("rw")
@compute @workgroup_size(256)
fn activation_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    y_out[i] = forward_one(x[i]);
}

// z = x + bias[c], y = f(z) over [outer, channels, inner], c = (i / inner) % channels
// ("rrww": x, bias, z, y). One launch for a layer's bias and activation; z is the same
// f32 value the separate bias_add would store, so y matches `activation_forward` of it exactly.
@compute @workgroup_size(256)
fn bias_activation(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    let c = (i / p.inner) % p.channels;
    let v = x[i] + bias[c];
    z_out[i] = v;
    h_out[i] = forward_one(v);
}

// dx = dy * f'(x), using y for sigmoid (y(1-y)) and tanh (1-y^2) ("rrrw")
@compute @workgroup_size(256)
fn activation_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    let g = dy[i];
    var d: f32;
    switch p.act {
        case ACT_SIGMOID: { let s = y[i]; d = g * (s * (1.0 - s)); }
        case ACT_TANH: { let t = y[i]; d = g * (1.0 - t * t); }
        case ACT_RELU: { d = select(0.0, g, x[i] > 0.0); }
        case ACT_LEAKY_RELU: { d = select(p.slope * g, g, x[i] > 0.0); }
        default: { d = g; }
    }
    dx[i] = d;
}
