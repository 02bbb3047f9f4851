//! Every differentiable op's tape gradient against central finite differences, on the
//! CPU and on the GPU (through `strict::gpu_or_skip`), and a check that every public op
//! of `src/autodiff/ops/` has gradcheck rows.

use autoenc::backend::gpu::strict;
use autoenc::backend::prelude::*;
use autoenc::tools::gradcheck::{self, GradRow};
use autoenc::{CpuBackend, Tensor};
use std::collections::BTreeSet;

fn assert_all_pass(what: &str, rows: &[GradRow]) {
    for r in rows {
        println!("{:<40} {:<8} {:<14} {:.2e} (tol {:.0e})", r.op, r.input, r.shape, r.max_rel, r.tol);
    }
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "{what}: gradcheck failures: {failed:#?}");
}

/// The public functions of `src/autodiff/ops/*.rs`: the differentiable ops of the tape.
fn tape_ops() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/autodiff/ops");
    let mut ops = BTreeSet::new();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        for line in std::fs::read_to_string(f.path()).unwrap().lines() {
            if let Some(rest) = line.strip_prefix("pub fn ") {
                ops.insert(rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap().to_string());
            }
        }
    }
    ops
}

/// A new op without a gradcheck row fails here, and so does a row naming no op.
#[test]
fn every_tape_op_has_gradcheck_rows() {
    let tape: BTreeSet<String> = tape_ops();
    assert!(tape.len() >= 20, "found only {tape:?} in src/autodiff/ops");
    let checked: BTreeSet<String> = gradcheck::op_names(0).into_iter().collect();
    let missing: Vec<_> = tape.difference(&checked).collect();
    let unknown: Vec<_> = checked.difference(&tape).collect();
    assert!(
        missing.is_empty(),
        "ops of src/autodiff/ops without a gradcheck case (src/tools/gradcheck/cases.rs): {missing:?}"
    );
    assert!(unknown.is_empty(), "gradcheck cases naming no op of src/autodiff/ops: {unknown:?}");
    // Each case gives one row per differentiable input: no op may lose its rows at run time.
    let rows = gradcheck::run_all(&CpuBackend::new(), 0).unwrap();
    for op in &tape {
        assert!(rows.iter().any(|r| gradcheck::base_name(&r.op) == op), "no gradcheck row for {op}");
    }
}

#[test]
fn probes_cover_every_element_or_both_ends() {
    assert_eq!(gradcheck::probe_indices(5), vec![0, 1, 2, 3, 4]);
    let n = gradcheck::ALL_ELEMENTS_UP_TO;
    assert_eq!(gradcheck::probe_indices(n), (0..n).collect::<Vec<_>>());
    let big = gradcheck::probe_indices(10 * n + 7);
    assert_eq!((big.len(), big[0], *big.last().unwrap()), (n, 0, 10 * n + 6));
    assert!(big.windows(2).all(|w| w[0] < w[1] && w[1] - w[0] <= 11), "evenly strided");
}

#[test]
fn every_op_matches_finite_differences_on_gpu() {
    let Some(g) = strict::gpu_or_skip("the GPU gradcheck") else { return };
    assert_all_pass("gpu", &gradcheck::run_all(&g, 0).expect("gradcheck runs on the GPU"));
}

#[test]
fn every_op_matches_finite_differences_on_cpu() {
    for seed in [0, 1] {
        let rows = gradcheck::run_all(&CpuBackend::new(), seed).expect("gradcheck runs");
        assert_all_pass(&format!("cpu seed {seed}"), &rows);
    }
}

#[test]
fn gradcheck_catches_a_wrong_backward() {
    // y = 2x recorded with a backward that claims dy/dx = 3: the check must fail.
    let be = CpuBackend::new();
    let rows = gradcheck::check(
        &be,
        "wrong_double",
        vec![("x", vec![5], vec![0.1, -0.4, 0.7, 0.2, -0.9])],
        |t, v| {
            let x = t.value(v[0]);
            let y = Tensor::zeros(t.backend(), x.shape.clone(), "y")?;
            t.backend().scale(&x.buf, 2.0, &y.buf, 5)?;
            let back = Box::new(|be: &CpuBackend, dy: &Tensor<CpuBackend>, _: &[bool]| {
                let dx = Tensor::zeros(be, dy.shape.clone(), "dx")?;
                be.scale(&dy.buf, 3.0, &dx.buf, 5)?;
                Ok(vec![Some(dx)])
            });
            Ok(t.push("wrong_double", y, &[v[0]], back))
        },
        1e-2,
        0,
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].pass, "a wrong gradient passed: {:?}", rows[0]);
    assert!((rows[0].max_rel - 1.0 / 3.0).abs() < 0.01, "{:?}", rows[0]);
}
