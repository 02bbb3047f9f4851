//! What a run shows beside its numbers, end to end through the `autoenc` command: the
//! pictures every run writes (curves.png, latent.png), `encode`'s tables, config.json's
//! floats and the help text.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn autoenc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autoenc")).args(args).output().expect("run autoenc")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("autoenc-viz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Decodes a PNG and checks it is a picture with something drawn in colour on it.
fn assert_coloured_picture(path: &Path, min_width: u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    assert!(img.width() >= min_width, "{}: only {} pixels wide", path.display(), img.width());
    let coloured = img.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
    assert!(coloured > 200, "{}: only {coloured} coloured pixels: nothing plotted?", path.display());
    let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 80)).count();
    assert!(dark > 500, "{}: only {dark} dark pixels: no axes or text?", path.display());
}

fn train_small(dir: &Path, extra: &[&str]) -> String {
    let base = ["train", "--epochs", "2", "--limit-train", "256", "--limit-test", "100", "--hidden", "32"];
    ok(&autoenc(&[&base[..], extra, &["--out", dir.to_str().unwrap()]].concat()))
}

#[test]
fn a_run_writes_curves_and_a_latent_map() {
    let dir = temp_dir("pictures");
    let stderr = train_small(&dir, &["--code", "8"]);
    assert!(stderr.contains("train_objective") && stderr.contains("test_recon_loss"), "{stderr}");
    assert_coloured_picture(&dir.join("curves.png"), 1000);
    assert_coloured_picture(&dir.join("latent.png"), 500);
}

#[test]
fn config_json_writes_floats_as_their_shortest_decimal() {
    let dir = temp_dir("floats");
    train_small(&dir, &["--code", "4", "--lr", "1e-3", "--rho", "0.05"]);
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains("\"lr\": 0.001,"), "{config}");
    assert!(!config.contains("00000"), "a widened float: {config}");
}

#[test]
fn encode_writes_the_test_codes_with_labels_as_csv_and_npy() {
    let dir = temp_dir("encode");
    train_small(&dir, &["--code", "2"]);
    let csv = dir.join("codes.csv");
    ok(&autoenc(&["encode", "--run", dir.to_str().unwrap(), "--out", csv.to_str().unwrap()]));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "label,z0,z1");
    // Every bundled test image, not only the 100 the run was limited to.
    assert_eq!(lines.len(), 1 + 500, "one row per test image");
    for row in &lines[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), 3, "{row}");
        assert!(cells[0].parse::<u8>().unwrap() < 10, "{row}");
        assert!(cells[1..].iter().all(|c| c.parse::<f32>().unwrap().is_finite()), "{row}");
    }
    let npy = dir.join("codes.npy");
    ok(&autoenc(&["encode", "--run", dir.to_str().unwrap(), "--out", npy.to_str().unwrap()]));
    let bytes = std::fs::read(&npy).unwrap();
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'shape': (500, 3)"), "{header}");
    // The .npy holds the same numbers as the .csv, row for row.
    let values: Vec<f32> =
        bytes[10 + hlen..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let first: Vec<f32> = lines[1].split(',').map(|c| c.parse().unwrap()).collect();
    assert_eq!(&values[..3], &first[..]);
}

#[test]
fn encode_refuses_an_unknown_extension() {
    let dir = temp_dir("encode-ext");
    train_small(&dir, &["--code", "2"]);
    let out = autoenc(&["encode", "--run", dir.to_str().unwrap(), "--out", dir.join("c.txt").to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(".csv or .npy") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_stacked_run_writes_its_pictures() {
    let dir = temp_dir("stacked");
    let args = ["train", "--model", "stacked", "--layers", "784,32,8", "--pretrain-epochs", "1"];
    let more =
        ["--finetune-epochs", "1", "--limit-train", "256", "--limit-test", "100", "--out", dir.to_str().unwrap()];
    ok(&autoenc(&[&args[..], &more[..]].concat()));
    assert_coloured_picture(&dir.join("curves.png"), 1000);
    assert_coloured_picture(&dir.join("latent.png"), 500);
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(
        metrics.starts_with(
            "phase,layer,epoch,train_objective,test_recon_loss,test_error,seconds,test_noisy_recon_loss,\
             test_noisy_sse_per_image\n"
        ),
        "{metrics}"
    );
}

#[test]
fn help_shows_comma_separated_defaults() {
    let help = String::from_utf8(autoenc(&["train", "--help"]).stdout).unwrap();
    assert!(help.contains("[default: 784,256,64]"), "{help}");
}

#[test]
fn gpu_commands_without_a_runtime_dir_print_no_mesa_warning() {
    let out = Command::new(env!("CARGO_BIN_EXE_autoenc"))
        .arg("info")
        .env_remove("XDG_RUNTIME_DIR")
        .env("LP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}

#[test]
fn trace_prints_the_forward_nodes_and_the_reverse_walk_and_writes_dot() {
    let dir = temp_dir("trace");
    let dot = dir.join("tape.dot");
    let out = autoenc(&["trace", "--model", "ae", "--hidden", "0", "--code", "4", "--dot", dot.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    ok(&out);
    let forward = stdout.split("backward:").next().unwrap();
    let backward = stdout.split("backward:").nth(1).expect("a backward section");
    // The forward part lists nodes in recording order: parameters, input, then the ops.
    let order: Vec<usize> = ["encoder.0.weight", "input x", "linear(#4, #0, #1)", "bce_with_logits(#7)"]
        .iter()
        .map(|n| forward.find(n).unwrap_or_else(|| panic!("no {n} in:\n{stdout}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{stdout}");
    assert!(forward.contains("[2, 784]"), "{stdout}");
    // The reverse walk goes from the loss down to the first parameter, with shapes and norms.
    let loss = backward.find("loss").unwrap();
    let weight = backward.find("encoder.0.weight").unwrap();
    assert!(loss < weight, "{stdout}");
    assert!(backward.contains("grad [4, 784]  norm "), "{stdout}");
    assert!(backward.contains("constant: no gradient needed"), "{stdout}");
    let dot = std::fs::read_to_string(&dot).unwrap();
    assert!(dot.starts_with("digraph tape {") && dot.contains("n4 -> n5;") && dot.trim_end().ends_with('}'), "{dot}");
}
