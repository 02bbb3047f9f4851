//! `AUTOENC_REQUIRE_GPU=1` turns every GPU test into a failure when no adapter exists.
//!
//! The proof: rerun the GPU tests of every suite that has them, as child processes of the
//! already-built test binaries (next to this one in `target/*/deps`), with no Vulkan driver
//! visible and the variable set, and check that each one fails with the helper's message
//! (`autoenc::backend::gpu::strict`). A GPU test that returned early, or opened the device
//! some other way, would pass there and fail this test. A second test checks that every
//! file that opens the GPU in a test is one of the suites listed here.

use autoenc::backend::gpu::strict::MISSING_ADAPTER;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One test binary: its file stem, the name filter that selects its GPU tests, the source
/// files whose GPU tests it runs, and the tests that filter selects but that need no adapter.
struct Suite {
    stem: &'static str,
    filter: &'static str,
    sources: &'static [&'static str],
    gpu_free: &'static [&'static str],
}

const SUITES: &[Suite] = &[
    Suite {
        stem: "autoenc",
        filter: "backend::gpu::",
        sources: &["src/backend/gpu/"],
        // Pure text checks of the WGSL prelude: no device.
        gpu_free: &[
            "backend::gpu::consts::tests::prelude_names_every_code",
            "backend::gpu::consts::tests::shaders_use_the_names",
        ],
    },
    Suite { stem: "gpu_vs_cpu", filter: "", sources: &["tests/gpu_vs_cpu.rs"], gpu_free: &[] },
    Suite { stem: "training_backends", filter: "gpu", sources: &["tests/training_backends.rs"], gpu_free: &[] },
    Suite { stem: "training_parity", filter: "", sources: &["tests/training_parity.rs"], gpu_free: &[] },
    Suite { stem: "gradcheck", filter: "gpu", sources: &["tests/gradcheck.rs"], gpu_free: &[] },
    Suite {
        stem: "contractive_verification",
        filter: "on_gpu",
        sources: &["tests/contractive_verification.rs"],
        gpu_free: &[],
    },
    Suite { stem: "pytorch_fixtures", filter: "on_gpu", sources: &["tests/pytorch_fixtures.rs"], gpu_free: &[] },
];

/// The newest test binary `<stem>-<hash>` next to this one whose `--list` selects a test
/// with `filter` (the lib's unit tests and main.rs's share the stem `autoenc`).
fn test_binary(stem: &str, filter: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let hash = name.strip_prefix(stem).and_then(|r| r.strip_prefix('-'));
            hash.is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()) && !h.is_empty())
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found
        .into_iter()
        .rev()
        .map(|(_, p)| p)
        .find(|p| {
            let out = Command::new(p).args(["--list", filter]).output();
            out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(": test"))
        })
        .unwrap_or_else(|| {
            panic!("no test binary {stem}-* with tests matching '{filter}' in {}: build the suite first (cargo test --release --no-run)", deps.display())
        })
}

/// Runs `bin`'s tests matching `filter` with no GPU driver visible and the variable set;
/// returns each test's outcome and the text of each failure.
fn run_without_driver(bin: &Path, filter: &str) -> (BTreeMap<String, bool>, BTreeMap<String, String>) {
    let missing = "/nonexistent/autoenc-no-driver.json";
    let out = Command::new(bin)
        .args([filter, "--test-threads=2"])
        .env("AUTOENC_REQUIRE_GPU", "1")
        .env("VK_ICD_FILENAMES", missing)
        .env("VK_DRIVER_FILES", missing)
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", missing)
        .env_remove("VK_ADD_DRIVER_FILES")
        .env_remove("AUTOENC_ADAPTER")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut outcome = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, result)) = rest.rsplit_once(" ... ") {
                outcome.insert(name.to_string(), result.trim() == "ok");
            }
        }
    }
    let mut failures = BTreeMap::new();
    let mut sections = text.split("\n---- ").skip(1);
    for section in sections.by_ref() {
        if let Some((head, body)) = section.split_once(" stdout ----") {
            failures.insert(head.to_string(), body.to_string());
        }
    }
    (outcome, failures)
}

#[test]
fn every_gpu_test_fails_without_an_adapter_when_required() {
    let mut report = Vec::new();
    for s in SUITES {
        let bin = test_binary(s.stem, s.filter);
        let (outcome, failures) = run_without_driver(&bin, s.filter);
        assert!(!outcome.is_empty(), "{}: no test ran with filter '{}'", s.stem, s.filter);
        for (name, passed) in &outcome {
            let gpu_free = s.gpu_free.contains(&name.as_str());
            if gpu_free {
                assert!(passed, "{}::{name} needs no adapter but failed", s.stem);
                continue;
            }
            assert!(!passed, "{}::{name} passed with AUTOENC_REQUIRE_GPU=1 and no driver: it skips silently", s.stem);
            let why = failures.get(name).map(String::as_str).unwrap_or("");
            assert!(
                why.contains(MISSING_ADAPTER),
                "{}::{name} failed, but not for the missing adapter:\n{why}",
                s.stem
            );
        }
        report.push(format!("{}: {} GPU tests fail as required", s.stem, outcome.len() - s.gpu_free.len()));
    }
    println!("{}", report.join("\n"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every file whose tests open the GPU (through `gpu_or_skip`) is a suite checked above,
/// and no test opens it another way.
#[test]
fn every_gpu_test_file_is_covered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        let covered = SUITES.iter().any(|s| s.sources.iter().any(|src| rel.starts_with(src)));
        let this = rel == "src/backend/gpu/strict.rs" || rel == "tests/gpu_required.rs";
        if text.contains("gpu_or_skip") && !this {
            assert!(covered, "{rel} opens the GPU in tests but is not a suite of tests/gpu_required.rs");
        }
        let in_tests = rel.starts_with("tests/") || text.contains("#[cfg(test)]");
        let tool =
            rel.starts_with("src/cli/") || rel.starts_with("src/tools/") || rel.starts_with("src/backend/gpu/mod.rs");
        if in_tests && !tool && rel != "tests/gpu_required.rs" {
            for open in ["GpuBackend::new(", "GpuBackend::with_checks("] {
                assert!(!text.contains(open), "{rel}: tests open the GPU through strict::gpu_or_skip, not {open}");
            }
        }
    }
}
