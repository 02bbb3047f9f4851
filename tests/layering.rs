//! The import rules of docs/ARCHITECTURE.md, checked on the source text: models know no
//! trainer, and only the CLI, the tools and the backend itself name a concrete backend.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text up to its `#[cfg(test)]` module: unit tests may use anything.
fn library_text(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn src_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"), library_text(&p)))
        .collect()
}

/// Lines of `text` that mention `needle` outside comments.
fn code_lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//") && l.contains(needle))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn models_know_no_trainer_and_no_cli() {
    let mut bad = Vec::new();
    for (path, text) in src_files() {
        if !path.starts_with("src/models/") {
            continue;
        }
        for needle in ["crate::train", "crate::cli", "crate::tools"] {
            for line in code_lines_with(&text, needle) {
                bad.push(format!("{path}: {line}"));
            }
        }
    }
    assert!(bad.is_empty(), "models must not import the trainer, the CLI or the tools:\n{}", bad.join("\n"));
}

#[test]
fn only_cli_tools_and_backend_name_a_concrete_backend() {
    let allowed = ["src/cli/", "src/tools/", "src/backend/", "src/main.rs", "src/lib.rs"];
    let mut bad = Vec::new();
    let mut seen_in_allowed = false;
    for (path, text) in src_files() {
        let hits: Vec<String> = ["CpuBackend", "GpuBackend"].iter().flat_map(|n| code_lines_with(&text, n)).collect();
        if allowed.iter().any(|a| path.starts_with(a)) {
            seen_in_allowed |= !hits.is_empty();
            continue;
        }
        bad.extend(hits.into_iter().map(|l| format!("{path}: {l}")));
    }
    // The scan must see the names where they do belong, or it checks nothing.
    assert!(seen_in_allowed, "no CpuBackend/GpuBackend found at all: the scan is broken");
    assert!(bad.is_empty(), "concrete backends named outside the CLI and tools:\n{}", bad.join("\n"));
}
