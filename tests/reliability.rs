//! Faults a run directory must survive: SIGKILL of `autoenc train` at random moments, two
//! writers of one directory, resuming a killed run (bit-identical to an uninterrupted one
//! on the CPU), divergence. Small data so the whole file runs in seconds.

use autoenc::io::checkpoint;
use autoenc::run::{checkpoint_state::OPTIMIZER_FILE, SavedRun, METRICS_FILE, MODEL_FILE};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SMALL: [&str; 10] =
    ["--limit-train", "256", "--limit-test", "32", "--hidden", "32", "--code", "8", "--backend", "cpu"];

fn autoenc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoenc"));
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    autoenc().args(args).output().expect("run autoenc")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("autoenc-rel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn train_args<'a>(out: &'a str, seed: &'a str, epochs: &'a str) -> Vec<&'a str> {
    let mut a = vec!["train", "--out", out, "--seed", seed, "--epochs", epochs, "--no-progress"];
    a.extend_from_slice(&SMALL);
    a
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The epoch the run's optimizer state ends.
fn checkpoint_epoch(dir: &Path) -> usize {
    let ck = checkpoint::load(&dir.join(OPTIMIZER_FILE)).expect("optimizer state loads");
    ck.meta("epoch").expect("epoch metadata").parse().unwrap()
}

/// Everything a complete checkpoint promises: config and weights agree (SavedRun::open
/// checks it, and finite weights), metrics has one row per epoch of the optimizer state,
/// no temporary files. Returns the run's seed.
fn assert_consistent(dir: &Path) -> u64 {
    let run = SavedRun::open(dir).unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
    let epoch = checkpoint_epoch(dir);
    let metrics = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    assert_eq!(metrics.lines().count(), epoch + 1, "metrics.csv rows vs checkpoint epoch {epoch}: {metrics}");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        assert!(!e.file_name().to_string_lossy().ends_with(".tmp"), "temporary file {:?} in the run", e.path());
    }
    run.spec.training.seed
}

#[test]
fn sigkill_at_random_moments_leaves_a_complete_run() {
    let root = temp_dir("kill");
    let dir = root.join("run");
    let d = dir.to_str().unwrap();
    let first = run(&train_args(d, "1000", "1"));
    assert!(first.status.success(), "{}", stderr(&first));
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (mut replaced, mut checkpointed, mut midway) = (0, 0, 0);
    for trial in 0..24u64 {
        // Even trials re-train the finished run (it stays whole until the new one ends);
        // odd ones start a fresh directory (each checkpoint is published as it comes).
        let fresh = root.join(format!("fresh-{trial}"));
        let target = if trial % 2 == 0 { dir.clone() } else { fresh.clone() };
        let seed = (trial + 1).to_string();
        let epochs = if trial % 2 == 0 { "4" } else { "12" };
        let mut child =
            autoenc().args(train_args(target.to_str().unwrap(), &seed, epochs)).stderr(Stdio::null()).spawn().unwrap();
        // Up to about the length of a run on this machine, so kills land at every stage.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..if trial % 2 == 0 { 600 } else { 300 })));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if target == dir {
            let got = assert_consistent(&dir);
            assert!(got == 1000 || got <= trial + 1, "trial {trial}: run of seed {got}");
            replaced += usize::from(got == trial + 1);
        } else if target.exists() {
            assert_eq!(assert_consistent(&target), trial + 1);
            checkpointed += 1;
            midway += usize::from(checkpoint_epoch(&target) < 12);
        }
    }
    // The next writer removes what the killed ones left beside the run.
    let last = run(&train_args(d, "5000", "1"));
    assert!(last.status.success(), "{}", stderr(&last));
    assert_eq!(assert_consistent(&dir), 5000);
    let leftovers: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".run.staging"))
        .collect();
    assert!(leftovers.is_empty(), "leftovers of killed writers: {leftovers:?}");
    eprintln!(
        "{replaced} re-trains completed before the kill; {checkpointed} fresh runs had checkpointed, {midway} midway"
    );
    assert!(midway > 0, "no fresh run was killed between checkpoints: kill times do not fit the run");
}

#[test]
fn a_second_writer_of_the_same_directory_is_refused() {
    let root = temp_dir("concurrent");
    let dir = root.join("run");
    let d = dir.to_str().unwrap();
    let mut first = autoenc().args(train_args(d, "1", "40")).stderr(Stdio::null()).spawn().unwrap();
    // Wait until the first writer holds the lock (its staging directory exists).
    let start = Instant::now();
    while !std::fs::read_dir(&root).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("staging")) {
        assert!(start.elapsed() < Duration::from_secs(30), "the first writer never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = run(&train_args(d, "2", "1"));
    let first_status = first.wait().unwrap();
    assert!(!second.status.success(), "the second writer was not refused");
    assert!(stderr(&second).contains("being written by another autoenc process"), "{}", stderr(&second));
    assert!(first_status.success());
    assert_eq!(assert_consistent(&dir), 1, "the run is the first writer's");
}

#[test]
fn a_failing_retrain_leaves_the_existing_run_untouched() {
    let root = temp_dir("untouched");
    let dir = root.join("run");
    let d = dir.to_str().unwrap();
    assert!(run(&train_args(d, "3", "1")).status.success());
    let before: Vec<Vec<u8>> =
        ["config.json", METRICS_FILE, MODEL_FILE].iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect();
    for bad in [&["--lr", "nan"][..], &["--limit-test", "0"], &["--lr", "1000"], &["--dataset", "/nonexistent"]] {
        let out = run(&[&train_args(d, "4", "2")[..], bad].concat());
        assert!(!out.status.success(), "{bad:?} succeeded");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let after: Vec<Vec<u8>> =
            ["config.json", METRICS_FILE, MODEL_FILE].iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect();
        assert!(before == after, "{bad:?} changed the run");
    }
}

#[test]
fn divergence_stops_the_run_naming_epoch_step_and_cause() {
    let root = temp_dir("diverge");
    let d = root.join("run");
    let out = run(&[&train_args(d.to_str().unwrap(), "0", "3")[..], &["--lr", "1000"]].concat());
    let err = stderr(&out);
    assert!(!out.status.success(), "diverging run exited 0: {err}");
    assert!(err.contains("training diverged") && err.contains("epoch") && err.contains("step"), "{err}");
    assert!(err.contains("--lr 1000"), "{err}");
}

/// Kills a training of `args` once it has checkpointed an epoch but before it ends.
fn kill_midway(args: &[&str], dir: &Path, total: usize) -> bool {
    let mut child = autoenc().args(args).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false; // finished before we could interrupt it
        }
        if dir.join(OPTIMIZER_FILE).is_file() && checkpoint_epoch(dir) >= 1 {
            let _ = child.kill();
            let _ = child.wait();
            return checkpoint_epoch(dir) < total;
        }
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The deterministic columns of metrics.csv (epoch and the losses: not the timings), by index.
fn deterministic_columns(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    text.lines().map(|l| l.split(',').take(4).map(str::to_string).collect()).collect()
}

#[test]
fn a_killed_and_resumed_run_matches_an_uninterrupted_one_bit_for_bit() {
    let root = temp_dir("resume");
    let epochs = 6;
    let e = epochs.to_string();
    let extra = ["--model", "denoising", "--batch-size", "16"];
    let whole = root.join("whole");
    let out = run(&[&train_args(whole.to_str().unwrap(), "7", &e)[..], &extra].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let mut interrupted = false;
    let resumed = root.join("resumed");
    for _ in 0..5 {
        let _ = std::fs::remove_dir_all(&resumed);
        let args = [&train_args(resumed.to_str().unwrap(), "7", &e)[..], &extra].concat();
        if kill_midway(&args, &resumed, epochs) {
            interrupted = true;
            break;
        }
    }
    assert!(interrupted, "could not interrupt the run between checkpoints");
    let out = run(&["train", "--resume", resumed.to_str().unwrap(), "--no-progress", "--backend", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(deterministic_columns(&resumed), deterministic_columns(&whole));
    let (a, b) = (SavedRun::open(&whole).unwrap(), SavedRun::open(&resumed).unwrap());
    assert!(a.checkpoint.tensors == b.checkpoint.tensors, "weights differ after resuming");
    let (oa, ob) = (
        checkpoint::load(&whole.join(OPTIMIZER_FILE)).unwrap(),
        checkpoint::load(&resumed.join(OPTIMIZER_FILE)).unwrap(),
    );
    assert!(oa.tensors == ob.tensors, "Adam moments differ after resuming");
    assert_eq!(oa.meta("step"), ob.meta("step"));
}
