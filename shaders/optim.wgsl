// optim.wgsl: optimizer updates, one pass per parameter tensor, in place.
// Twin of kernels/src/optim.rs. Host side: src/backend/gpu/optim.rs.
// One element per invocation, 256 per workgroup, 2-D grid (see reduce.wgsl).

struct Params {
    len: u32,
    lr: f32,
    momentum: f32,    // sgd
    weight_decay: f32,
    beta1: f32,       // adam
    beta2: f32,
    eps: f32,
    bc1: f32,         // adam bias corrections 1 - beta^step, computed once on the host
    bc2: f32,
}

@group(1) @binding(0) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> state1: array<f32>;  // sgd velocity / adam m
@group(0) @binding(3) var<storage, read_write> state2: array<f32>;  // adam v

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid;
}

// v = momentum v + (g + wd p); p -= lr v ("wrw": param, grad, velocity)
@compute @workgroup_size(256)
fn sgd_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    let w = param[i];
    let v = p.momentum * state1[i] + (grad[i] + p.weight_decay * w);
    state1[i] = v;
    param[i] = w - p.lr * v;
}

// Bias-corrected Adam with L2 weight decay added to the gradient ("wrww": param, grad, m, v)
@compute @workgroup_size(256)
fn adam_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    let w = param[i];
    let g = grad[i] + p.weight_decay * w;
    let m = p.beta1 * state1[i] + (1.0 - p.beta1) * g;
    let v = p.beta2 * state2[i] + (1.0 - p.beta2) * (g * g);
    state1[i] = m;
    state2[i] = v;
    param[i] = w - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
}
