//! Faults a run directory must survive: SIGKILL of `autoenc train` at random moments, two
//! writers of one directory, resuming a killed run (bit-identical to an uninterrupted one
//! on the CPU), divergence. Small data so the whole file runs in seconds.

use autoenc::io::checkpoint;
use autoenc::run::stacked_state::PRETRAINED_FILE;
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

/// The deterministic columns of metrics.csv: every one but the timings (the losses, code
/// statistics and any ELBO or noisy-input figures), the header included.
fn deterministic_columns(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    let timing = |i: usize| matches!(header.get(i), Some(&("seconds" | "steps_per_sec" | "dispatches_per_step")));
    text.lines()
        .map(|l| l.split(',').enumerate().filter(|&(i, _)| !timing(i)).map(|(_, v)| v.to_string()).collect())
        .collect()
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
    // curves.png is drawn from every row of metrics.csv, the epochs before the kill too.
    assert_same_pictures(&whole, &resumed, &["curves.png", "latent.png", "reconstructions.png", "denoising.png"]);
}

/// The pictures `names` of two runs are the same bytes.
fn assert_same_pictures(whole: &Path, resumed: &Path, names: &[&str]) {
    for name in names {
        let (a, b) = (std::fs::read(whole.join(name)).unwrap(), std::fs::read(resumed.join(name)).unwrap());
        assert!(a == b, "{name} of the resumed run differs from the uninterrupted run's");
    }
}

// Stacked runs: greedy pretraining of two layers (3 epochs each), then the supervised phase
// (3 epochs). With --save-every 1 the checkpoints are numbered 1-3 (layer 0), 4-6 (layer 1)
// and 7-9 (fine-tuning or the classifier alone).
const STACKED: [&str; 22] = [
    "train",
    "--model",
    "stacked",
    "--layers",
    "784,32,16",
    "--pretrain-epochs",
    "3",
    "--finetune-epochs",
    "3",
    "--limit-train",
    "256",
    "--limit-test",
    "32",
    "--batch-size",
    "32",
    "--seed",
    "5",
    "--backend",
    "cpu",
    "--no-progress",
    "--check-every",
    "3",
];
const STACKED_PRETRAIN_EPOCHS: usize = 3;

fn stacked_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [&STACKED[..], &["--out", out], extra].concat()
}

/// Where a stacked run's checkpoint stands: phase ("pretrain" or "supervised"), layer (while
/// pretraining) and the epoch within the phase.
type StackedStage = (String, Option<usize>, usize);

/// The [`StackedStage`] of a stacked run's checkpoint, from optimizer.safetensors.
fn stacked_stage(dir: &Path) -> StackedStage {
    let ck = checkpoint::load(&dir.join(OPTIMIZER_FILE)).expect("optimizer state loads");
    let phase = ck.meta("phase").expect("phase metadata").to_string();
    let layer = ck.meta("layer").map(|l| l.parse().unwrap());
    (phase, layer, ck.meta("epoch").expect("epoch metadata").parse().unwrap())
}

/// A stacked checkpoint is complete: config and model agree, metrics.csv has one row per
/// epoch trained up to the checkpoint, pretrained.safetensors holds every layer finished
/// before the phase in progress (and its values match the stage), no temporary files.
fn assert_stacked_consistent(dir: &Path, layers: usize) -> StackedStage {
    SavedRun::open(dir).unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
    let stage = stacked_stage(dir);
    let (finished_layers, rows) = match &stage {
        (p, Some(layer), epoch) if p == "pretrain" => (*layer, layer * STACKED_PRETRAIN_EPOCHS + epoch),
        (p, None, epoch) if p == "supervised" => (layers, layers * STACKED_PRETRAIN_EPOCHS + epoch),
        other => panic!("unexpected stage {other:?}"),
    };
    let metrics = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    assert_eq!(metrics.lines().count(), rows + 1, "metrics.csv rows vs checkpoint {stage:?}: {metrics}");
    let pretrained = dir.join(PRETRAINED_FILE);
    if finished_layers > 0 {
        let ck = checkpoint::load(&pretrained).expect("pretrained layers load");
        for l in 0..layers {
            let has = ck.tensors.keys().any(|k| k.starts_with(&format!("layer{l}.")));
            assert_eq!(has, l < finished_layers, "layer {l} in {PRETRAINED_FILE} at {stage:?}");
        }
    } else {
        assert!(!pretrained.exists(), "{PRETRAINED_FILE} before any layer finished");
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        assert!(!e.file_name().to_string_lossy().ends_with(".tmp"), "temporary file {:?} in the run", e.path());
    }
    stage
}

/// Two stacked runs ended the same: metrics (all but the timing column), weights, the
/// pretrained layers and the optimizer state (buffers, step, epoch and phase).
fn assert_same_stacked_run(whole: &Path, resumed: &Path, what: &str) {
    let columns = |dir: &Path| -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
        text.lines().map(|l| l.split(',').take(6).map(str::to_string).collect()).collect()
    };
    assert_eq!(columns(resumed), columns(whole), "{what}: metrics.csv differs");
    let (a, b) = (SavedRun::open(whole).unwrap(), SavedRun::open(resumed).unwrap());
    assert!(a.checkpoint.tensors == b.checkpoint.tensors, "{what}: weights differ");
    for file in [PRETRAINED_FILE, OPTIMIZER_FILE] {
        let (a, b) = (checkpoint::load(&whole.join(file)).unwrap(), checkpoint::load(&resumed.join(file)).unwrap());
        assert!(a == b, "{what}: {file} differs");
    }
    assert_same_pictures(whole, resumed, &["curves.png", "latent.png"]);
}

/// The stage checkpoint `n` of a stacked run of [`STACKED`] ends, with --save-every 1.
fn stage_of_checkpoint(n: usize) -> StackedStage {
    let e = STACKED_PRETRAIN_EPOCHS;
    match n {
        1..=3 => ("pretrain".into(), Some(0), n),
        4..=6 => ("pretrain".into(), Some(1), n - e),
        _ => ("supervised".into(), None, n - 2 * e),
    }
}

/// Trains [`STACKED`] with `extra` uninterrupted, then for each checkpoint in `kills`: a run
/// SIGKILLed just after publishing it (the fault hook), checked, resumed with
/// `train --resume DIR` plus the loop flags among `extra` (`--save-every`), and compared
/// bit for bit with the uninterrupted one.
fn stacked_kill_and_resume(name: &str, extra: &[&str], kills: &[(usize, StackedStage)]) {
    use std::os::unix::process::ExitStatusExt;
    let root = temp_dir(name);
    let whole = root.join("whole");
    let out = run(&stacked_args(whole.to_str().unwrap(), extra));
    assert!(out.status.success(), "{}", stderr(&out));
    let resume_flags = match extra.iter().position(|&f| f == "--save-every") {
        Some(i) => &extra[i..i + 2],
        None => &[][..],
    };
    for (n, expected) in kills {
        let dir = root.join(format!("killed-{n}"));
        let killed = autoenc()
            .args(stacked_args(dir.to_str().unwrap(), extra))
            .env("AUTOENC_TEST_KILL_AFTER_CHECKPOINT", n.to_string())
            .output()
            .unwrap();
        assert_eq!(killed.status.signal(), Some(9), "checkpoint {n}: not killed: {}", stderr(&killed));
        let stage = assert_stacked_consistent(&dir, 2);
        assert_eq!(&stage, expected, "checkpoint {n}");
        let resumed = run(&[
            &["train", "--resume", dir.to_str().unwrap(), "--no-progress", "--backend", "cpu"][..],
            resume_flags,
        ]
        .concat());
        assert!(resumed.status.success(), "checkpoint {n}: {}", stderr(&resumed));
        assert_same_stacked_run(&whole, &dir, &format!("killed after checkpoint {n} {expected:?}"));
    }
}

#[test]
fn a_stacked_run_killed_in_the_pretraining_of_its_first_layer_resumes_bit_identically() {
    let kills: Vec<_> = (1..=3).map(|n| (n, stage_of_checkpoint(n))).collect();
    stacked_kill_and_resume("stacked-layer0", &[], &kills);
}

#[test]
fn a_stacked_run_killed_in_the_pretraining_of_its_second_layer_resumes_bit_identically() {
    let kills: Vec<_> = (4..=6).map(|n| (n, stage_of_checkpoint(n))).collect();
    stacked_kill_and_resume("stacked-layer1", &[], &kills);
}

#[test]
fn a_stacked_run_killed_in_fine_tuning_resumes_bit_identically() {
    // Checkpoint 9 is the last: the resumed run finds it complete.
    let kills: Vec<_> = (7..=9).map(|n| (n, stage_of_checkpoint(n))).collect();
    // With corrupted fine-tuning inputs: a resumed epoch must corrupt the same pixels.
    stacked_kill_and_resume("stacked-finetune", &[], &kills);
}

#[test]
fn a_stacked_run_killed_while_training_the_classifier_alone_resumes_bit_identically() {
    let kills: Vec<_> = (7..=9).map(|n| (n, stage_of_checkpoint(n))).collect();
    stacked_kill_and_resume("stacked-classifier", &["--classifier-only"], &kills);
}

#[test]
fn a_stacked_run_checkpoints_every_save_every_epochs_of_each_phase_and_resumes() {
    // With --save-every 2 and 3 epochs per phase, each phase checkpoints after epochs 2 and 3.
    let stage = |phase: &str, layer, epoch| (phase.to_string(), layer, epoch);
    let kills = [
        (1, stage("pretrain", Some(0), 2)),
        (2, stage("pretrain", Some(0), 3)),
        (3, stage("pretrain", Some(1), 2)),
        (5, stage("supervised", None, 2)),
    ];
    stacked_kill_and_resume("stacked-save-every", &["--save-every", "2"], &kills);
}

#[test]
fn sigkill_of_a_stacked_run_at_random_moments_then_resume_ends_as_an_uninterrupted_run() {
    let root = temp_dir("stacked-random-kill");
    let whole = root.join("whole");
    let out = run(&stacked_args(whole.to_str().unwrap(), &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = root.join("killed");
    let d = dir.to_str().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let (mut kills, mut midway) = (0, 0);
    let mut stages = Vec::new();
    for attempt in 0.. {
        assert!(attempt < 60, "the run never completed under random kills");
        // Train fresh until a first checkpoint exists, then resume; each attempt is
        // SIGKILLed at a random moment (the window widens so the run always ends).
        let args = if dir.exists() {
            vec!["train", "--resume", d, "--no-progress", "--backend", "cpu"]
        } else {
            stacked_args(d, &[])
        };
        let mut child = autoenc().args(&args).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..60 + 20 * attempt)));
        let _ = child.kill(); // SIGKILL, or nothing if it already ended
        let status = child.wait().unwrap();
        if status.success() {
            break;
        }
        kills += 1;
        if dir.exists() {
            let stage = assert_stacked_consistent(&dir, 2);
            midway += usize::from(stage != ("supervised".into(), None, 3));
            stages.push(stage);
        }
    }
    assert_stacked_consistent(&dir, 2);
    assert_same_stacked_run(&whole, &dir, "after random kills and resumes");
    eprintln!("{kills} kills; checkpoints they left: {stages:?}");
    stages.dedup();
    assert!(midway > 0, "no kill landed inside the run's phases: {stages:?}");
}

#[test]
fn metrics_csv_reads_back_as_the_rows_written() {
    use autoenc::run::{parse_metrics, METRICS_HEADER};
    let text = format!(
        "{METRICS_HEADER}\n1,0.671386,0.650000,160.5000,0.004,0.50000,,2339.00,\n\
         2,0.612603,0.570266,134.4670,0.003,0.25000,7.12500,2708.10,41.5\nnot,a,row\n"
    );
    let rows = parse_metrics(&text);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!((a.epoch, a.train_loss, a.test_loss, a.test_sse_per_image), (1, 0.671386, 0.65, 160.5));
    assert_eq!(
        (a.seconds, a.mean_code, a.jacobian_norm, a.steps_per_sec, a.dispatches_per_step),
        (0.004, 0.5, None, 2339.0, None)
    );
    assert_eq!((b.epoch, b.jacobian_norm, b.dispatches_per_step), (2, Some(7.125), Some(41.5)));
    assert!(a.elbo.is_none() && a.noisy_input.is_none());
    // The optional groups are found by the header's names.
    use autoenc::run::{ELBO_COLUMNS, NOISY_INPUT_COLUMNS};
    let text = format!(
        "{METRICS_HEADER},{ELBO_COLUMNS},{NOISY_INPUT_COLUMNS}\n1,0.5,0.4,3.0,0.1,0.2,,9.00,,105.5,80.25,25.25,0.45,3.5\n\
         1,0.5,0.4,3.0,0.1,0.2,,9.00,,105.5,80.25,25.25\n"
    );
    let rows = parse_metrics(&text);
    assert_eq!(rows.len(), 1, "a row short of the header's columns is skipped: {rows:?}");
    let e = rows[0].elbo.expect("elbo columns");
    assert_eq!((e.neg_elbo, e.reconstruction, e.kl), (105.5, 80.25, 25.25));
    let d = rows[0].noisy_input.expect("noisy-input columns");
    assert_eq!((d.loss, d.sse_per_image), (0.45, 3.5));
    let text = format!("{METRICS_HEADER},{NOISY_INPUT_COLUMNS}\n2,0.5,0.4,3.0,0.1,0.2,,9.00,,0.45,3.5\n");
    let rows = parse_metrics(&text);
    assert_eq!((rows[0].elbo, rows[0].noisy_input.map(|d| d.loss)), (None, Some(0.45)));
    assert!(parse_metrics("1,0.5,0.4,3.0,0.1,0.2,,9.00,\n").is_empty(), "rows without a header are not read");
}
