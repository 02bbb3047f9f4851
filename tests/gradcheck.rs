//! Every differentiable op's tape gradient against central finite differences (CPU).

use autoenc::backend::prelude::*;
use autoenc::tools::gradcheck;
use autoenc::{CpuBackend, Tensor};

#[test]
fn every_op_matches_finite_differences_on_cpu() {
    for seed in [0, 1] {
        let rows = gradcheck::run_all(&CpuBackend::new(), seed).expect("gradcheck runs");
        assert!(rows.len() > 40, "expected a row per op and input, got {}", rows.len());
        let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
        assert!(failed.is_empty(), "seed {seed}: gradcheck failures: {failed:#?}");
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
        0,
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].pass, "a wrong gradient passed: {:?}", rows[0]);
    assert!((rows[0].max_rel - 1.0 / 3.0).abs() < 0.01, "{:?}", rows[0]);
}
