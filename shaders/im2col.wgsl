// im2col (CPU twin: kernels/src/im2col.rs; the axis swap around it is layout.wgsl).
//
// Column layout (batched): row (c*KH + ki)*KW + kj, column (n*OH + oh)*OW + ow of a
// [C*KH*KW, N*OH*OW] matrix, so one matmul serves the whole batch. Padding reads 0.
//
// One invocation per output element. The host spreads long grids over x and y (one
// dimension holds at most 65535 workgroups): idx = (wid.y * nwg.x + wid.x) * 256 + lid.
// Bindings per entry point: buffers at @group(0) in argument order, the params struct
// at @group(1) @binding(0) (see src/backend/gpu/pipeline.rs).

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
    accumulate: u32, // unused here; shared with col2im so both use one struct
}

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(1) @binding(0) var<uniform> p: ConvParams;

// NCHW x -> cols [C*KH*KW, N*OH*OW]. Consecutive invocations write consecutive columns
// (consecutive ow), so the writes coalesce; reads stride by `stride`.
@compute @workgroup_size(256)
fn im2col(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wid.y * nwg.x + wid.x) * WG + lid;
    let ncols = p.batch * p.out_h * p.out_w;
    if idx >= p.channels * p.kernel_h * p.kernel_w * ncols {
        return;
    }
    let row = idx / ncols;
    let col = idx - row * ncols;
    let kj = row % p.kernel_w;
    let ki = (row / p.kernel_w) % p.kernel_h;
    let c = row / (p.kernel_w * p.kernel_h);
    let ow = col % p.out_w;
    let oh = (col / p.out_w) % p.out_h;
    let n = col / (p.out_w * p.out_h);
    // Coordinates in the padded image; unsigned, so "inside" is pad <= hp < pad + H.
    let hp = oh * p.stride_h + ki * p.dil_h;
    let wp = ow * p.stride_w + kj * p.dil_w;
    var v = 0.0;
    if hp >= p.pad_h && hp < p.pad_h + p.height && wp >= p.pad_w && wp < p.pad_w + p.width {
        v = x[((n * p.channels + c) * p.height + (hp - p.pad_h)) * p.width + (wp - p.pad_w)];
    }
    cols[idx] = v;
}
