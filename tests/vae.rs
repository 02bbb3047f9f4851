//! The variational autoencoder end to end on the bundled data: `train --model vae` writes
//! the negative ELBO and its parts, the loss falls, `sample`, `manifold`, `reconstruct` and
//! `interpolate` work on its runs (and refuse other runs with a clear message), beta = 0
//! leaves the posterior free, and a killed run resumes bit-identically (the latent draws
//! are keyed by epoch and step).

use autoenc::io::checkpoint;
use autoenc::run::{checkpoint_state::OPTIMIZER_FILE, SavedRun, METRICS_FILE};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SMALL: [&str; 10] =
    ["--limit-test", "64", "--hidden", "64", "--batch-size", "32", "--backend", "cpu", "--lr", "2e-3"];

fn autoenc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoenc"));
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    autoenc().args(args).output().expect("run autoenc")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("autoenc-vae-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `train --model vae` into `dir` with `extra` flags (512 training images unless they say).
fn train_args<'a>(dir: &'a Path, epochs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let d = dir.to_str().unwrap();
    let limit: &[&str] = if extra.contains(&"--limit-train") { &[] } else { &["--limit-train", "512"] };
    [&["train", "--model", "vae", "--out", d, "--epochs", epochs, "--no-progress"][..], &SMALL, limit, extra].concat()
}

fn train(dir: &Path, epochs: &str, extra: &[&str]) -> Output {
    run(&train_args(dir, epochs, extra))
}

/// metrics.csv as a header and rows of named columns.
fn metrics(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    let mut lines = text.lines().map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    (header, lines.collect())
}

fn column(dir: &Path, name: &str) -> Vec<f64> {
    let (header, rows) = metrics(dir);
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[i].parse().unwrap_or_else(|_| panic!("{name} = '{}'", r[i]))).collect()
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn a_vae_run_reports_the_elbo_and_samples_and_draws_its_manifold() {
    let dir = temp_dir("train");
    let out = train(&dir, "4", &["--code", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("test negative ELBO"), "{}", stderr(&out));
    let (neg_elbo, recon, kl) = (column(&dir, "test_neg_elbo"), column(&dir, "test_recon"), column(&dir, "test_kl"));
    assert_eq!(neg_elbo.len(), 4);
    for e in 0..4 {
        assert!(
            (neg_elbo[e] - recon[e] - kl[e]).abs() < 2e-3,
            "epoch {}: {} != {} + {}",
            e + 1,
            neg_elbo[e],
            recon[e],
            kl[e]
        );
        assert!(kl[e] > 0.0 && recon[e] > 0.0, "epoch {}: recon {} KL {}", e + 1, recon[e], kl[e]);
    }
    // BCE summed over 784 pixels: an untrained decoder gives ~543 nats (784 ln 2); MNIST
    // digits are far below that after a few hundred steps.
    assert!(neg_elbo[3] < neg_elbo[0] && neg_elbo[3] < 300.0, "negative ELBO per epoch: {neg_elbo:?}");
    let train_loss = column(&dir, "train_objective");
    assert!(train_loss[3] < train_loss[0], "train objective per epoch: {train_loss:?}");

    let d = dir.to_str().unwrap();
    let out = run(&["sample", "--run", d, "--count", "10", "--backend", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 10 images: 4 per row (ceil sqrt), 3 rows of 28x28 cells at scale 2 with 1-pixel separators.
    assert_eq!(png_size(&dir.join("samples-1.png")), (4 * 57 + 1, 3 * 57 + 1));
    let out = run(&["manifold", "--run", d, "--grid", "5", "--backend", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(png_size(&dir.join("manifold-1.png")), (5 * 57 + 1, 5 * 57 + 1));
    for cmd in ["reconstruct", "interpolate"] {
        let out = run(&[cmd, "--run", d, "--backend", "cpu"]);
        assert!(out.status.success(), "{cmd}: {}", stderr(&out));
    }
    // The same seed gives the same samples; another seed others.
    let (a, b, c) = (dir.join("a.png"), dir.join("b.png"), dir.join("c.png"));
    for (path, seed) in [(&a, "3"), (&b, "3"), (&c, "4")] {
        let out = run(&[
            "sample",
            "--run",
            d,
            "--count",
            "4",
            "--seed",
            seed,
            "--out",
            path.to_str().unwrap(),
            "--backend",
            "cpu",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(bytes(&a), bytes(&b));
    assert_ne!(bytes(&a), bytes(&c));
}

#[test]
fn sample_and_manifold_refuse_what_they_cannot_draw() {
    let root = temp_dir("refuse");
    let (vae, ae) = (root.join("vae8"), root.join("ae"));
    let out = train(&vae, "1", &["--code", "8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d = ae.to_str().unwrap();
    let out = run(&[
        &["train", "--out", d, "--epochs", "1", "--no-progress", "--code", "8", "--limit-train", "256"][..],
        &SMALL,
    ]
    .concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let expect_error = |args: &[&str], needle: &str| {
        let out = run(args);
        let msg = stderr(&out);
        assert!(!out.status.success() && msg.contains(needle) && !msg.contains("panicked"), "{args:?}: {msg}");
    };
    expect_error(
        &["manifold", "--run", vae.to_str().unwrap(), "--backend", "cpu"],
        "has a 8-D code (train with --code 2)",
    );
    expect_error(&["sample", "--run", d, "--backend", "cpu"], "needs a variational run");
    expect_error(&["manifold", "--run", d, "--backend", "cpu"], "needs a variational run");
    expect_error(&["sample", "--run", vae.to_str().unwrap(), "--count", "0", "--backend", "cpu"], "--count");
    let vae_dir = root.join("mse");
    expect_error(
        &[&["train", "--model", "vae", "--loss", "mse", "--out", vae_dir.to_str().unwrap()][..], &SMALL].concat(),
        "its loss is bce",
    );
    assert!(!vae_dir.exists(), "a rejected run must write nothing");
}

#[test]
fn beta_zero_leaves_the_posterior_unconstrained() {
    let root = temp_dir("beta");
    let (one, zero) = (root.join("one"), root.join("zero"));
    for (dir, beta) in [(&one, "1"), (&zero, "0")] {
        let out = train(dir, "2", &["--code", "8", "--beta", beta, "--seed", "3"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (kl1, kl0) = (column(&one, "test_kl"), column(&zero, "test_kl"));
    let (r1, r0) = (column(&one, "test_recon"), column(&zero, "test_recon"));
    // Without the KL term nothing pulls q(z|x) to the prior: its KL is larger and the
    // reconstruction, which alone is minimised, is better.
    assert!(kl0[1] > 2.0 * kl1[1], "test KL with beta 0 {kl0:?} vs beta 1 {kl1:?}");
    assert!(r0[1] < r1[1], "test reconstruction with beta 0 {r0:?} vs beta 1 {r1:?}");
    // With beta 0 the objective is the reconstruction alone.
    let (t0, spec) = (column(&zero, "train_objective"), SavedRun::open(&zero).unwrap().spec);
    assert_eq!(spec.training.beta, Some(0.0));
    assert!(t0.iter().all(|&v| v > 0.0));
}

/// The epoch of the run's last checkpoint.
fn checkpoint_epoch(dir: &Path) -> usize {
    let ck = checkpoint::load(&dir.join(OPTIMIZER_FILE)).expect("optimizer state loads");
    ck.meta("epoch").expect("epoch metadata").parse().unwrap()
}

/// Starts a training and kills it after its first checkpoint; true when that left the
/// run unfinished.
fn kill_after_first_checkpoint(args: &[&str], dir: &Path, total: usize) -> bool {
    let mut child = autoenc().args(args).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if dir.join(OPTIMIZER_FILE).is_file() && checkpoint_epoch(dir) >= 1 {
            let _ = child.kill();
            let _ = child.wait();
            return checkpoint_epoch(dir) < total;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint after two minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_killed_vae_run_resumes_bit_for_bit() {
    let root = temp_dir("resume");
    let (whole, resumed) = (root.join("whole"), root.join("resumed"));
    let extra = ["--code", "4", "--seed", "11", "--limit-train", "2048"];
    let out = train(&whole, "5", &extra);
    assert!(out.status.success(), "{}", stderr(&out));
    let d = resumed.to_str().unwrap();
    let args = train_args(&resumed, "5", &extra);
    let interrupted = (0..5).any(|_| {
        let _ = std::fs::remove_dir_all(&resumed);
        kill_after_first_checkpoint(&args, &resumed, 5)
    });
    assert!(interrupted, "could not interrupt the run between checkpoints");
    let out = run(&["train", "--resume", d, "--no-progress", "--backend", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in ["train_objective", "test_recon_loss", "test_neg_elbo", "test_recon", "test_kl"] {
        assert_eq!(column(&whole, name), column(&resumed, name), "{name}");
    }
    let (a, b) = (SavedRun::open(&whole).unwrap(), SavedRun::open(&resumed).unwrap());
    assert!(a.checkpoint.tensors == b.checkpoint.tensors, "weights differ after resuming");
}
