// gaussian.wgsl: standard normal draws, the reparameterization z = mu + exp(lv / 2) eps
// and the Gaussian KL divergence, each with its backward.
// Twin of kernels/src/gaussian.rs (the generator's design is there and in docs/KERNELS.md).
// Host side: src/backend/gpu/gaussian.rs.
//
// The generator is the CPU's bit for bit up to the floats: Philox4x32-10 on u32 only
// (WGSL has no 64-bit integers: the 32x32 -> 64 product comes from 16-bit halves, and the
// 64-bit draw index from a carry), then Box-Muller with this file's own ln / sin / cos
// polynomials, the same Cephes ones in the same order as the CPU's (the builtins' accuracy
// is implementation-defined). One invocation per draw; each computes its 4-word block.

struct Params {
    len: u32,      // elements
    seed_lo: u32,  // normal_fill: the stream's key
    seed_hi: u32,
    off_lo: u32,   // normal_fill: the first draw's index
    off_hi: u32,
    chunk: u32,    // gaussian_kl_forward_partial: elements per workgroup (multiple of 256)
    alpha: f32,    // gaussian_kl_forward_partial: factor on each partial
}

@group(1) @binding(0) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read_write> out0: array<f32>;      // normal_fill
@group(0) @binding(0) var<storage, read_write> out_bits: array<u32>;  // normal_fill_bits
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read> in2: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;

const WG: u32 = 256u;

// ---- Philox4x32-10 ----------------------------------------------------------------

// (hi, lo) of the 64-bit product a * b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    return vec2<u32>(hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}

fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var round = 0u; round < 10u; round = round + 1u) {
        if (round > 0u) { k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u); }
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// The Philox word behind draw offset + i: lane n % 4 of block n / 4 (n as lo/hi words).
struct Draw { w: vec4<u32>, lane: u32 }

fn draw_block(i: u32) -> Draw {
    let lo = p.off_lo + i;
    let hi = p.off_hi + select(0u, 1u, lo < p.off_lo);
    let block = vec2<u32>((lo >> 2u) | (hi << 30u), hi >> 2u);
    let w = philox4x32_10(vec4<u32>(block.x, block.y, 0u, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    return Draw(w, lo & 3u);
}

// ---- Box-Muller ---------------------------------------------------------------------

// ((w >> 9) + 0.5) 2^-23: exact, in (0, 1).
fn uniform_open(w: u32) -> f32 {
    return (f32(w >> 9u) + 0.5) * (1.0 / 8388608.0);
}

// Cephes logf on positive normal x: x = m 2^e, m in [sqrt(1/2), sqrt(2)), degree 9 in m - 1.
fn ln_poly(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    var e = f32(i32(bits >> 23u) - 127);
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    if (m > 1.4142135623730951) {
        m = m * 0.5;
        e = e + 1.0;
    }
    let f = m - 1.0;
    let z = f * f;
    var y = 7.0376836e-2;
    y = y * f + -1.151461e-1;
    y = y * f + 1.1676999e-1;
    y = y * f + -1.2420141e-1;
    y = y * f + 1.4249323e-1;
    y = y * f + -1.6668058e-1;
    y = y * f + 2.0000715e-1;
    y = y * f + -2.4999994e-1;
    y = y * f + 3.333333e-1;
    y = y * f * z + e * -2.1219444e-4 - 0.5 * z;
    return (f + y) + e * 0.6933594;
}

// (sin 2 pi t, cos 2 pi t) for t in [0, 1): quadrant q = floor(4t + 1/2), Cephes sinf /
// cosf on x = (4t - q) pi / 2 in [-pi/4, pi/4].
fn sincos_2pi(t: f32) -> vec2<f32> {
    let q = floor(4.0 * t + 0.5);
    let x = (4.0 * t - q) * 1.5707963267948966;
    let z = x * x;
    let s = x + x * z * ((-1.9515296e-4 * z + 8.332161e-3) * z - 1.6666655e-1);
    let c = z * z * ((2.4433157e-5 * z - 1.3887316e-3) * z + 4.1666646e-2) - 0.5 * z + 1.0;
    // Quadrant rotation without a switch (the shaders switch only on named constants):
    // q = 0: (s, c), 1: (c, -s), 2: (-s, -c), 3: (-c, s).
    let quadrant = u32(q) & 3u;
    let odd = (quadrant & 1u) == 1u;
    let sign = select(1.0, -1.0, quadrant >= 2u);
    return sign * select(vec2<f32>(s, c), vec2<f32>(c, -s), odd);
}

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid;
}

// out[i] = standard normal draw offset + i of stream seed ("w")
@compute @workgroup_size(256)
fn normal_fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.len) { return; }
    let d = draw_block(i);
    let pair = d.lane >> 1u;
    let w1 = select(d.w.x, d.w.z, pair == 1u);
    let w2 = select(d.w.y, d.w.w, pair == 1u);
    let radius = sqrt(-2.0 * ln_poly(uniform_open(w1)));
    let sc = sincos_2pi(uniform_open(w2));
    out0[i] = radius * select(sc.y, sc.x, (d.lane & 1u) == 1u);
}

// out[i] = the Philox word behind draw offset + i, as raw u32 bits ("w"): the counter
// stage alone, compared bit for bit with the CPU's.
@compute @workgroup_size(256)
fn normal_fill_bits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.len) { return; }
    let d = draw_block(i);
    out_bits[i] = d.w[d.lane];
}

// ---- reparameterization and KL ------------------------------------------------------

// z = mu + exp(0.5 lv) eps ("rrrw": mu, logvar, eps, z)
@compute @workgroup_size(256)
fn reparameterize_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.len) { return; }
    out3[i] = in0[i] + exp(0.5 * in1[i]) * in2[i];
}

// dmu = dz, dlogvar = dz 0.5 exp(0.5 lv) eps ("rrrww": logvar, eps, dz, dmu, dlogvar)
@compute @workgroup_size(256)
fn reparameterize_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.len) { return; }
    let dz = in2[i];
    out3[i] = dz;
    out4[i] = dz * 0.5 * exp(0.5 * in0[i]) * in1[i];
}

var<workgroup> red: array<f32, 256>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    }
    workgroupBarrier();
    return red[0];
}

// partials[g] = alpha * sum over chunk g of -0.5 (1 + lv - mu^2 - exp(lv)) ("rrw": mu,
// logvar, partials); reduce.wgsl's sum_all_finish adds the partials.
@compute @workgroup_size(256)
fn gaussian_kl_forward_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_index) lid: u32) {
    let g = wid.y * nwg.x + wid.x;
    let start = g * p.chunk;
    let end = min(start + p.chunk, p.len);
    var s = 0.0;
    for (var j = start + lid; j < end; j = j + WG) {
        let m = in0[j];
        let lv = in1[j];
        s = s + -0.5 * (1.0 + lv - m * m - exp(lv));
    }
    let t = reduce_sum(lid, s);
    if (lid == 0u && (start < p.len || g == 0u)) { out2[g] = p.alpha * t; }
}

// dmu = dout[0] alpha mu, dlogvar = dout[0] alpha 0.5 (exp(lv) - 1) with alpha = 1 / rows
// ("rrrww": mu, logvar, dout, dmu, dlogvar)
@compute @workgroup_size(256)
fn gaussian_kl_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.len) { return; }
    let s = p.alpha * in2[0];
    out3[i] = in0[i] * s;
    out4[i] = 0.5 * (exp(in1[i]) - 1.0) * s;
}
