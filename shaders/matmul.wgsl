// matmul.wgsl: C[m,n] (+)= op(A)[m,k] · op(B)[k,n], batched and strided.
// Twin of kernels/src/matmul.rs (MatmulDims). Host side: src/backend/gpu/matmul.rs.
//
// 2-D block tiling. A workgroup of T x T invocations computes a TILE x TILE block of C
// (TILE = 8T: 128 x 128 with T = 16, 64 x 64 with T = 8; T is a pipeline-override
// constant, the host picks per shape). Each invocation keeps an 8 x 8 block of C in 16
// vec4 registers: rows {ty*4 .. ty*4+3} and {HALF + ty*4 ..}, columns {tx*4 .. tx*4+3}
// and {HALF + tx*4 ..} (HALF = TILE/2), so neighbouring invocations read neighbouring
// vec4s of workgroup memory and write neighbouring columns of C.
// The K loop steps by BK = 8: the workgroup stages an A tile (TILE x BK, stored
// transposed: As[kk][m]) and a B tile (BK x TILE: Bs[kk][n]) in workgroup memory, then
// every invocation does 8 x 64 FMAs from registers. No private array is indexed
// dynamically (the 16 accumulators are named), so nothing spills.
//
// Loads: a tile that lies wholly inside the matrix, whose contiguous dimension and batch
// stride are multiples of 4 (host flag VEC_A / VEC_B), is read with one vec4 per 4
// elements; any other tile (edges, odd shapes) element by element with bounds tests,
// zeros outside. Both paths read through the same vec4 binding (scalar reads index the
// component), so a buffer is bound once. Transposes only change the load addressing.
//
// Batches: workgroup z = batch (plus BATCH0 when the host splits a grid over the
// 65535-per-dimension limit); operand offsets are batch * stride (stride 0 broadcasts).

override T: u32 = 16u;           // invocations per tile side
override TILE_VEC4: u32 = 32u;   // TILE / 4 = 2T: vec4s per row of a staged tile
override STAGE_VEC4: u32 = 256u; // BK * TILE / 4 = 16T: vec4s in one staged tile
const BK: u32 = 8u;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,     // 1 trans_a, 2 trans_b, 4 accumulate, 8 vec4 loads of A, 16 of B
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    tile_m0: u32,   // grid offsets (in tiles / batches) of this dispatch
    tile_n0: u32,
    batch0: u32,
}

@group(1) @binding(0) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<vec4<f32>, STAGE_VEC4>; // As[kk * TILE_VEC4 + m/4], 4 rows per vec4
var<workgroup> Bs: array<vec4<f32>, STAGE_VEC4>; // Bs[kk * TILE_VEC4 + n/4]

fn a_at(i: u32) -> f32 { return A[i >> 2u][i & 3u]; }
fn b_at(i: u32) -> f32 { return B[i >> 2u][i & 3u]; }

// Scalar write of one staged element (kk, x) of a tile.
fn put_a(kk: u32, x: u32, v: f32) { As[kk * TILE_VEC4 + (x >> 2u)][x & 3u] = v; }
fn put_b(kk: u32, x: u32, v: f32) { Bs[kk * TILE_VEC4 + (x >> 2u)][x & 3u] = v; }

// Stages A[m0.., k0..] into As. `vec` = whole tile in range and 16-byte aligned.
fn load_a(lid: u32, a_off: u32, m0: u32, k0: u32, vec: bool) {
    let tile = 8u * T;
    let trans = (p.flags & 1u) != 0u;
    let threads = T * T;
    if (vec) {
        for (var idx = lid; idx < STAGE_VEC4; idx = idx + threads) {
            if (trans) {
                // A stored [k, m]: a vec4 holds 4 consecutive m of one k: store as is.
                let kk = idx / TILE_VEC4;
                let mq = idx % TILE_VEC4;
                As[kk * TILE_VEC4 + mq] = A[(a_off + (k0 + kk) * p.m + m0) / 4u + mq];
            } else {
                // A stored [m, k]: a vec4 holds 4 consecutive k of one m: scatter.
                let mm = idx >> 1u;
                let kq = (idx & 1u) * 4u;
                let v = A[(a_off + (m0 + mm) * p.k + k0 + kq) / 4u];
                put_a(kq, mm, v.x);
                put_a(kq + 1u, mm, v.y);
                put_a(kq + 2u, mm, v.z);
                put_a(kq + 3u, mm, v.w);
            }
        }
    } else {
        for (var e = lid; e < tile * BK; e = e + threads) {
            // The contiguous dimension varies fastest across invocations (coalesced).
            var mm: u32;
            var kk: u32;
            if (trans) { kk = e / tile; mm = e % tile; } else { mm = e / BK; kk = e % BK; }
            let m = m0 + mm;
            let k = k0 + kk;
            var v = 0.0;
            if (m < p.m && k < p.k) {
                v = a_at(a_off + select(m * p.k + k, k * p.m + m, trans));
            }
            put_a(kk, mm, v);
        }
    }
}

// Stages B[k0.., n0..] into Bs.
fn load_b(lid: u32, b_off: u32, n0: u32, k0: u32, vec: bool) {
    let tile = 8u * T;
    let trans = (p.flags & 2u) != 0u;
    let threads = T * T;
    if (vec) {
        for (var idx = lid; idx < STAGE_VEC4; idx = idx + threads) {
            if (!trans) {
                // B stored [k, n]: a vec4 holds 4 consecutive n of one k.
                let kk = idx / TILE_VEC4;
                let nq = idx % TILE_VEC4;
                Bs[kk * TILE_VEC4 + nq] = B[(b_off + (k0 + kk) * p.n + n0) / 4u + nq];
            } else {
                // B stored [n, k]: a vec4 holds 4 consecutive k of one n.
                let nn = idx >> 1u;
                let kq = (idx & 1u) * 4u;
                let v = B[(b_off + (n0 + nn) * p.k + k0 + kq) / 4u];
                put_b(kq, nn, v.x);
                put_b(kq + 1u, nn, v.y);
                put_b(kq + 2u, nn, v.z);
                put_b(kq + 3u, nn, v.w);
            }
        }
    } else {
        for (var e = lid; e < tile * BK; e = e + threads) {
            var nn: u32;
            var kk: u32;
            if (trans) { nn = e / BK; kk = e % BK; } else { kk = e / tile; nn = e % tile; }
            let n = n0 + nn;
            let k = k0 + kk;
            var v = 0.0;
            if (n < p.n && k < p.k) {
                v = b_at(b_off + select(k * p.n + n, n * p.k + k, trans));
            }
            put_b(kk, nn, v);
        }
    }
}

// Writes 4 consecutive columns of one row of C (bounds-tested; adds the old value when
// accumulating).
fn store4(c_off: u32, m: u32, n: u32, v: vec4<f32>) {
    if (m >= p.m) { return; }
    let acc = (p.flags & 4u) != 0u;
    let row = c_off + m * p.n;
    for (var j = 0u; j < 4u; j = j + 1u) {
        let col = n + j;
        if (col < p.n) {
            var x = v[j];
            if (acc) { x = x + C[row + col]; }
            C[row + col] = x;
        }
    }
}

@compute @workgroup_size(T, T)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let tile = 8u * T;
    let half = 4u * T;
    let batch = p.batch0 + wid.z;
    let m0 = (p.tile_m0 + wid.y) * tile;
    let n0 = (p.tile_n0 + wid.x) * tile;
    let a_off = batch * p.stride_a;
    let b_off = batch * p.stride_b;
    let c_off = batch * p.stride_c;
    let tx = l.x;
    let ty = l.y;
    let vec_a = (p.flags & 8u) != 0u && m0 + tile <= p.m;
    let vec_b = (p.flags & 16u) != 0u && n0 + tile <= p.n;

    var c00 = vec4<f32>(); var c01 = vec4<f32>();
    var c10 = vec4<f32>(); var c11 = vec4<f32>();
    var c20 = vec4<f32>(); var c21 = vec4<f32>();
    var c30 = vec4<f32>(); var c31 = vec4<f32>();
    var c40 = vec4<f32>(); var c41 = vec4<f32>();
    var c50 = vec4<f32>(); var c51 = vec4<f32>();
    var c60 = vec4<f32>(); var c61 = vec4<f32>();
    var c70 = vec4<f32>(); var c71 = vec4<f32>();

    for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
        let full_k = k0 + BK <= p.k;
        load_a(lid, a_off, m0, k0, vec_a && full_k);
        load_b(lid, b_off, n0, k0, vec_b && full_k);
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            let a0 = As[kk * TILE_VEC4 + ty];       // rows ty*4 ..
            let a1 = As[kk * TILE_VEC4 + T + ty];   // rows HALF + ty*4 ..
            let b0 = Bs[kk * TILE_VEC4 + tx];       // cols tx*4 ..
            let b1 = Bs[kk * TILE_VEC4 + T + tx];   // cols HALF + tx*4 ..
            c00 = fma(vec4(a0.x), b0, c00); c01 = fma(vec4(a0.x), b1, c01);
            c10 = fma(vec4(a0.y), b0, c10); c11 = fma(vec4(a0.y), b1, c11);
            c20 = fma(vec4(a0.z), b0, c20); c21 = fma(vec4(a0.z), b1, c21);
            c30 = fma(vec4(a0.w), b0, c30); c31 = fma(vec4(a0.w), b1, c31);
            c40 = fma(vec4(a1.x), b0, c40); c41 = fma(vec4(a1.x), b1, c41);
            c50 = fma(vec4(a1.y), b0, c50); c51 = fma(vec4(a1.y), b1, c51);
            c60 = fma(vec4(a1.z), b0, c60); c61 = fma(vec4(a1.z), b1, c61);
            c70 = fma(vec4(a1.w), b0, c70); c71 = fma(vec4(a1.w), b1, c71);
        }
        workgroupBarrier();
    }

    let r0 = m0 + ty * 4u;
    let r1 = m0 + half + ty * 4u;
    let n_lo = n0 + tx * 4u;
    let n_hi = n0 + half + tx * 4u;
    store4(c_off, r0, n_lo, c00); store4(c_off, r0, n_hi, c01);
    store4(c_off, r0 + 1u, n_lo, c10); store4(c_off, r0 + 1u, n_hi, c11);
    store4(c_off, r0 + 2u, n_lo, c20); store4(c_off, r0 + 2u, n_hi, c21);
    store4(c_off, r0 + 3u, n_lo, c30); store4(c_off, r0 + 3u, n_hi, c31);
    store4(c_off, r1, n_lo, c40); store4(c_off, r1, n_hi, c41);
    store4(c_off, r1 + 1u, n_lo, c50); store4(c_off, r1 + 1u, n_hi, c51);
    store4(c_off, r1 + 2u, n_lo, c60); store4(c_off, r1 + 2u, n_hi, c61);
    store4(c_off, r1 + 3u, n_lo, c70); store4(c_off, r1 + 3u, n_hi, c71);
}
