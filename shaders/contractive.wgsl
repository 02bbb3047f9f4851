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
            // Clamped so that exp stays finite (WGSL lets compilers assume no inf);
            // |f'| < 2e-35 past the clamp anyway.
            let s = 1.0 / (1.0 + exp(-clamp(z, -80.0, 80.0)));
            let d = s * (1.0 - s);
            return vec2<f32>(d, d * (1.0 - 2.0 * s));
        }
        case ACT_TANH: {
            // From exp rather than the builtin: drivers may lower tanh to a fast
            // approximation (about 11 bits) or to an exp ratio that gives inf/inf = NaN
            // for large |z|. This form is accurate to a few ulps in absolute terms (all
            // that f' and f'' need); the clamp keeps exp finite and t is 1.0 in f32
            // beyond |z| = 9 anyway.
            let t = 1.0 - 2.0 / (exp(2.0 * clamp(z, -40.0, 40.0)) + 1.0);
            let d = 1.0 - t * t;
            return vec2<f32>(d, -2.0 * t * d);
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
