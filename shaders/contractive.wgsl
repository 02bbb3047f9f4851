// Closed-form contractive penalty and its gradients (CPU twin: kernels/src/contractive.rs).
//
// Encoder h = f(z), z = x W^T + b, W: [hidden, inputs], z: [rows, hidden]:
//   penalty = (1/rows) sum_j c_j s_j,   s_j = sum_i W_ji^2,   c_j = sum_r f'(z_rj)^2
//   dz_rj  += dout (2/rows) f'(z_rj) f''(z_rj) s_j
//   dW_ji  += dout (2/rows) W_ji c_j
// Passes: contractive_penalty_stats (s and c, one workgroup per hidden unit j), then either
// contractive_penalty (one workgroup reduces sum_j c_j s_j) or contractive_backward
// (elementwise over dz and dW at once). `stats` is a [2 * hidden] scratch buffer:
// s_j at j, c_j at hidden + j.

struct Params {
    rows: u32,
    hidden: u32,
    inputs: u32,
    act: u32, // an ACT_* code; ACT_* and LEAKY_RELU_SLOPE are prepended by the host (gpu/consts.rs)
}

const WG: u32 = 256u;

// f'(z) and f''(z) for the activation code.
fn dact(act: u32, z: f32) -> vec2<f32> {
    switch act {
        case ACT_SIGMOID: {
            // As the CPU kernel (kernels/src/contractive.rs `derivs`): from e = exp(-|z|),
            // f' = e/(1+e)^2 and 1-2s = -sign(z)(1-e)/(1+e), which keep their relative
            // accuracy on saturated units where s(1-s) cancels (1.8% off at z = 12, 0
            // past 17). exp(-|z|) <= 1 needs no clamp; it underflows to 0 past |z| = 104.
            let e = exp(-abs(z));
            let q = 1.0 / (1.0 + e);
            let d = e * q * q;
            let dd = d * ((1.0 - e) * q);
            return vec2<f32>(d, select(dd, -dd, z > 0.0));
        }
        case ACT_TANH: {
            // The same with e = exp(-2|z|): f' = 4e/(1+e)^2, t = sign(z)(1-e)/(1+e),
            // f'' = -2 t f'. No builtin tanh (drivers may approximate it to ~11 bits) and
            // no 1-t^2 (all of f' cancels to 0 past |z| = 9).
            let e = exp(-2.0 * abs(z));
            let q = 1.0 / (1.0 + e);
            let d = 4.0 * e * q * q;
            let dd = 2.0 * ((1.0 - e) * q) * d;
            return vec2<f32>(d, select(dd, -dd, z > 0.0));
        }
        case ACT_RELU: {
            return vec2<f32>(select(0.0, 1.0, z > 0.0), 0.0);
        }
        case ACT_LEAKY_RELU: {
            return vec2<f32>(select(LEAKY_RELU_SLOPE, 1.0, z > 0.0), 0.0);
        }
        default: {
            return vec2<f32>(1.0, 0.0);
        }
    }
}

// ---- contractive_penalty_stats: z, w, stats, params --------------------------------------

@group(0) @binding(0) var<storage, read> st_z: array<f32>;
@group(0) @binding(1) var<storage, read> st_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> st_out: array<f32>;
@group(1) @binding(0) var<uniform> stp: Params;

var<workgroup> red_s: array<f32, WG>;
var<workgroup> red_c: array<f32, WG>;

// One workgroup per hidden unit j (grid may be 2-D when hidden > 65535): strided
// partial sums over W's row j (contiguous) and over z's column j (stride `hidden`),
// then a tree reduction in workgroup memory.
@compute @workgroup_size(256)
fn contractive_penalty_stats(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Uniform per workgroup, so the early return keeps barriers in uniform control flow.
    let j = wid.x + wid.y * nwg.x;
    if j >= stp.hidden {
        return;
    }
    var s = 0.0;
    for (var i = lid; i < stp.inputs; i += WG) {
        let v = st_w[j * stp.inputs + i];
        s += v * v;
    }
    var c = 0.0;
    for (var r = lid; r < stp.rows; r += WG) {
        let d = dact(stp.act, st_z[r * stp.hidden + j]).x;
        c += d * d;
    }
    red_s[lid] = s;
    red_c[lid] = c;
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lid < half {
            red_s[lid] += red_s[lid + half];
            red_c[lid] += red_c[lid + half];
        }
    }
    if lid == 0u {
        st_out[j] = red_s[0];
        st_out[stp.hidden + j] = red_c[0];
    }
}

// ---- contractive_penalty: stats, out, params -------------------------------------

@group(0) @binding(0) var<storage, read> pen_stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> pen_out: array<f32>;
@group(1) @binding(0) var<uniform> penp: Params;

// A single workgroup: hidden is a layer width (thousands at most), so one pass over
// 2 * hidden floats is cheaper than a second dispatch level.
@compute @workgroup_size(256)
fn contractive_penalty(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var j = lid; j < penp.hidden; j += WG) {
        acc += pen_stats[j] * pen_stats[penp.hidden + j];
    }
    red_s[lid] = acc;
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        workgroupBarrier();
        if lid < half {
            red_s[lid] += red_s[lid + half];
        }
    }
    if lid == 0u {
        pen_out[0] = red_s[0] / f32(penp.rows);
    }
}

// ---- contractive_backward: z, w, dout, stats, dz, dw, params -----------------------

@group(0) @binding(0) var<storage, read> bw_z: array<f32>;
@group(0) @binding(1) var<storage, read> bw_w: array<f32>;
@group(0) @binding(2) var<storage, read> bw_dout: array<f32>;
@group(0) @binding(3) var<storage, read> bw_stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> bw_dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> bw_dw: array<f32>;
@group(1) @binding(0) var<uniform> bwp: Params;

// Both gradients in one elementwise dispatch over max(rows*hidden, hidden*inputs)
// invocations (one launch fewer per step); each invocation updates at most one dz and
// one dW element, so the accumulation needs no atomics.
@compute @workgroup_size(256)
fn contractive_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    let k = bw_dout[0] * 2.0 / f32(bwp.rows);
    if idx < bwp.rows * bwp.hidden {
        let j = idx % bwp.hidden;
        let d = dact(bwp.act, bw_z[idx]);
        bw_dz[idx] += k * d.x * d.y * bw_stats[j];
    }
    if idx < bwp.hidden * bwp.inputs {
        let j = idx / bwp.inputs;
        bw_dw[idx] += k * bw_w[idx] * bw_stats[bwp.hidden + j];
    }
}
