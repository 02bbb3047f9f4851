// col2im: the adjoint of im2col (CPU twin: kernels/src/col2im.rs).
//
// The CPU kernel scatter-adds every column entry into the image. Here each image
// element *gathers* the (at most KH*KW) column entries that read it, so no two
// invocations write the same address: no atomics (WGSL has no float atomics) and a
// deterministic summation order.

struct ConvParams {
    batch: u32,
    channels: u32,
    height: u32,
    width: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_h: u32,
    pad_w: u32,
    dil_h: u32,
    dil_w: u32,
    out_h: u32,
    out_w: u32,
    accumulate: u32, // 1: add into x, 0: overwrite x
}

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> cols: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(1) @binding(0) var<uniform> p: ConvParams;

// cols [C*KH*KW, N*OH*OW] -> NCHW x, one invocation per image element.
@compute @workgroup_size(256)
fn col2im(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    if idx >= p.batch * p.channels * p.height * p.width {
        return;
    }
    let w = idx % p.width;
    let h = (idx / p.width) % p.height;
    let c = (idx / (p.width * p.height)) % p.channels;
    let n = idx / (p.width * p.height * p.channels);
    let ncols = p.batch * p.out_h * p.out_w;
    // Padded coordinates: kernel tap ki of output row oh reads hp = oh*stride_h + ki*dil_h.
    let hp = h + p.pad_h;
    let wp = w + p.pad_w;
    // Start from the old value when accumulating: the taps are then added in the CPU
    // kernel's order (ki, kj row-major), so both give the same rounding.
    var sum = 0.0;
    if p.accumulate != 0u {
        sum = x[idx];
    }
    for (var ki = 0u; ki < p.kernel_h; ki++) {
        if ki * p.dil_h > hp {
            break; // taps only move further right from here
        }
        let dh = hp - ki * p.dil_h;
        let oh = dh / p.stride_h;
        if dh % p.stride_h != 0u || oh >= p.out_h {
            continue;
        }
        for (var kj = 0u; kj < p.kernel_w; kj++) {
            if kj * p.dil_w > wp {
                break;
            }
            let dw = wp - kj * p.dil_w;
            let ow = dw / p.stride_w;
            if dw % p.stride_w != 0u || ow >= p.out_w {
                continue;
            }
            let row = (c * p.kernel_h + ki) * p.kernel_w + kj;
            sum += cols[row * ncols + (n * p.out_h + oh) * p.out_w + ow];
        }
    }
    x[idx] = sum;
}
