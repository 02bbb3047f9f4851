// loss.wgsl: losses (forward and backward) and the sparsity penalties.
// Twin of kernels/src/loss.rs. Host side: src/backend/gpu/loss.rs. The term codes
// (LOSS_* from `Loss::code()`, LOSS_TERM_L1, LOSS_TERM_KL) are WGSL constants that the
// host prepends from their Rust definitions (src/backend/gpu/consts.rs).
//
// Forward passes are reductions: `<op>_partial` (loss_forward, l1_penalty, kl_sparsity)
// sums a per-element term over a fixed chunk per workgroup (like reduce.wgsl's
// sum_all_partial), `loss_forward_softmax_rows` gives one value per row; reduce.wgsl's
// `sum_all_finish` then adds the partials and applies the mean's 1/count. Backward passes
// read the upstream gradient dout[0] from its buffer, so the loss value never visits the
// host.

struct Params {
    len: u32,    // elements (rows for the row kernels)
    cols: u32,
    code: u32,   // term: a LOSS_* code, LOSS_TERM_L1 (|a|) or LOSS_TERM_KL (KL(rho || a))
    chunk: u32,  // <op>_partial: elements per workgroup (multiple of 256)
    alpha: f32,  // forward: factor on each partial; backward: dout multiplier (k / count)
    rho: f32,    // KL target activation
    eps: f32,    // clamp: BCE_EPS for bce, KL_EPS for KL
}

@group(1) @binding(0) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> a: array<f32>;      // pred / x / rho_hat
@group(0) @binding(1) var<storage, read> b: array<f32>;      // target (or a again)
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;   // backward: dout[0]
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;

const WG: u32 = 256u;

var<workgroup> red: array<f32, 256>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    }
    workgroupBarrier();
    let r = red[0];
    workgroupBarrier(); // red is reused by the next reduction
    return r;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    }
    workgroupBarrier();
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn sigmoid(v: f32) -> f32 {
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

// a ln(a / b) with the limit 0 at a = 0.
fn xlog_ratio(x: f32, y: f32) -> f32 {
    return select(x * log(x / y), 0.0, x == 0.0);
}

fn term(x: f32, t: f32) -> f32 {
    switch p.code {
        case LOSS_MSE: { let d = x - t; return d * d; }
        case LOSS_BCE: {
            let q = clamp(x, p.eps, 1.0 - p.eps);
            return -(t * log(q) + (1.0 - t) * log(1.0 - q));
        }
        // max(x, 0) - x t + ln(1 + exp(-|x|)); log(1 + e) loses nothing that matters
        // next to the other two terms except where both vanish (x = 0: ln 2).
        case LOSS_BCE_WITH_LOGITS: { return (max(x, 0.0) - x * t) + log(1.0 + exp(-abs(x))); }
        case LOSS_TERM_L1: { return abs(x); }
        case LOSS_TERM_KL: {
            let r = clamp(x, p.eps, 1.0 - p.eps);
            return xlog_ratio(p.rho, r) + xlog_ratio(1.0 - p.rho, 1.0 - r);
        }
        default: { return 0.0; }
    }
}

// partials[g] = alpha * sum of term(a, b) over chunk g ("rrw": a, b, partials). The body
// of the three `<op>_partial` entry points; every invocation of the workgroup calls it.
fn terms_partial(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let g = wid.y * nwg.x + wid.x;
    let start = g * p.chunk;
    let end = min(start + p.chunk, p.len);
    var s = 0.0;
    for (var j = start + lid; j < end; j = j + WG) {
        s = s + term(a[j], b[j]);
    }
    let t = reduce_sum(lid, s);
    if (lid == 0u && (start < p.len || g == 0u)) { out2[g] = p.alpha * t; }
}

// The losses but softmax cross-entropy (p.code = Loss::code()).
@compute @workgroup_size(256)
fn loss_forward_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    terms_partial(wid, nwg, lid);
}

// p.code = LOSS_TERM_L1; a and b are both x.
@compute @workgroup_size(256)
fn l1_penalty_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    terms_partial(wid, nwg, lid);
}

// p.code = LOSS_TERM_KL; a and b are both rho_hat.
@compute @workgroup_size(256)
fn kl_sparsity_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    terms_partial(wid, nwg, lid);
}

// Row statistics of softmax cross-entropy: m = max x, s = sum exp(x - m), t_sum = sum t.
struct RowStats { m: f32, s: f32, t_sum: f32 }

fn row_stats(row: u32, lid: u32) -> RowStats {
    let base = row * p.cols;
    var m = -3.402823e38;
    for (var c = lid; c < p.cols; c = c + WG) { m = max(m, a[base + c]); }
    m = reduce_max(lid, m);
    var s = 0.0;
    var ts = 0.0;
    for (var c = lid; c < p.cols; c = c + WG) {
        s = s + exp(a[base + c] - m);
        ts = ts + b[base + c];
    }
    return RowStats(m, reduce_sum(lid, s), reduce_sum(lid, ts));
}

// rowloss[r] = ln(s) * t_sum - sum_c t_c (x_c - m), one workgroup per row ("rrw")
@compute @workgroup_size(256)
fn loss_forward_softmax_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    let r = min(row, p.len - 1u); // tail workgroups of the grid compute a copy, store nothing
    let st = row_stats(r, lid);
    let base = r * p.cols;
    var td = 0.0;
    for (var c = lid; c < p.cols; c = c + WG) { td = td + b[base + c] * (a[base + c] - st.m); }
    let tdsum = reduce_sum(lid, td);
    if (lid == 0u && row < p.len) { out2[row] = log(st.s) * st.t_sum - tdsum; }
}

// d[i] = dout[0] * alpha * term'(a[i], b[i]) ("rrrw": a, b, dout, d): the body of the
// elementwise backward entry points.
fn grad_elementwise(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let i = (wid.y * nwg.x + wid.x) * WG + lid;
    if (i >= p.len) { return; }
    let scale = p.alpha * dout[0];
    let x = a[i];
    var d: f32;
    switch p.code {
        case LOSS_MSE: { d = (x - b[i]) * scale; }
        case LOSS_BCE: {
            let q = clamp(x, p.eps, 1.0 - p.eps);
            d = (q - b[i]) / (q * (1.0 - q)) * scale;
        }
        case LOSS_BCE_WITH_LOGITS: { d = (sigmoid(x) - b[i]) * scale; }
        case LOSS_TERM_L1: { d = select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0) * scale; }
        case LOSS_TERM_KL: {
            let r = clamp(x, p.eps, 1.0 - p.eps);
            d = scale * (-(p.rho / r) + (1.0 - p.rho) / (1.0 - r));
        }
        default: { d = 0.0; }
    }
    out3[i] = d;
}

// The losses but softmax cross-entropy (p.code = Loss::code()).
@compute @workgroup_size(256)
fn loss_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    grad_elementwise(wid, nwg, lid);
}

// p.code = LOSS_TERM_L1; a and b are both x.
@compute @workgroup_size(256)
fn l1_penalty_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    grad_elementwise(wid, nwg, lid);
}

// p.code = LOSS_TERM_KL; a and b are both rho_hat.
@compute @workgroup_size(256)
fn kl_sparsity_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    grad_elementwise(wid, nwg, lid);
}

// d[r, c] = (exp(x_c - m) * (t_sum / s) - t_c) * alpha * dout[0], one workgroup per row
// ("rrrw": pred, target, dout, d)
@compute @workgroup_size(256)
fn loss_backward_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * nwg.x + wid.x;
    let r = min(row, p.len - 1u);
    let st = row_stats(r, lid);
    if (row >= p.len) { return; }
    let k = st.t_sum / st.s;
    let scale = p.alpha * dout[0];
    let base = row * p.cols;
    for (var c = lid; c < p.cols; c = c + WG) {
        out3[base + c] = (exp(a[base + c] - st.m) * k - b[base + c]) * scale;
    }
}
