// conv2d.wgsl: 2-D convolution, its input gradient and its weight gradient as implicit
// GEMMs. Twin of kernels/src/conv2d.rs; host side: src/backend/gpu/conv2d.rs.
//
// No column matrix exists anywhere: each GEMM's tile loader computes the im2col index of
// the element it stages into workgroup memory (zero where the tap falls in the padding,
// or, for the input gradient, where no output reads the input), so a conv step needs no
// buffer larger than its images, outputs and weights.
//
//   conv2d             M = OC, N = batch*OH*OW, K = C*KH*KW
//                      A[oc, k] = w[oc, k];  B[k, (n,oh,ow)] = x at the tap; C -> y NCHW
//   conv2d_input_grad  M = C,  N = batch*H*W,   K = OC*KH*KW   (the adjoint: no col2im)
//                      A[c, (oc,ki,kj)] = w[oc, c, ki, kj];
//                      B[(oc,ki,kj), (n,h,w)] = dy[n, oc, oh, ow] where h = oh*sh + ki*dh - ph
//                      (and likewise w) has a solution, else 0;  C -> dx NCHW
//   conv2d_weight_grad M = OC, N = C*KH*KW, K = batch*OH*OW, split: workgroup z sums the
//                      K range [z*k_chunk, (z+1)*k_chunk) into partial z of the output
//                      (the host adds the partials when there are several)
//                      A[oc, (n,p)] = dy[n, oc, p];  B[(n,p), k] = x at the tap
//
// Tiling: a 16 x 16 workgroup computes a 64 x 64 block of C, each invocation the 4 x 4
// outputs at rows ty + 16i and columns tx + 16j (neighbouring invocations write
// neighbouring columns). K steps by 16: each step stages a 64 x 16 A tile and a 16 x 64
// B tile, element by element, the contiguous output index varying fastest.
// Grid: x = column tiles, y = row tiles, z = more column tiles (conv2d, input grad: the
// host folds grids over the 65535 limit) or the K split (weight grad).
// Bindings: buffers at @group(0) in argument order, params at @group(1) @binding(0).

const TS: u32 = 64u; // tile side
const BK: u32 = 16u; // K step

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
    out_channels: u32,
    k_chunk: u32, // weight grad: K elements per split; unused by the other two
}

@group(0) @binding(0) var<storage, read> src: array<f32>;  // x (conv2d, weight grad) or dy (input grad)
@group(0) @binding(1) var<storage, read> other: array<f32>; // w (conv2d, input grad) or dy (weight grad)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: ConvParams;

var<workgroup> As: array<f32, 1024>; // As[kk * TS + m]
var<workgroup> Bs: array<f32, 1024>; // Bs[kk * TS + n]

// x[n, c, ih, iw] for tap (ki, kj) of output pixel (oh, ow), or 0 in the padding.
fn image_tap(n: u32, c: u32, ki: u32, kj: u32, oh: u32, ow: u32) -> f32 {
    // Coordinates in the padded image; unsigned, so "inside" is pad <= hp < pad + H.
    let hp = oh * p.stride_h + ki * p.dil_h;
    let wp = ow * p.stride_w + kj * p.dil_w;
    if hp < p.pad_h || hp >= p.pad_h + p.height || wp < p.pad_w || wp >= p.pad_w + p.width {
        return 0.0;
    }
    return src[((n * p.channels + c) * p.height + hp - p.pad_h) * p.width + wp - p.pad_w];
}

// The output coordinate whose tap k reads input coordinate i on one axis, or `none`.
fn reader(i: u32, k: u32, stride: u32, pad: u32, dil: u32, out_len: u32) -> u32 {
    let ip = i + pad;
    if k * dil > ip {
        return 0xffffffffu;
    }
    let d = ip - k * dil;
    let o = d / stride;
    if d != o * stride || o >= out_len {
        return 0xffffffffu;
    }
    return o;
}

// Element (k, col) of B for each GEMM; 0 outside the K range.
fn b_conv2d(k: u32, col: u32) -> f32 {
    let taps = p.kernel_h * p.kernel_w;
    let pix = p.out_h * p.out_w;
    if k >= p.channels * taps || col >= p.batch * pix {
        return 0.0;
    }
    let n = col / pix;
    let q = col - n * pix;
    let c = k / taps;
    let t = k - c * taps;
    return image_tap(n, c, t / p.kernel_w, t % p.kernel_w, q / p.out_w, q % p.out_w);
}

fn b_input_grad(k: u32, col: u32) -> f32 {
    let taps = p.kernel_h * p.kernel_w;
    let plane = p.height * p.width;
    if k >= p.out_channels * taps || col >= p.batch * plane {
        return 0.0;
    }
    let n = col / plane;
    let q = col - n * plane;
    let oc = k / taps;
    let t = k - oc * taps;
    let oh = reader(q / p.width, t / p.kernel_w, p.stride_h, p.pad_h, p.dil_h, p.out_h);
    let ow = reader(q % p.width, t % p.kernel_w, p.stride_w, p.pad_w, p.dil_w, p.out_w);
    if oh == 0xffffffffu || ow == 0xffffffffu {
        return 0.0;
    }
    return src[((n * p.out_channels + oc) * p.out_h + oh) * p.out_w + ow];
}

fn b_weight_grad(k: u32, col: u32, k_end: u32) -> f32 {
    let taps = p.kernel_h * p.kernel_w;
    let pix = p.out_h * p.out_w;
    if k >= k_end || col >= p.channels * taps {
        return 0.0;
    }
    let n = k / pix;
    let q = k - n * pix;
    let c = col / taps;
    let t = col - c * taps;
    return image_tap(n, c, t / p.kernel_w, t % p.kernel_w, q / p.out_w, q % p.out_w);
}

// Element (row, k) of A for each GEMM.
fn a_conv2d(row: u32, k: u32) -> f32 {
    let kn = p.channels * p.kernel_h * p.kernel_w;
    if row >= p.out_channels || k >= kn {
        return 0.0;
    }
    return other[row * kn + k];
}

fn a_input_grad(row: u32, k: u32) -> f32 {
    let taps = p.kernel_h * p.kernel_w;
    if row >= p.channels || k >= p.out_channels * taps {
        return 0.0;
    }
    let oc = k / taps;
    return other[(oc * p.channels + row) * taps + k - oc * taps];
}

fn a_weight_grad(row: u32, k: u32, k_end: u32) -> f32 {
    let pix = p.out_h * p.out_w;
    if row >= p.out_channels || k >= k_end {
        return 0.0;
    }
    let n = k / pix;
    return other[(n * p.out_channels + row) * pix + k - n * pix];
}

// One 64 x 64 tile of C over K range [k_begin, k_end): `mode` 0 conv2d, 1 input grad,
// 2 weight grad (uniform across the workgroup, so the branches do not diverge).
fn tile(mode: u32, lid: u32, tx: u32, ty: u32, m0: u32, n0: u32, k_begin: u32, k_end: u32) -> array<f32, 16> {
    var acc: array<f32, 16>;
    for (var k0 = k_begin; k0 < k_end; k0 += BK) {
        for (var e = lid; e < TS * BK; e += 256u) {
            // A: k fastest (the weight rows are contiguous in k); B: the column fastest.
            let am = e / BK;
            let ak = k0 + e % BK;
            let bk = k0 + e / TS;
            let bn = n0 + e % TS;
            var a: f32;
            var b: f32;
            if mode == 0u {
                a = a_conv2d(m0 + am, ak);
                b = b_conv2d(bk, bn);
            } else if mode == 1u {
                a = a_input_grad(m0 + am, ak);
                b = b_input_grad(bk, bn);
            } else {
                a = a_weight_grad(m0 + am, ak, k_end);
                b = b_weight_grad(bk, bn, k_end);
            }
            As[(e % BK) * TS + am] = a;
            Bs[e] = b;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var bv: array<f32, 4>;
            for (var j = 0u; j < 4u; j++) {
                bv[j] = Bs[kk * TS + tx + 16u * j];
            }
            for (var i = 0u; i < 4u; i++) {
                let av = As[kk * TS + ty + 16u * i];
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = fma(av, bv[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }
    return acc;
}

@compute @workgroup_size(16, 16)
fn conv2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) l: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m0 = wid.y * TS;
    let n0 = (wid.z * nwg.x + wid.x) * TS;
    let acc = tile(0u, lid, l.x, l.y, m0, n0, 0u, p.channels * p.kernel_h * p.kernel_w);
    let pix = p.out_h * p.out_w;
    for (var i = 0u; i < 4u; i++) {
        let oc = m0 + l.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + l.x + 16u * j;
            if oc < p.out_channels && col < p.batch * pix {
                let n = col / pix;
                out[(n * p.out_channels + oc) * pix + col - n * pix] = acc[i * 4u + j];
            }
        }
    }
}

@compute @workgroup_size(16, 16)
fn conv2d_input_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) l: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m0 = wid.y * TS;
    let n0 = (wid.z * nwg.x + wid.x) * TS;
    let acc = tile(1u, lid, l.x, l.y, m0, n0, 0u, p.out_channels * p.kernel_h * p.kernel_w);
    let plane = p.height * p.width;
    for (var i = 0u; i < 4u; i++) {
        let c = m0 + l.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + l.x + 16u * j;
            if c < p.channels && col < p.batch * plane {
                let n = col / plane;
                out[(n * p.channels + c) * plane + col - n * plane] = acc[i * 4u + j];
            }
        }
    }
}

@compute @workgroup_size(16, 16)
fn conv2d_weight_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) l: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m0 = wid.y * TS;
    let n0 = wid.x * TS;
    let k_total = p.batch * p.out_h * p.out_w;
    let k_begin = wid.z * p.k_chunk;
    let k_end = min(k_begin + p.k_chunk, k_total);
    let acc = tile(2u, lid, l.x, l.y, m0, n0, k_begin, k_end);
    let kn = p.channels * p.kernel_h * p.kernel_w;
    let part = wid.z * p.out_channels * kn;
    for (var i = 0u; i < 4u; i++) {
        let oc = m0 + l.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + l.x + 16u * j;
            if oc < p.out_channels && col < kn {
                out[part + oc * kn + col] = acc[i * 4u + j];
            }
        }
    }
}
