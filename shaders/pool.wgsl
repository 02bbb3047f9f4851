// Max pooling, forward and backward (CPU twin: kernels/src/pool.rs; upsampling is
// upsample.wgsl). NCHW; one invocation per element written.

struct PoolParams {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
    out_h: u32,
    out_w: u32,
}

const WG: u32 = 256u;

// max_pool2d: x, y, argmax, params. argmax is a u32 view of an f32 buffer: the host
// side stores the index bit pattern in an f32 slot (f32::from_bits).
@group(0) @binding(0) var<storage, read> pool_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> pool_y: array<f32>;
@group(0) @binding(2) var<storage, read_write> pool_argmax: array<u32>;
@group(1) @binding(0) var<uniform> pp: PoolParams;

// One invocation per output. The window is clipped to the image, so padding never
// wins; the first strict maximum wins ties (row-major scan), and a NaN wins so that it
// propagates like PyTorch's (the last NaN of a window is its argmax).
@compute @workgroup_size(256)
fn max_pool2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    if idx >= pp.batch * pp.channels * pp.out_h * pp.out_w {
        return;
    }
    let ow = idx % pp.out_w;
    let oh = (idx / pp.out_w) % pp.out_h;
    let plane = idx / (pp.out_w * pp.out_h);
    // Padded window [hs, hs + kernel) clipped to the image rows [pad, pad + H); the
    // clipped end saturates at 0 (unsigned) for a window lying wholly in the padding.
    let hs = oh * pp.stride;
    let ws = ow * pp.stride;
    let h0 = max(hs, pp.padding) - pp.padding;
    let h1 = max(min(hs + pp.kernel, pp.padding + pp.height), pp.padding) - pp.padding;
    let w0 = max(ws, pp.padding) - pp.padding;
    let w1 = max(min(ws + pp.kernel, pp.padding + pp.width), pp.padding) - pp.padding;
    let base = plane * pp.height * pp.width;
    if h0 >= h1 || w0 >= w1 {
        // No real tap (padding > kernel / 2): -inf and NO_ARGMAX (u32 max), which the
        // backward gather never matches.
        pool_y[idx] = bitcast<f32>(0xff800000u);
        pool_argmax[idx] = 0xffffffffu;
        return;
    }
    // The first real tap seeds the maximum, so an all -inf window still points at a
    // real input. NaN is detected on the bits: WGSL lets compilers assume no NaN, and
    // lavapipe does fold `v != v` to false. Once a NaN is seen only a later NaN replaces
    // it (the CPU's "last NaN wins"), without comparing against a NaN `best`.
    var arg = h0 * pp.width + w0;
    var best = pool_x[base + arg];
    var seen_nan = false;
    for (var h = h0; h < h1; h++) {
        for (var w = w0; w < w1; w++) {
            let v = pool_x[base + h * pp.width + w];
            if (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u {
                best = v;
                arg = h * pp.width + w;
                seen_nan = true;
            } else if !seen_nan && v > best {
                best = v;
                arg = h * pp.width + w;
            }
        }
    }
    pool_y[idx] = best;
    pool_argmax[idx] = arg;
}

// max_pool2d_backward: dy, argmax, dx, params.
@group(0) @binding(0) var<storage, read> pb_dy: array<f32>;
@group(0) @binding(1) var<storage, read> pb_argmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> pb_dx: array<f32>;
@group(1) @binding(0) var<uniform> pbp: PoolParams;

// Gather: each input element sums dy over the outputs whose window contains it and
// chose it as argmax. Overlapping windows (stride < kernel) may pick the same input,
// which a scatter would have to resolve with float atomics.
@compute @workgroup_size(256)
fn max_pool2d_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    if idx >= pbp.batch * pbp.channels * pbp.height * pbp.width {
        return;
    }
    let w = idx % pbp.width;
    let h = (idx / pbp.width) % pbp.height;
    let plane = idx / (pbp.width * pbp.height);
    let me = h * pbp.width + w;
    // Output oh covers padded rows [oh*stride, oh*stride + kernel): it contains
    // hp = h + pad iff hp - kernel < oh*stride <= hp.
    let hp = h + pbp.padding;
    let wp = w + pbp.padding;
    var oh0 = 0u;
    if hp + 1u > pbp.kernel {
        oh0 = (hp + 1u - pbp.kernel + pbp.stride - 1u) / pbp.stride;
    }
    var ow0 = 0u;
    if wp + 1u > pbp.kernel {
        ow0 = (wp + 1u - pbp.kernel + pbp.stride - 1u) / pbp.stride;
    }
    let oh1 = min(hp / pbp.stride + 1u, pbp.out_h);
    let ow1 = min(wp / pbp.stride + 1u, pbp.out_w);
    let obase = plane * pbp.out_h * pbp.out_w;
    var sum = 0.0;
    for (var oh = oh0; oh < oh1; oh++) {
        for (var ow = ow0; ow < ow1; ow++) {
            let o = obase + oh * pbp.out_w + ow;
            if pb_argmax[o] == me {
                sum += pb_dy[o];
            }
        }
    }
    pb_dx[idx] = sum;
}
