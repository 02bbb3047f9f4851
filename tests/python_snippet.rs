//! The README's Python snippet (numpy + safetensors only) loads a run's model.safetensors
//! and reproduces the engine's test loss. Runs with the interpreter in `AUTOENC_PYTHON`
//! (default `python3`); skipped with a message when it lacks numpy or safetensors, unless
//! `AUTOENC_REQUIRE_PYTHON=1` (CI), where that is a failure.

use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("AUTOENC_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The python block after the README's `python-snippet` marker.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let marked = readme.split("<!-- python-snippet").nth(1).expect("README has no python-snippet marker");
    let code = marked.split("```python\n").nth(1).expect("no python block after the marker");
    code.split("```").next().unwrap().to_string()
}

#[test]
fn readme_python_snippet_reproduces_the_test_loss() {
    let py = python();
    let probe = Command::new(&py).args(["-c", "import numpy, safetensors"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = match &probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(std::env::var("AUTOENC_REQUIRE_PYTHON").as_deref() != Ok("1"), "{py} lacks numpy/safetensors: {why}");
        eprintln!("skipped: {py} cannot import numpy and safetensors ({why}); set AUTOENC_PYTHON");
        return;
    }
    let snippet = readme_snippet();
    assert!(snippet.lines().count() <= 5, "the README promises five lines:\n{snippet}");
    let dir = std::env::temp_dir().join(format!("autoenc-python-snippet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_autoenc"))
        .args(["train", "--epochs", "1", "--limit-train", "512", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|&c| c == "test_recon_loss").expect("test_recon_loss column");
    let engine: f64 = metrics.lines().last().unwrap().split(',').nth(col).unwrap().parse().unwrap();

    let model = dir.join("model.safetensors");
    let code = snippet.replace("runs/ae/model.safetensors", model.to_str().unwrap());
    assert_ne!(code, snippet, "the snippet no longer names runs/ae/model.safetensors");
    let out =
        Command::new(&py).args(["-c", &code]).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    let python: f64 = stdout.split_whitespace().last().unwrap().parse().unwrap();
    // metrics.csv rounds to 6 decimals; the engine sums in f32, numpy in f64.
    assert!((python - engine).abs() < 2e-5, "python {python} vs engine {engine}");
    eprintln!("python {python}, engine {engine}");
    let _ = std::fs::remove_dir_all(&dir);
}
