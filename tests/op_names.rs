//! One name per op: every public kernel in `kernels/src/<stem>.rs` has a compute entry
//! point in `shaders/<stem>.wgsl` named `<op>` or `<op>_<pass>`, and every entry point is
//! named after a kernel of the same stem. The files are read as text, so a rename on one
//! side without the other fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Kernel files with no shader twin, and why.
const HOST_ONLY_STEMS: &[(&str, &str)] = &[
    ("lib", "the crate root: module list and re-exports"),
    ("simd", "SIMD level detection and the thread count: infrastructure, not an op"),
    ("simd_util", "the vector vocabulary the x86 kernels are written in: infrastructure"),
    ("workers", "the persistent worker pool the threaded kernels share: infrastructure, not an op"),
    ("peak", "the roofline probes of `autoenc bench`/`info` (an FMA loop, a large copy): measurements, not ops"),
    ("covariance", "PCA's covariance product: fitted once on the host, no GPU twin"),
];

/// Public functions of kernel files that are not ops (so need no shader entry), and why.
const NOT_KERNELS: &[(&str, &str, &str)] = &[
    ("activation", "sigmoid", "the scalar logistic function the loss and activation specs share"),
    ("activation", "forward_scalar_one", "the per-element specification of activation_forward"),
    ("activation", "backward_scalar_one", "the per-element specification of activation_backward"),
    ("conv2d", "check_forced", "validates AUTOENC_CONV (the algorithm override): configuration, not an op"),
    ("conv2d", "check_forced_value", "the pure half of check_forced, for its tests"),
];

/// Shader entry points that are not named after a kernel of their stem, and why. Empty
/// today: every helper pass is named `<op>_<pass>` (e.g. `sum_all_partial`).
const HELPER_PASSES: &[(&str, &str, &str)] = &[];

/// Suffixes of a kernel's variants: `_scalar` (the specification), `_with` (a chosen SIMD
/// level), `_fast` (the threaded / blocked version) and explicit SIMD levels. A function
/// `<base><suffix>` is a variant, not an op, only when `<base>` is itself a public kernel of
/// the same file: `scale_by_scalar` is an op (there is no `scale_by`), and its spec is
/// `scale_by_scalar_scalar`.
const VARIANT_SUFFIXES: &[&str] = &["_scalar", "_with", "_fast", "_avx2", "_avx512", "_sse", "_neon"];

/// Names of the top-level `pub fn`s of a Rust source (column 0 only: methods of types and
/// functions inside inline modules, such as the per-level x86 modules, are not kernels;
/// nor is anything `pub(crate)`).
fn pub_fns(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| l.strip_prefix("pub fn ").or_else(|| l.strip_prefix("pub unsafe fn ")))
        .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .collect()
}

/// The ops of a kernel file: its public functions less variants and non-kernels.
fn kernel_ops(stem: &str, src: &str) -> BTreeSet<String> {
    let all: BTreeSet<String> = pub_fns(src).into_iter().collect();
    let is_variant =
        |f: &str| VARIANT_SUFFIXES.iter().any(|s| f.strip_suffix(s).is_some_and(|base| all.contains(base)));
    let not_kernel = |f: &str| NOT_KERNELS.iter().any(|&(st, name, _)| st == stem && name == f);
    all.iter().filter(|f| !is_variant(f) && !not_kernel(f)).cloned().collect()
}

/// Names of the `@compute` entry points of a WGSL source (the first `fn` after each
/// `@compute` attribute).
fn compute_entries(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("@compute") {
        rest = &rest[i + "@compute".len()..];
        let f = rest.find("fn ").expect("a function after @compute");
        let name: String = rest[f + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        out.push(name);
    }
    out
}

/// Drops line comments, so a commented-out `@compute` or `pub fn` does not count.
fn strip_line_comments(src: &str) -> String {
    src.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// `<op>` or `<op>_<pass>`.
fn names_op(entry: &str, op: &str) -> bool {
    entry == op || entry.strip_prefix(op).is_some_and(|r| r.starts_with('_') && r.len() > 1)
}

/// Every mismatch between kernel ops and shader entries, by stem.
fn mismatches(kernels: &BTreeMap<String, BTreeSet<String>>, shaders: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut errs = Vec::new();
    let host_only = |s: &str| HOST_ONLY_STEMS.iter().any(|&(h, _)| h == s);
    for (stem, ops) in kernels {
        if host_only(stem) {
            continue;
        }
        let Some(entries) = shaders.get(stem) else {
            errs.push(format!("kernels/src/{stem}.rs has no shaders/{stem}.wgsl (ops {ops:?})"));
            continue;
        };
        for op in ops {
            if !entries.iter().any(|e| names_op(e, op)) {
                errs.push(format!("kernel {stem}::{op} has no entry `{op}` or `{op}_<pass>` in shaders/{stem}.wgsl"));
            }
        }
    }
    for (stem, entries) in shaders {
        let Some(ops) = kernels.get(stem) else {
            errs.push(format!("shaders/{stem}.wgsl has no kernels/src/{stem}.rs (entries {entries:?})"));
            continue;
        };
        for e in entries {
            let helper = HELPER_PASSES.iter().any(|&(st, name, _)| st == stem && name == e);
            if !helper && !ops.iter().any(|op| names_op(e, op)) {
                errs.push(format!(
                    "shader entry {stem}.wgsl::{e} is not `<op>` or `<op>_<pass>` of a kernel in {stem}.rs"
                ));
            }
        }
    }
    errs
}

/// `(stem, source)` of every file in `dir` ending in `.ext`. A kernel family may be a
/// folder (`matmul/`, or `loss.rs` beside `loss/`): the files inside count under its stem.
fn sources(dir: &Path, ext: &str) -> Vec<(String, String)> {
    let mut by_stem: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |stem: String, path: &Path| {
        let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = by_stem.entry(stem).or_default();
        text.push_str(&strip_line_comments(&src));
        text.push('\n');
    };
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                let inner = inner.expect("dir entry").path();
                if inner.extension().is_some_and(|x| x == ext) {
                    add(name.clone(), &inner);
                }
            }
        } else if path.extension().is_some_and(|x| x == ext) {
            add(path.file_stem().expect("stem").to_string_lossy().into_owned(), &path);
        }
    }
    by_stem.into_iter().collect()
}

fn repo_tables() -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, Vec<String>>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kernels = sources(&root.join("kernels/src"), "rs").into_iter().map(|(s, src)| {
        let ops = kernel_ops(&s, &src);
        (s, ops)
    });
    let shaders = sources(&root.join("shaders"), "wgsl").into_iter().map(|(s, src)| (s, compute_entries(&src)));
    (kernels.collect(), shaders.collect())
}

#[test]
fn every_kernel_has_its_shader_entry_and_back() {
    let (kernels, shaders) = repo_tables();
    // The parsers found something: a broken pattern must not pass vacuously.
    assert!(kernels.get("reduce").is_some_and(|ops| ops.contains("sum_all") && ops.contains("scale_by_scalar")));
    // A family that is a folder is read too.
    assert!(kernels.get("matmul").is_some_and(|ops| ops.contains("matmul")));
    assert!(shaders.get("loss").is_some_and(|e| e.iter().any(|e| e == "loss_forward_partial")));
    let errs = mismatches(&kernels, &shaders);
    assert!(errs.is_empty(), "op names out of step:\n  {}", errs.join("\n  "));
}

/// Every allow-list entry still names something, so the lists cannot go stale.
#[test]
fn allow_lists_are_current() {
    let (kernels, shaders) = repo_tables();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for &(stem, name, why) in NOT_KERNELS {
        let (file, folder) =
            (root.join(format!("kernels/src/{stem}.rs")), root.join(format!("kernels/src/{stem}/mod.rs")));
        let src = std::fs::read_to_string(if file.exists() { file } else { folder }).expect("kernel file");
        assert!(pub_fns(&src).iter().any(|f| f == name), "NOT_KERNELS {stem}::{name} ({why}) no longer exists");
    }
    for &(stem, name, why) in HELPER_PASSES {
        assert!(
            shaders.get(stem).is_some_and(|e| e.iter().any(|e| e == name)),
            "HELPER_PASSES {stem}::{name} ({why}) no longer exists"
        );
    }
    for &(stem, _) in HOST_ONLY_STEMS {
        assert!(!shaders.contains_key(stem), "host-only stem {stem} has a shader: drop it from HOST_ONLY_STEMS");
    }
    assert!(kernels.contains_key("simd"));
}

/// The check itself catches each kind of mismatch (planted in copies of the real tables).
#[test]
fn planted_mismatches_are_reported() {
    let (kernels, shaders) = repo_tables();
    let count = |k: &BTreeMap<String, BTreeSet<String>>, s: &BTreeMap<String, Vec<String>>| mismatches(k, s).len();
    // A renamed shader entry: the kernel loses its twin and the entry has no kernel.
    let mut s = shaders.clone();
    let e = s.get_mut("optim").expect("optim.wgsl");
    *e.iter_mut().find(|e| *e == "adam_update").expect("adam_update entry") = "adam".into();
    assert_eq!(count(&kernels, &s), 2, "{:?}", mismatches(&kernels, &s));
    // A new kernel without a shader entry.
    let mut k = kernels.clone();
    k.get_mut("reduce").expect("reduce.rs").insert("sub".into());
    assert_eq!(count(&k, &shaders), 1, "{:?}", mismatches(&k, &shaders));
    // A shader without a kernel file, and a kernel file without a shader.
    let mut s = shaders.clone();
    s.insert("extra".into(), vec!["extra".into()]);
    let mut k = kernels.clone();
    k.insert("lonely".into(), ["lonely".to_string()].into());
    assert_eq!(count(&k, &s), 2, "{:?}", mismatches(&k, &s));
}

#[test]
fn parsers_follow_the_rules() {
    let src = "pub fn op(x: &[f32]) {}\npub fn op_scalar() {}\npub fn op_with() {}\npub fn op_fast() {}\n\
               pub fn scale_by_scalar() {}\npub(crate) fn hidden() {}\n    pub fn method() {}\n";
    let ops: Vec<_> = kernel_ops("test", src).into_iter().collect();
    assert_eq!(ops, ["op", "scale_by_scalar"]);
    let wgsl = "@compute @workgroup_size(256)\nfn a_pass(@builtin(x) x: u32) {}\nfn helper() {}\n\
                @compute @workgroup_size(8, 8)\nfn b() {}\n";
    assert_eq!(compute_entries(wgsl), ["a_pass", "b"]);
    assert!(names_op("sum_all_partial", "sum_all") && names_op("add", "add"));
    assert!(!names_op("addx", "add") && !names_op("add_", "add"));
}
