//! Every GPU kernel against the CPU reference on awkward shapes (see src/tools/validate/).
//! Skips with a message when no adapter exists, unless AUTOENC_REQUIRE_GPU=1.

use autoenc::backend::gpu::{strict, GpuBackend};
use autoenc::backend::prelude::*;
use autoenc::tools::validate;

fn gpu(checked: bool) -> Option<GpuBackend> {
    strict::gpu_or_skip_checked(checked, "the GPU-vs-CPU validation")
}

/// Every `@compute` entry point of shaders/*.wgsl.
fn shader_entry_points() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.trim_start().starts_with("@compute") {
                let def = lines.next().unwrap_or("");
                let name = def.trim_start().strip_prefix("fn ").unwrap_or("").split('(').next().unwrap_or("");
                out.push(name.trim().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Whether a row of kernel `row` (`op`, `op.output` or `family.op`) runs entry point
/// `entry`: the op itself, one of its passes (`<op>_<pass>`), or the op of a family row.
fn covers(row: &str, entry: &str) -> bool {
    row.split('.').any(|part| part == entry || entry.strip_prefix(part).is_some_and(|rest| rest.starts_with('_')))
}

fn check_all(g: &GpuBackend) {
    let mut failed = Vec::new();
    let rows = validate::run_all(g, 1, &mut |r| {
        println!("{}", validate::format_row(r));
        if !r.pass {
            failed.push(validate::format_row(r));
        }
    })
    .expect("validation run");
    let cases = validate::all_cases();
    assert!(rows.len() >= cases.len(), "{} rows for {} cases: a case compared nothing", rows.len(), cases.len());
    for c in &cases {
        assert!(
            rows.iter().any(|r| r.kernel.starts_with(&c.kernel) && r.shape == c.shape),
            "case {} {} gave no row",
            c.kernel,
            c.shape
        );
    }
    let uncovered: Vec<String> =
        shader_entry_points().into_iter().filter(|e| !rows.iter().any(|r| covers(&r.kernel, e))).collect();
    assert!(uncovered.is_empty(), "shader entry points no validate row compares: {uncovered:?}");
    assert!(failed.is_empty(), "{} of {} rows failed:\n{}", failed.len(), rows.len(), failed.join("\n"));
}

#[test]
fn every_kernel_matches_cpu_reference() {
    let Some(g) = gpu(false) else { return };
    println!("{}", g.describe());
    check_all(&g);
}

#[test]
fn upload_download_roundtrip_and_zeros() {
    let Some(g) = gpu(false) else { return };
    let data: Vec<f32> = (0..1001).map(|i| i as f32 * 0.5 - 3.0).collect();
    let b = g.upload(&data, "roundtrip").unwrap();
    assert_eq!(g.download(&b).unwrap(), data);
    let z = g.zeros(13, "zeros").unwrap();
    assert_eq!(g.download(&z).unwrap(), vec![0.0; 13]);
    let e = g.upload(&[], "empty").unwrap();
    assert!(g.download(&e).unwrap().is_empty());
}

#[test]
fn every_kernel_matches_with_checked_shaders() {
    // The same cases with wgpu's runtime bounds checks compiled in.
    let Some(g) = gpu(true) else { return };
    assert!(g.checked_shaders());
    check_all(&g);
}

#[test]
fn unwritten_output_fails_validation() {
    let Some(g) = gpu(false) else { return };
    let case = validate::Case::new("poison", "5", |p| {
        let out = p.output(5, "out")?;
        p.cpu_run(|c| c.fill(&out.cpu, 1.0))?;
        Ok(vec![p.compare("", &out, &[], 1.0, 1e-5)?])
    });
    let rows = validate::run_cases(&g, 0, vec![case], &mut |_| {}).unwrap();
    assert!(!rows[0].pass && rows[0].max_rel.is_infinite(), "{rows:?}");
}

#[test]
fn errors_not_panics() {
    let Some(g) = gpu(false) else { return };
    // Over the storage-binding limit: an error naming the label, before any allocation.
    let huge = usize::MAX / 8;
    let e = g.zeros(huge, "huge activations").unwrap_err().to_string();
    assert!(e.contains("huge activations") && e.contains("limit"), "{e}");
    // Output aliasing an input.
    let a = g.upload(&[1.0, 2.0], "a").unwrap();
    assert!(matches!(g.add(&a, &a, &a, 2), Err(autoenc::Error::Shape(_))));
    // Too-short buffers.
    let b = g.zeros(1, "b").unwrap();
    assert!(matches!(g.add(&a, &a, &b, 2), Err(autoenc::Error::Shape(_))));
    let d = autoenc::backend::MatmulDims::new(3, 3, 3);
    assert!(matches!(g.matmul(&a, &a, &b, d), Err(autoenc::Error::Shape(_))));
    g.flush().unwrap();
}

#[test]
fn grids_over_65535_workgroups() {
    let Some(g) = gpu(false) else { return };
    // 1-D: more than 65535 * 256 elements needs the second grid dimension.
    let n = 65_536 * 256 + 3;
    let x = g.zeros(n, "x").unwrap();
    g.fill(&x, 2.0).unwrap();
    let y = g.zeros(n, "y").unwrap();
    g.scale(&x, 1.5, &y, n).unwrap();
    let v = g.download(&y).unwrap();
    assert!(v.iter().all(|&e| e == 3.0), "first wrong at {:?}", v.iter().position(|&e| e != 3.0));
    // Matmul: more than 65535 batches are split into several dispatches.
    let batch = 65_537;
    let a: Vec<f32> = (0..batch).map(|i| (i % 7) as f32).collect();
    let (ga, gb) = (g.upload(&a, "a").unwrap(), g.upload(&[2.0], "b").unwrap());
    let gc = g.zeros(batch, "c").unwrap();
    let d = autoenc::backend::MatmulDims::new(1, 1, 1).batched(batch, 1, 0, 1);
    g.matmul(&ga, &gb, &gc, d).unwrap();
    let c = g.download(&gc).unwrap();
    assert!(c.iter().zip(&a).all(|(c, a)| *c == 2.0 * a));
}

#[test]
fn steady_state_allocates_nothing_and_counts_dispatches() {
    let Some(g) = gpu(false) else { return };
    let x = g.upload(&[0.5; 300], "x").unwrap();
    let step = |g: &GpuBackend| {
        let h = g.zeros(300, "h").unwrap();
        g.activation_forward(autoenc::backend::Activation::Sigmoid, &x, &h, 300).unwrap();
        let s = g.zeros(1, "s").unwrap();
        g.sum_all(&h, &s, 300).unwrap();
        g.flush().unwrap();
    };
    step(&g);
    let (allocs, dispatches) = (g.pool_stats().allocations, g.dispatch_count());
    step(&g);
    assert_eq!(g.pool_stats().allocations, allocs, "second step allocated");
    assert_eq!(g.dispatch_count() - dispatches, 2, "sigmoid + one-workgroup sum");
    assert_eq!(Core::dispatch_count(&g), Some(g.dispatch_count()));
}
