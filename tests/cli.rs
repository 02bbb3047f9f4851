//! The `autoenc` command end to end: outputs of a short run, and clear errors (non-zero
//! exit, one line, no panic) on bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn autoenc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autoenc")).args(args).output().expect("run autoenc")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("autoenc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn assert_clean_error(out: &Output, needle: &str) {
    assert!(!needle.is_empty(), "an empty needle is in every message: name what the error must say");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
}

#[test]
fn short_training_run_writes_all_outputs() {
    let dir = temp_dir("train");
    let out = autoenc(&[
        "train",
        "--epochs",
        "2",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--hidden",
        "64",
        "--code",
        "8",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["config.json", "metrics.csv", "model.safetensors", "reconstructions.png"] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let lines: Vec<_> = metrics.lines().collect();
    assert_eq!(lines.len(), 3, "{metrics}");
    assert!(lines[0].starts_with("epoch,train_objective,test_recon_loss,test_sse_per_image,seconds"));
    let columns = lines[0].split(',').count();
    for row in &lines[1..] {
        assert_eq!(row.split(',').count(), columns, "row does not match the header: {row}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn contractive_run_reports_the_jacobian_norm() {
    let dir = temp_dir("jacobian");
    let args = ["train", "--model", "contractive", "--epochs", "1", "--limit-train", "128", "--limit-test", "32"];
    let out = autoenc(&[&args[..], &["--code", "16", "--out", dir.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = metrics.lines().nth(1).unwrap().split(',').collect();
    let col = header.iter().position(|&h| h == "test_jacobian_norm").expect("column");
    let norm: f64 = row[col].parse().expect("a number in the jacobian column");
    assert!(norm > 0.0 && norm.is_finite(), "{metrics}");
}

/// The noisy-input test figures of a `--noise` run: present in every row, computed from
/// corrupted inputs (so unlike the clean-input ones), and absent from a run without noise.
#[test]
fn denoising_run_reports_the_noisy_input_test_loss() {
    let read = |noise: &str| {
        let dir = temp_dir(&format!("noisy-{}", noise.replace(':', "-")));
        let args = ["train", "--model", "denoising", "--epochs", "2", "--limit-train", "128", "--limit-test", "32"];
        let out = autoenc(&[&args[..], &["--noise", noise, "--code", "16", "--out", dir.to_str().unwrap()]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(dir.join("metrics.csv")).unwrap()
    };
    let metrics = read("masking:0.5");
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|&h| h == name).unwrap_or_else(|| panic!("no {name}: {metrics}"));
    for line in metrics.lines().skip(1) {
        let row: Vec<f64> = line.split(',').map(|v| v.parse().unwrap_or(f64::NAN)).collect();
        let (clean, noisy) = (row[col("test_sse_per_image")], row[col("test_noisy_sse_per_image")]);
        let noisy_loss = row[col("test_noisy_recon_loss")];
        assert!(noisy.is_finite() && noisy > 0.0 && noisy_loss.is_finite() && noisy_loss > 0.0, "{metrics}");
        assert!((noisy - clean).abs() > 1e-3 * clean, "half the pixels masked, the same error? {metrics}");
    }
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
    let plain = read("none");
    assert!(!plain.contains("noisy"), "a run without noise has no noisy-input columns: {plain}");
}

#[test]
fn interpolate_and_reconstruct_use_a_finished_run() {
    let dir = temp_dir("interp");
    let d = dir.to_str().unwrap();
    let out =
        autoenc(&["train", "--epochs", "1", "--limit-train", "128", "--limit-test", "16", "--code", "8", "--out", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = autoenc(&["interpolate", "--run", d, "--from", "3", "--to", "7", "--steps", "6"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = image::open(dir.join("interpolation-1.png")).expect("a PNG");
    // Two rows (latent, pixels) of six 28x28 images at scale 2 with 1-pixel separators.
    assert_eq!((png.width(), png.height()), (6 * 57 + 1, 2 * 57 + 1));
    let out = autoenc(&["reconstruct", "--run", d, "--count", "5", "--out", dir.join("r.png").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("r.png").is_file());
    // A second picture is a new file; the training's own outputs stay as they were.
    let trained = std::fs::read(dir.join("reconstructions.png")).unwrap();
    assert!(autoenc(&["reconstruct", "--run", d, "--count", "5"]).status.success());
    assert!(autoenc(&["reconstruct", "--run", d, "--count", "5"]).status.success());
    assert!(dir.join("reconstruct-1.png").is_file() && dir.join("reconstruct-2.png").is_file());
    assert_eq!(std::fs::read(dir.join("reconstructions.png")).unwrap(), trained);
    assert_clean_error(&autoenc(&["reconstruct", "--run", d, "--out", dir.join("r.png").to_str().unwrap()]), "exists");
    assert_clean_error(&autoenc(&["interpolate", "--run", d, "--from", "100000"]), "does not exist");
    assert_clean_error(&autoenc(&["interpolate", "--run", "/nonexistent/run"]), "/nonexistent/run");
}

/// config.json and the checkpoint's metadata are two copies of one run spec; when they
/// disagree, `reconstruct` and `interpolate` refuse the run and name both files.
#[test]
fn a_run_whose_config_and_checkpoint_disagree_is_refused() {
    let dir = temp_dir("mismatch");
    let d = dir.to_str().unwrap();
    let out =
        autoenc(&["train", "--epochs", "1", "--limit-train", "64", "--limit-test", "16", "--code", "8", "--out", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join("config.json");
    let config = std::fs::read_to_string(&path).unwrap();
    let edited = config.replace("\"seed\": 0", "\"seed\": 5");
    assert_ne!(config, edited, "the seed key is written as expected: {config}");
    std::fs::write(&path, edited).unwrap();
    for cmd in ["reconstruct", "interpolate"] {
        let out = autoenc(&[cmd, "--run", d]);
        assert_clean_error(&out, "config.json");
        assert_clean_error(&out, "model.safetensors");
        assert_clean_error(&out, "seed");
    }
    // Put back, the run loads again.
    std::fs::write(&path, config).unwrap();
    assert!(autoenc(&["reconstruct", "--run", d]).status.success());
}

#[test]
fn stacked_run_reports_test_error() {
    let dir = temp_dir("stacked");
    let out = autoenc(&[
        "train",
        "--model",
        "stacked",
        "--layers",
        "784,32,16",
        "--pretrain-epochs",
        "1",
        "--finetune-epochs",
        "2",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("test error"), "{stderr}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("pretrain,1,1,")), "{metrics}");
    assert!(metrics.lines().any(|l| l.starts_with("finetune,,2,")), "{metrics}");
    // Denoising pretraining (the default) scores each layer on corrupted test inputs too.
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    assert_eq!(&header[7..], ["test_noisy_recon_loss", "test_noisy_sse_per_image"], "{metrics}");
    for row in metrics.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), header.len(), "row does not match the header: {row}");
        let noisy = f[7].parse::<f64>();
        if f[0] == "pretrain" {
            let clean: f64 = f[4].parse().unwrap();
            assert!(noisy.as_ref().is_ok_and(|n| n.is_finite() && *n > clean), "noisy worse than clean: {row}");
        } else {
            assert!(f[7].is_empty() && f[8].is_empty(), "{row}");
        }
    }
    assert!(dir.join("model.safetensors").is_file());
    assert_clean_error(&autoenc(&["train", "--model", "stacked", "--layers", "100,10"]), "--layers");
}

/// A small stacked run (784-32, one pretraining epoch, two supervised ones) with `flag value`;
/// checks that config.json records the value under `key` and returns the metrics rows
/// (phase, layer, epoch, train objective, test loss: the first five columns), pretraining first.
fn stacked_run_with(name: &str, flag: &str, key: &str, value: &str) -> Vec<String> {
    let dir = temp_dir(name);
    let d = dir.to_str().unwrap();
    let flags = ["--model", "stacked", "--layers", "784,32", "--pretrain", "ae", "--pretrain-epochs", "1"];
    let limits = ["--finetune-epochs", "2", "--limit-train", "256", "--limit-test", "64"];
    let out = autoenc(&[&["train"][..], &flags, &limits, &[flag, value, "--out", d]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains(&format!("\"{key}\": \"{value}\"")), "{config}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    metrics.lines().skip(1).map(|l| l.split(',').take(5).collect::<Vec<_>>().join(",")).collect()
}

#[test]
fn finetune_noise_corrupts_the_supervised_inputs_only_and_is_recorded() {
    let run = |name: &str, noise: &str| stacked_run_with(name, "--finetune-noise", "finetune_noise", noise);
    let (clean, noisy) = (run("finetune-clean", "none"), run("finetune-noisy", "masking:0.5"));
    // Pretraining is untouched; the supervised phase trains on other (corrupted) inputs.
    assert_eq!(clean[0], noisy[0], "pretraining changed");
    assert_ne!(clean[1], noisy[1], "half the pixels masked, yet the same fine-tuning loss");
    assert_eq!(noisy, run("finetune-noisy-again", "masking:0.5"), "the corruption is seeded");
    assert_clean_error(&autoenc(&["train", "--model", "stacked", "--finetune-noise", "masking:2"]), "--finetune-noise");
    let frozen = ["train", "--model", "stacked", "--classifier-only", "--finetune-noise", "masking:0.1"];
    assert_clean_error(&autoenc(&frozen), "--classifier-only");
}

#[test]
fn finetune_optimizer_steers_the_supervised_phase_only_and_is_recorded() {
    let run = |name: &str, opt: &str| stacked_run_with(name, "--finetune-optimizer", "finetune_optimizer", opt);
    let (adam, sgd) = (run("finetune-adam", "adam"), run("finetune-sgd", "sgd"));
    // Pretraining keeps --optimizer (adam); only the supervised phase changes its optimizer.
    assert_eq!(adam[0], sgd[0], "pretraining changed");
    assert_ne!(adam[1], sgd[1], "SGD fine-tuning gave Adam's losses");
    assert_clean_error(
        &autoenc(&["train", "--model", "stacked", "--finetune-optimizer", "lbfgs"]),
        "--finetune-optimizer",
    );
}

/// `AUTOENC_CONV` (the conv algorithm override for benchmarks) takes `blocked` or
/// `direct`; anything else is a clear error before any work.
#[test]
fn autoenc_conv_names_an_algorithm() {
    let with =
        |v: &str| Command::new(env!("CARGO_BIN_EXE_autoenc")).arg("info").env("AUTOENC_CONV", v).output().unwrap();
    assert_clean_error(&with("im2col"), "AUTOENC_CONV must be one of blocked, direct, not \"im2col\"");
    for ok in ["blocked", "direct"] {
        let out = with(ok);
        assert!(out.status.success(), "AUTOENC_CONV={ok}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `AUTOENC_SIMD` runs the kernels at a chosen level (each level's figures on one machine);
/// a name that is unknown or that this CPU cannot run is a clear error before any work.
#[test]
fn autoenc_simd_picks_the_kernels_level_or_names_the_problem() {
    let with =
        |v: &str| Command::new(env!("CARGO_BIN_EXE_autoenc")).arg("info").env("AUTOENC_SIMD", v).output().unwrap();
    for level in autoenc_kernels::simd::available_levels() {
        let out = with(level.name());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("cpu: cpu ({}, ", level.name())), "{}: {stdout}", level.name());
    }
    assert_clean_error(&with("sse9"), "AUTOENC_SIMD: unknown level 'sse9'");
    if let Some(missing) =
        autoenc_kernels::simd::ALL_LEVELS.into_iter().find(|&l| autoenc_kernels::simd::unavailable_reason(l).is_some())
    {
        assert_clean_error(&with(missing.name()), &format!("AUTOENC_SIMD={}", missing.name()));
    }
}

#[test]
fn bench_runs_the_families_and_shapes_asked_for() {
    let out = autoenc(&["bench", "--only", "matmul", "--shapes", "3x5x7,16x16x16"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<_> = stdout.lines().filter(|l| l.starts_with("matmul")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows[0].contains("3x5x7") && rows[1].contains("16^3"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("copy") || l.starts_with("conv")), "{stdout}");
    assert!(stdout.contains("rooflines: compute") && stdout.contains("per core"), "{stdout}");
    assert_clean_error(&autoenc(&["bench", "--shapes", "2x3"]), "expected MxKxN");
    assert_clean_error(&autoenc(&["bench", "--shapes", "0x3x3"]), "at least 1");
}

#[test]
fn pca_reports_reconstruction_error() {
    let out = autoenc(&["pca", "--code", "16", "--limit-train", "500", "--limit-test", "100"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("test sse per image"), "{stdout}");
    assert_clean_error(&autoenc(&["pca", "--code", "0"]), "--code must be in 1..=784");
}

#[test]
fn diverging_training_is_a_clear_error() {
    let dir = temp_dir("diverge");
    let args = ["train", "--model", "linear", "--optimizer", "sgd", "--lr", "100", "--epochs", "3"];
    let out = autoenc(&[&args[..], &["--limit-train", "256", "--out", dir.to_str().unwrap()]].concat());
    assert_clean_error(&out, "training diverged");
    assert_clean_error(&out, "--lr");
}

#[test]
fn batch_size_zero_is_a_clear_error() {
    assert_clean_error(&autoenc(&["train", "--batch-size", "0"]), "--batch-size");
}

#[test]
fn missing_dataset_folder_is_a_clear_error() {
    assert_clean_error(&autoenc(&["train", "--dataset", "/nonexistent/folder"]), "/nonexistent/folder");
}

#[test]
fn corrupt_and_truncated_idx_files_are_clear_errors() {
    let dir = temp_dir("corrupt");
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/bundled/mnist");
    for f in std::fs::read_dir(&bundled).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    // Bad magic in the training images.
    let images = dir.join("train-images-idx3-ubyte.gz");
    std::fs::remove_file(&images).unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), [0u8, 0, 9, 9, 0, 0, 0, 1]).unwrap();
    assert_clean_error(&autoenc(&["train", "--dataset", dir.to_str().unwrap()]), "train-images-idx3-ubyte");
    // Truncated: a valid header that promises more images than the file holds.
    let mut bytes = vec![0u8, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28];
    bytes.extend(vec![0u8; 28 * 28 * 3]);
    std::fs::write(dir.join("train-images-idx3-ubyte"), bytes).unwrap();
    assert_clean_error(&autoenc(&["train", "--dataset", dir.to_str().unwrap()]), "train-images-idx3-ubyte");
}

#[test]
fn gradcheck_command_passes() {
    let out = autoenc(&["gradcheck"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("conv_transpose2d") && stdout.contains("contractive_penalty"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn unknown_model_flag_value_is_rejected() {
    let out = autoenc(&["train", "--loss", "hinge", "--epochs", "1", "--limit-train", "8", "--limit-test", "8"]);
    assert_clean_error(&out, "unknown loss");
}

#[test]
fn info_lists_every_simd_level() {
    let out = autoenc(&["info"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for level in autoenc_kernels::simd::ALL_LEVELS {
        let line = format!("cpu simd {:<9} ", level.name());
        assert!(
            stdout.lines().any(|l| l.starts_with(&line) && l.contains("exercised")),
            "no line for {}: {stdout}",
            level.name()
        );
    }
    // The measured rooflines: a positive multiply-add peak per available level, and the copy.
    let peaks = stdout.lines().find(|l| l.starts_with("cpu fma peak per core")).expect(&stdout);
    for level in autoenc_kernels::simd::available_levels() {
        let rate = peaks.split(&format!("{} ", level.name())).nth(1).and_then(|r| r.split(',').next());
        let rate: f64 = rate.and_then(|r| r.trim().parse().ok()).unwrap_or_else(|| panic!("{}: {peaks}", level.name()));
        assert!(rate > 0.0, "{peaks}");
    }
    assert!(stdout.lines().any(|l| l.starts_with("cpu copy bandwidth") && l.ends_with("GB/s")), "{stdout}");
}

/// `reproduce pca-linear --quick`: the table for every k, the linear AE within 0.5% of
/// PCA's test error (the recipe's goal), written as markdown and CSV.
#[test]
fn reproduce_pca_linear_quick_meets_pca() {
    let dir = temp_dir("reproduce");
    let out = autoenc(&["reproduce", "pca-linear", "--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("Goal: linear AE test error at most 1.005 x PCA's for every k: met."), "{md}");
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let rows: Vec<Vec<f64>> =
        csv.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().expect("a number")).collect()).collect();
    assert_eq!(rows.iter().map(|r| r[0] as usize).collect::<Vec<_>>(), [2, 10, 32, 64], "{csv}");
    for r in &rows {
        let (pca, ae, ratio) = (r[1], r[2], r[3]);
        assert!((ae / pca - ratio).abs() < 1e-3 && ratio <= 1.005 && ratio > 0.98, "{csv}");
    }
    // A second run into the same directory is refused; an unknown name is a clear error.
    let again = autoenc(&["reproduce", "pca-linear", "--quick", "--out", dir.to_str().unwrap()]);
    assert_clean_error(&again, "already holds results.md");
    assert_clean_error(&autoenc(&["reproduce", "banana"]), "unknown experiment 'banana' (known: pca-linear");
    let list = autoenc(&["reproduce", "--list"]);
    let names = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{names}");
    for name in ["pca-linear", "hinton2006", "keras-blog", "vincent2010", "rifai2011", "denoising"] {
        assert!(names.lines().any(|l| l.starts_with(name)), "{name} missing from: {names}");
    }
}

/// The rows of a reproduction's results.csv, by their first column.
fn results_rows(dir: &std::path::Path) -> Vec<Vec<String>> {
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    csv.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect()
}

/// The last row's value of `column` in a run's metrics.csv.
fn last_metric(run: &std::path::Path, column: &str) -> f64 {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == column).unwrap_or_else(|| panic!("no {column} in {header:?}"));
    text.lines().last().unwrap().split(',').nth(at).unwrap().parse().unwrap()
}

#[test]
fn reproduce_train_recipes_quick_write_their_runs_and_tables() {
    // denoising: every run's figure is its own metrics.csv's noisy-input error.
    let dir = temp_dir("reproduce-denoising");
    let out = autoenc(&["reproduce", "denoising", "--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = results_rows(&dir);
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["masking 0.25", "gaussian 0.5"]);
    for (row, run) in rows.iter().zip(["masking-0-25", "gaussian-0-5"]) {
        let noisy = last_metric(&dir.join(run), "test_noisy_sse_per_image");
        let clean = last_metric(&dir.join(run), "test_sse_per_image");
        let ours: f64 = row[2].parse().unwrap();
        assert!((ours - noisy).abs() < 1e-3 && noisy.is_finite() && noisy > 0.0, "{row:?} vs {noisy}");
        assert_ne!(noisy, clean, "the noisy-input figure is not the clean one");
        assert!(row[5].contains("autoenc train --model denoising"), "{row:?}");
    }
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.starts_with("# Denoising") && !md.contains("Goal:"), "no published figure, no goal: {md}");

    // vincent2010: a stacked recipe; its figure is the last classifier row's test error in percent.
    let dir = temp_dir("reproduce-vincent");
    let out = autoenc(&["reproduce", "vincent2010", "--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = results_rows(&dir);
    assert_eq!(rows.len(), 2);
    for (row, run) in rows.iter().zip(["sda-3-masking-0-25", "sae-3-no-noise"]) {
        let error = 100.0 * last_metric(&dir.join(run), "test_error");
        let ours: f64 = row[2].parse().unwrap();
        assert!((ours - error).abs() < 1e-3, "{row:?} vs {error}");
        // The bundled subset is far from the paper: learning, but above the published figure.
        assert!(ours < 50.0 && ours > row[1].parse::<f64>().unwrap(), "{row:?}");
    }
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("Goal: ours at or below every published figure: **not met**."), "{md}");
}

#[test]
fn reproduce_only_runs_the_named_runs() {
    let dir = temp_dir("reproduce-only");
    let d = dir.to_str().unwrap();
    let out = autoenc(&["reproduce", "keras-blog", "--quick", "--only", "deep-128-64-32,simple-32-units", "--out", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = results_rows(&dir);
    // In the recipe's order, whatever the order of --only (results.csv drops the labels' commas).
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["simple 32 units", "deep 128-64-32"]);
    let folders: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
    assert_eq!(folders.len(), 2, "only the two runs trained: {folders:?}");
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("Only 2 of the recipe's 5 runs (`--only`)."), "{md}");
    // An unknown run names the known ones, before anything is written; a recipe without train runs refuses it.
    let elsewhere = temp_dir("reproduce-only-bad");
    let bad = autoenc(&["reproduce", "keras-blog", "--only", "banana", "--out", elsewhere.to_str().unwrap()]);
    assert_clean_error(&bad, "no run 'banana' (its runs: simple-32-units, ");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written");
    assert_clean_error(&autoenc(&["reproduce", "hinton2006", "--only", "x"]), "hinton2006 has none");
}

#[test]
fn validation_holds_out_training_images_and_the_run_records_it() {
    let dir = temp_dir("validation");
    let out = autoenc(&[
        "train",
        "--epochs",
        "1",
        "--validation",
        "500",
        "--limit-train",
        "300",
        "--hidden",
        "16",
        "--code",
        "4",
        "--no-progress",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(validation: last 500 training images) (300 train / 500 test images)"), "{stderr}");
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains("\"validation\": 500"), "{config}");
    // The bundled set has 2,000 training images: all of them cannot be held out.
    assert_clean_error(&autoenc(&["train", "--validation", "2000", "--epochs", "1"]), "validation set of 2000");
    assert_clean_error(&autoenc(&["train", "--validation", "0", "--epochs", "1"]), "--validation");
}

#[test]
fn reproduce_hinton2006_quick_beats_pca() {
    let dir = temp_dir("reproduce-hinton");
    let out = autoenc(&["reproduce", "hinton2006", "--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = results_rows(&dir);
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["autoencoder 784-1000-500-250-30", "PCA-30"]);
    let (ae, pca): (f64, f64) = (rows[0][2].parse().unwrap(), rows[1][2].parse().unwrap());
    assert_eq!((rows[0][1].as_str(), rows[1][1].as_str()), ("3.00", "13.87"));
    // Even on the bundled subset the deep autoencoder's 30 numbers beat PCA's 30 components.
    assert!(ae.is_finite() && pca.is_finite() && ae < pca, "{rows:?}");
}
