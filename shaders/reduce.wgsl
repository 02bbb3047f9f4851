// reduce.wgsl: bias add, bias gradient, sums and elementwise arithmetic.
// Twin of kernels/src/reduce.rs. Host side: src/backend/gpu/reduce.rs.
//
// 1-D kernels run 256 invocations per workgroup, one element each, over a 2-D grid
// (x holds at most 65535 workgroups): i = (wid.y * nwg.x + wid.x) * 256 + lid.
// Reductions are two-stage and atomics-free: `sum_all_partial` writes one partial sum per
// workgroup (a fixed chunk of the input each, so the result is deterministic), then
// `sum_all_finish` adds the partials in a single workgroup. Every tree reduction halves a
// 256-wide workgroup array.

struct Params {
    len: u32,      // elements (1-D ops), rows for bias ops
    channels: u32,
    inner: u32,
    flag: u32,     // bias_grad: 1 = accumulate into out
    alpha: f32,    // scale / axpy factor, fill value, sum scale
    chunk: u32,    // sum_all_partial: elements per workgroup (multiple of 256)
}

@group(1) @binding(0) var<uniform> p: Params;

// Bindings by role; each entry point uses one consistent set.
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(1) var<storage, read_write> out1: array<f32>;
@group(0) @binding(0) var<storage, read_write> out0: array<f32>;

// vec4 views for the bandwidth probe `copy`.
@group(0) @binding(0) var<storage, read> in0_4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out1_4: array<vec4<f32>>;

const WG: u32 = 256u;

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid;
}

// out0[i] = alpha (bindings: "w")
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out0[i] = p.alpha;
}

// out[i] = x[i] over len vec4s ("rw"): the bandwidth roofline of `autoenc bench`.
@compute @workgroup_size(256)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out1_4[i] = in0_4[i];
}

// out = a + b ("rrw")
@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out2[i] = in0[i] + in1[i];
}

// out = a * b ("rrw")
@compute @workgroup_size(256)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out2[i] = in0[i] * in1[i];
}

// out = alpha * x ("rw")
@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out1[i] = p.alpha * in0[i];
}

// y += alpha * x, in place on y ("rw")
@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out1[i] = out1[i] + p.alpha * in0[i];
}

// out = (alpha * s[0]) * x: the scalar stays on the device ("rrw": x, s, out)
@compute @workgroup_size(256)
fn scale_by_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    out2[i] = (p.alpha * in1[0]) * in0[i];
}

// out[o,c,i] = x[o,c,i] + bias[c] over [outer, channels, inner], len = all elements ("rrw")
@compute @workgroup_size(256)
fn bias_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    if (i >= p.len) { return; }
    let c = (i / p.inner) % p.channels;
    out2[i] = in0[i] + in1[c];
}

var<workgroup> red: array<f32, 256>;

// Tree reduction of red[0..256]; every invocation of the workgroup must call it.
fn reduce_red(lid: u32) -> f32 {
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    }
    workgroupBarrier();
    return red[0];
}

// Bias gradient of dense layers (inner == 1): column sums of dy[rows = len, channels].
// Workgroup = 32 columns x 8 row lanes; each lane walks every 8th row (coalesced along
// columns), then the 8 lanes are added in a fixed order. ("rw": dy, out)
@compute @workgroup_size(32, 8)
fn bias_grad_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) l: vec3<u32>) {
    let c = (wid.y * nwg.x + wid.x) * 32u + l.x;
    var s = 0.0;
    if (c < p.channels) {
        for (var r = l.y; r < p.len; r = r + 8u) {
            s = s + in0[r * p.channels + c];
        }
    }
    red[l.y * 32u + l.x] = s;
    workgroupBarrier();
    if (l.y == 0u && c < p.channels) {
        var t = 0.0;
        for (var k = 0u; k < 8u; k = k + 1u) { t = t + red[k * 32u + l.x]; }
        if (p.flag != 0u) { t = t + out1[c]; }
        out1[c] = t;
    }
}

// Bias gradient of NCHW tensors (inner > 1): one workgroup per channel sums its
// outer * inner values (rows = len). ("rw": dy, out)
@compute @workgroup_size(256)
fn bias_grad_planes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let c = wid.y * nwg.x + wid.x;
    let inside = c < p.channels; // tail workgroups of the 2-D grid still join the barriers
    let n = p.len * p.inner;
    var s = 0.0;
    if (inside) {
        for (var j = lid; j < n; j = j + WG) {
            let o = j / p.inner;
            s = s + in0[(o * p.channels + c) * p.inner + (j - o * p.inner)];
        }
    }
    red[lid] = s;
    let t = reduce_red(lid);
    if (lid == 0u && inside) {
        if (p.flag != 0u) { out1[c] = out1[c] + t; } else { out1[c] = t; }
    }
}

// Stage 1 of a sum: workgroup g sums x[g*chunk .. min((g+1)*chunk, len)] and writes
// alpha * sum to partials[g]. ("rw": x, partials)
@compute @workgroup_size(256)
fn sum_all_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let g = wid.y * nwg.x + wid.x;
    let start = g * p.chunk;
    let end = min(start + p.chunk, p.len);
    var s = 0.0;
    for (var j = start + lid; j < end; j = j + WG) {
        s = s + in0[j];
    }
    red[lid] = s;
    let t = reduce_red(lid);
    if (lid == 0u && (start < p.len || g == 0u)) { out1[g] = p.alpha * t; }
}

// Stage 2: out[0] = alpha * sum(partials[0..len]) in one workgroup. ("rw": partials, out)
@compute @workgroup_size(256)
fn sum_all_finish(@builtin(local_invocation_index) lid: u32) {
    var s = 0.0;
    for (var j = lid; j < p.len; j = j + WG) {
        s = s + in0[j];
    }
    red[lid] = s;
    let t = reduce_red(lid);
    if (lid == 0u) { out1[0] = p.alpha * t; }
}
