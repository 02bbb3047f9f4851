//! Every GPU kernel against the CPU reference on awkward shapes (see src/validate/).
//! Skips with a message when no adapter exists, unless AUTOENC_REQUIRE_GPU=1.

use autoenc::backend::gpu::GpuBackend;
use autoenc::backend::Backend;
use autoenc::validate;

fn gpu(checked: bool) -> Option<GpuBackend> {
    match GpuBackend::with_checks(None, checked) {
        Ok(g) => Some(g),
        Err(e) if std::env::var("AUTOENC_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("AUTOENC_REQUIRE_GPU=1 but no GPU backend: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU tests: {e}");
            None
        }
    }
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
    assert!(!rows.is_empty());
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
