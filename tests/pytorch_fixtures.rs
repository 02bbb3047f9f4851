//! Cross-check against a real peer: conv2d, conv_transpose2d, max_pool2d and nearest
//! upsampling, forward and backward, against PyTorch's own results.
//!
//! The fixtures in `tests/fixtures/<family>.safetensors` were written by
//! `tools/make-conv-fixtures.py` (PyTorch on the CPU, float32; its docstring says how to
//! re-run it). Each case holds the inputs (`caseK.x`, `caseK.w`, `caseK.b`), PyTorch's
//! output `caseK.y`, a fixed random upstream gradient `caseK.gy`, and the gradients of
//! `sum(y * gy)` w.r.t. the inputs (`caseK.dx`, `caseK.dw`, `caseK.db`); the safetensors
//! metadata holds each case's configuration as JSON under the key `caseK`.
//!
//! Here every case is rebuilt on our tape: forward, then backward of `sum(y * gy)` (an
//! `ops::mul` with `gy` as a constant and an `ops::sum_all`), and every tensor is compared
//! with PyTorch's.
//!
//! Tolerance: `max |ours - torch| <= 1e-4 * (1 + max |torch|)` per tensor, with identical
//! shapes. Both sides compute in f32 but sum in different orders (PyTorch's CPU conv
//! goes through its own GEMM / direct kernels, ours through im2col + our matmul +
//! col2im), so results differ by rounding only. For a sum of K products of values in
//! [-1, 1) the rounding difference grows like sqrt(K) * 2^-24 * |sum| in practice
//! (at most K * 2^-24 * sum |terms| in the worst case); here K is at most a few hundred
//! (150 taps per conv output, 200 products per weight-gradient entry), which puts the
//! expected difference near 1e-6 of the tensor's scale. 1e-4 of the scale leaves two
//! orders of margin for that, while any convention or indexing error (a flipped kernel, a
//! wrong padding side, a misplaced argmax, a dropped or extra window) moves some entry
//! by O(1) of the scale and fails by a wide margin.
//!
//! The GPU backend runs the same comparison where an adapter exists; without one those
//! tests print a note and pass, unless env `AUTOENC_REQUIRE_GPU=1`. The fixtures are
//! small, so they stay quick on lavapipe.

use autoenc::autodiff::{ops, Tape, Var};
use autoenc::backend::gpu::{strict, GpuBackend};
use autoenc::backend::prelude::*;
use autoenc::{CpuBackend, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// Relative tolerance against the tensor's scale (see the module docs for why).
const REL_TOL: f32 = 1e-4;

/// One op family's fixture file: the raw bytes and the per-case metadata.
struct Fixture {
    family: &'static str,
    bytes: Vec<u8>,
    meta: HashMap<String, String>,
}

/// A tensor read from a fixture: its shape and values.
struct Array {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Fixture {
    fn load(family: &'static str) -> Fixture {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{family}.safetensors"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .unwrap_or_else(|e| panic!("{}: bad safetensors header: {e}", path.display()));
        let meta = header.metadata().clone().unwrap_or_else(|| panic!("{}: no metadata", path.display()));
        Fixture { family, bytes, meta }
    }

    fn cases(&self) -> usize {
        let n: usize = self.meta.get("cases").and_then(|s| s.parse().ok()).expect("metadata 'cases'");
        assert!(n > 0, "{}: no cases", self.family);
        n
    }

    /// The JSON configuration of case `k`.
    fn config(&self, k: usize) -> Value {
        let raw = self.meta.get(&format!("case{k}")).unwrap_or_else(|| panic!("{}: no metadata case{k}", self.family));
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("{}: case{k} metadata: {e}", self.family))
    }

    fn tensor(&self, k: usize, name: &str) -> Array {
        let st = SafeTensors::deserialize(&self.bytes).expect("safetensors");
        let full = format!("case{k}.{name}");
        let view = st.tensor(&full).unwrap_or_else(|e| panic!("{}: tensor {full}: {e}", self.family));
        assert_eq!(view.dtype(), Dtype::F32, "{}: {full} must be F32", self.family);
        let data = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Array { shape: view.shape().to_vec(), data }
    }
}

fn usize_field(cfg: &Value, key: &str) -> usize {
    cfg[key].as_u64().unwrap_or_else(|| panic!("config {cfg} lacks integer '{key}'")) as usize
}

/// Compares one tensor: `Ok(max difference / tolerance)` when it is within tolerance,
/// else a description of the mismatch.
fn compare(what: &str, ours_shape: &[usize], ours: &[f32], torch: &Array) -> std::result::Result<f32, String> {
    if ours_shape != torch.shape.as_slice() {
        return Err(format!("{what}: shape {ours_shape:?} but PyTorch has {:?}", torch.shape));
    }
    let scale = torch.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let tol = REL_TOL * (1.0 + scale);
    let (mut worst, mut at) = (0f32, 0usize);
    for (i, (a, b)) in ours.iter().zip(&torch.data).enumerate() {
        let d = (a - b).abs();
        // NaN in ours counts as the worst possible difference.
        if d > worst || d.is_nan() {
            worst = if d.is_nan() { f32::INFINITY } else { d };
            at = i;
        }
    }
    if worst <= tol {
        return Ok(worst / tol);
    }
    let bad = ours.iter().zip(&torch.data).filter(|(a, b)| (*a - *b).abs() > tol || a.is_nan()).count();
    Err(format!(
        "{what}: max |ours - torch| = {worst:.3e} > tol {tol:.3e} at flat index {at} (ours {}, torch {}); \
         {bad} of {} entries off",
        ours[at],
        torch.data[at],
        ours.len()
    ))
}

/// The output of one case on our tape: value and the gradients of the listed leaves.
struct Outcome {
    y_shape: Vec<usize>,
    y: Vec<f32>,
    /// (name, shape, values) per leaf, in the order the leaves were given.
    grads: Vec<(&'static str, Vec<usize>, Vec<f32>)>,
}

/// Builds the leaves on a tape, runs `forward`, then the backward pass of `sum(y * gy)`.
fn run_case<B: Backend>(
    be: &B,
    fx: &Fixture,
    k: usize,
    leaves: &[&'static str],
    forward: impl Fn(&Tape<B>, &[Var]) -> autoenc::Result<Var>,
) -> autoenc::Result<Outcome> {
    let t = Tape::new(be);
    let mut vars = Vec::new();
    for name in leaves {
        let a = fx.tensor(k, name);
        vars.push(t.param(&Tensor::from_slice(be, a.shape.as_slice(), &a.data, name)?));
    }
    let y = forward(&t, &vars)?;
    let gy = fx.tensor(k, "gy");
    let gyv = t.constant(&Tensor::from_slice(be, gy.shape.as_slice(), &gy.data, "gy")?);
    let prod = ops::mul(&t, y, gyv)?;
    let loss = ops::sum_all(&t, prod)?;
    t.backward(loss)?;
    let yv = t.value(y);
    let mut grads = Vec::new();
    for (name, v) in leaves.iter().zip(&vars) {
        let g = t.grad(*v).unwrap_or_else(|| panic!("no gradient reached {name}"));
        grads.push((*name, g.shape.dims().to_vec(), g.to_vec(be)?));
    }
    Ok(Outcome { y_shape: yv.shape.dims().to_vec(), y: yv.to_vec(be)?, grads })
}

/// Runs every case of a family on `be` and asserts that all tensors match PyTorch's.
fn check_family<B: Backend>(
    be: &B,
    backend_name: &str,
    family: &'static str,
    leaves: &[&'static str],
    forward: impl Fn(&Tape<B>, &[Var], &Value) -> autoenc::Result<Var>,
) {
    let fx = Fixture::load(family);
    let mut failures = Vec::new();
    let cases = fx.cases();
    for k in 0..cases {
        let cfg = fx.config(k);
        let label = format!("{backend_name} {family} case{k} ({})", cfg["name"].as_str().unwrap_or("?"));
        match run_case(be, &fx, k, leaves, |t, v| forward(t, v, &cfg)) {
            Err(e) => failures.push(format!("{label}: error {e} (config {cfg})")),
            Ok(r) => {
                let mut checks = vec![compare("y", &r.y_shape, &r.y, &fx.tensor(k, "y"))];
                for (name, shape, g) in &r.grads {
                    checks.push(compare(&format!("d{name}"), shape, g, &fx.tensor(k, &format!("d{name}"))));
                }
                let found: Vec<String> = checks.iter().filter_map(|c| c.clone().err()).collect();
                if found.is_empty() {
                    let worst = checks.iter().filter_map(|c| c.clone().ok()).fold(0f32, f32::max);
                    println!("{label}: ok, worst difference {worst:.4} of the tolerance");
                } else {
                    failures.extend(found.into_iter().map(|f| format!("{label} (config {cfg}): {f}")));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches with PyTorch:\n{}", failures.len(), failures.join("\n"));
}

/// A conv hyper-parameter as PyTorch takes it: one number for both axes or an `[h, w]` pair.
fn axis_pair(cfg: &Value, key: &str) -> Option<(usize, usize)> {
    let v = cfg.get(key)?;
    let one = |v: &Value| v.as_u64().map(|x| x as usize);
    match v.as_array() {
        Some(a) if a.len() == 2 => Some((one(&a[0])?, one(&a[1])?)),
        Some(_) => panic!("{key} must be a number or an [h, w] pair in {cfg}"),
        None => one(v).map(|x| (x, x)),
    }
}

fn conv_params(cfg: &Value) -> ops::ConvParams {
    let pair = |key| axis_pair(cfg, key).unwrap_or_else(|| panic!("config lacks {key}: {cfg}"));
    ops::ConvParams {
        stride: pair("stride"),
        padding: pair("padding"),
        dilation: pair("dilation"),
        output_padding: axis_pair(cfg, "output_padding").unwrap_or((0, 0)),
    }
}

fn conv2d_family<B: Backend>(be: &B, name: &str) {
    check_family(be, name, "conv2d", &["x", "w", "b"], |t, v, cfg| ops::conv2d(t, v[0], v[1], v[2], conv_params(cfg)));
}

fn conv_transpose2d_family<B: Backend>(be: &B, name: &str) {
    check_family(be, name, "conv_transpose2d", &["x", "w", "b"], |t, v, cfg| {
        ops::conv_transpose2d(t, v[0], v[1], v[2], conv_params(cfg))
    });
}

fn max_pool2d_family<B: Backend>(be: &B, name: &str) {
    check_family(be, name, "max_pool2d", &["x"], |t, v, cfg| {
        let ceil = cfg["ceil_mode"].as_bool().expect("ceil_mode");
        ops::max_pool2d(
            t,
            v[0],
            usize_field(cfg, "kernel"),
            usize_field(cfg, "stride"),
            usize_field(cfg, "padding"),
            ceil,
        )
    });
}

fn upsample2d_family<B: Backend>(be: &B, name: &str) {
    check_family(be, name, "upsample2d", &["x"], |t, v, cfg| {
        assert_eq!(cfg["mode"], "nearest");
        ops::upsample2d(t, v[0], usize_field(cfg, "scale"))
    });
}

#[test]
fn conv2d_should_match_pytorch() {
    conv2d_family(&CpuBackend::new(), "cpu");
}

#[test]
fn conv_transpose2d_should_match_pytorch() {
    conv_transpose2d_family(&CpuBackend::new(), "cpu");
}

#[test]
fn max_pool2d_should_match_pytorch() {
    max_pool2d_family(&CpuBackend::new(), "cpu");
}

#[test]
fn upsample2d_nearest_should_match_pytorch() {
    upsample2d_family(&CpuBackend::new(), "cpu");
}

/// The GPU backend, or None (with a note) where no adapter opens and
/// `AUTOENC_REQUIRE_GPU` is not `1`.
fn gpu() -> Option<GpuBackend> {
    strict::gpu_or_skip("the GPU half of the PyTorch cross-check")
}

#[test]
fn conv2d_on_gpu_should_match_pytorch() {
    let Some(g) = gpu() else { return };
    conv2d_family(&g, &format!("gpu[{}]", g.adapter_name()));
}

#[test]
fn conv_transpose2d_on_gpu_should_match_pytorch() {
    let Some(g) = gpu() else { return };
    conv_transpose2d_family(&g, &format!("gpu[{}]", g.adapter_name()));
}

#[test]
fn max_pool2d_on_gpu_should_match_pytorch() {
    let Some(g) = gpu() else { return };
    max_pool2d_family(&g, &format!("gpu[{}]", g.adapter_name()));
}

#[test]
fn upsample2d_nearest_on_gpu_should_match_pytorch() {
    let Some(g) = gpu() else { return };
    upsample2d_family(&g, &format!("gpu[{}]", g.adapter_name()));
}
