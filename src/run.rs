//! A run directory: config.json, metrics.csv (rewritten after each epoch),
//! model.safetensors and the PNG figures. A writer changes it atomically, at checkpoints
//! ([`staging`]): readers and crashes see a complete run, never a partial update.
//!
//! The run's [`RunSpec`] is written by [`RunWriter`] alone (config.json when the run starts,
//! the checkpoint's "config" metadata when the model is saved) and read back by
//! [`SavedRun::open`] alone, which refuses a run whose two copies disagree.

pub mod checkpoint_state;
mod spec;
pub mod stacked_state;
pub mod staging;

pub use spec::{Architecture, RunSpec, TrainingSpec};

use crate::backend::Backend;
use crate::data::noise::Noise;
use crate::error::{Error, Result};
use crate::io::checkpoint::Checkpoint;
use crate::io::images::{encode_png, grid_image};
use crate::nn::Params;
use crate::train::{ElboEvaluation, EpochMetrics, NoisyInputEvaluation};
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.json";
pub const METRICS_FILE: &str = "metrics.csv";
pub const MODEL_FILE: &str = "model.safetensors";
pub const RECONSTRUCTIONS_FILE: &str = "reconstructions.png";
pub const DENOISING_FILE: &str = "denoising.png";

pub const METRICS_HEADER: &str =
    "epoch,train_objective,test_recon_loss,test_sse_per_image,seconds,mean_code_activation,test_jacobian_norm,steps_per_sec,dispatches_per_step";

/// The columns a variational run adds: its test negative ELBO per image and the two parts.
pub const ELBO_COLUMNS: &str = "test_neg_elbo,test_recon,test_kl";

/// The columns a run with `--noise` adds (after any ELBO columns): the test figures of
/// corrupted inputs reconstructed against the clean images.
pub const NOISY_INPUT_COLUMNS: &str = "test_noisy_recon_loss,test_noisy_sse_per_image";

/// A stacked run's columns: one row per pretraining epoch of each layer, then one per
/// classifier epoch. train_objective is the phase's objective (the layer's reconstruction
/// loss plus any contractive penalty while pretraining, the cross-entropy while
/// classifying); the last two columns are filled by denoising pretraining: the layer's test
/// inputs corrupted by the same noise, reconstructed and scored against the clean ones.
pub const STACKED_METRICS_HEADER: &str = "phase,layer,epoch,train_objective,test_recon_loss,test_error,seconds,\
                                          test_noisy_recon_loss,test_noisy_sse_per_image";

/// metrics.csv's header for a run of `spec`.
pub fn metrics_header(spec: &RunSpec) -> String {
    if spec.model == "stacked" {
        return STACKED_METRICS_HEADER.into();
    }
    let mut header = METRICS_HEADER.to_string();
    if spec.model == "vae" {
        header = format!("{header},{ELBO_COLUMNS}");
    }
    // Decided as the trainer decides it (`Noise::is_none` on the parsed spec), so the header
    // and the rows it heads cannot disagree.
    let noisy = Noise::parse(&spec.training.noise).is_ok_and(|n| !n.is_none());
    if noisy {
        header = format!("{header},{NOISY_INPUT_COLUMNS}");
    }
    header
}

/// A resumed run's metrics.csv text (at `path`) must start with the `expected` header.
pub fn check_columns(metrics: &str, expected: &str, path: &Path) -> Result<()> {
    let found = metrics.lines().next().unwrap_or("");
    if found == expected {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{}: its columns ({found}) are not those this version writes ({expected}); \
         the run cannot be resumed, train a new one",
        path.display()
    )))
}

/// The key of the checkpoint metadata entry holding the run's spec.
pub const CONFIG_META_KEY: &str = "config";

pub struct RunWriter {
    dir: PathBuf,
    spec: RunSpec,
    metrics: String,
    staging: staging::Staging,
}

impl RunWriter {
    /// Locks `dir` and stages a new run with its config.json. Nothing in `dir` changes
    /// before the first [`checkpoint`](Self::checkpoint).
    pub fn create(dir: &Path, spec: &RunSpec) -> Result<Self> {
        let staging = staging::Staging::begin(dir)?;
        let metrics = format!("{}\n", metrics_header(spec));
        let mut run = RunWriter { dir: dir.to_path_buf(), spec: spec.clone(), metrics, staging };
        run.put_file(CONFIG_FILE, spec.to_json()?.as_bytes())?;
        Ok(run)
    }

    /// Locks the finished run `dir` to add files to it (`reconstruct`, `interpolate`).
    pub fn amend(dir: &Path) -> Result<Self> {
        let saved = SavedRun::open(dir)?;
        let staging = staging::Staging::amend(dir)?;
        Ok(RunWriter { dir: dir.to_path_buf(), spec: saved.spec, metrics: String::new(), staging })
    }

    /// Continues the run in `dir` (`train --resume`): its metrics so far are kept.
    pub fn resume(dir: &Path, spec: &RunSpec, metrics: String) -> Result<Self> {
        // New rows must fit the columns already there.
        check_columns(&metrics, &metrics_header(spec), &dir.join(METRICS_FILE))?;
        let staging = staging::Staging::amend(dir)?;
        Ok(RunWriter { dir: dir.to_path_buf(), spec: spec.clone(), metrics, staging })
    }

    /// The one way a file enters the run directory: every writer (metrics, model,
    /// pictures) goes through here, so the directory's update policy lives in one place.
    /// The file is staged; it appears in the directory at the next checkpoint.
    pub fn put_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.staging.put(name, bytes)
    }

    /// Publishes every file put so far, atomically: the directory goes from the previous
    /// checkpoint to this one in one step. A new run written over a finished one publishes
    /// only at [`finish`](Self::finish): until then the old run stays whole.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.staging.publish()
    }

    /// The last checkpoint: publishes the complete run in every case.
    pub fn finish(&mut self) -> Result<()> {
        self.staging.publish_final()
    }

    /// A file name in the run not yet used: `stem-1.ext`, `stem-2.ext`, ...
    pub fn unused_name(&self, stem: &str, ext: &str) -> String {
        (1..).map(|i| format!("{stem}-{i}.{ext}")).find(|n| !self.dir.join(n).exists()).expect("some index is free")
    }

    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one epoch and rewrites metrics.csv.
    pub fn append_metrics(&mut self, m: &EpochMetrics) -> Result<()> {
        let dispatches = m.dispatches_per_step.map(|d| format!("{d:.1}")).unwrap_or_default();
        let jacobian = m.jacobian_norm.map(|j| format!("{j:.5}")).unwrap_or_default();
        let elbo =
            m.elbo.map(|e| format!(",{:.4},{:.4},{:.4}", e.neg_elbo, e.reconstruction, e.kl)).unwrap_or_default();
        let noisy = m.noisy_input.map(|d| format!(",{:.6},{:.4}", d.loss, d.sse_per_image)).unwrap_or_default();
        self.metrics.push_str(&format!(
            "{},{:.6},{:.6},{:.4},{:.3},{:.5},{},{:.2},{}{}{}\n",
            m.epoch,
            m.train_loss,
            m.test_loss,
            m.test_sse_per_image,
            m.seconds,
            m.mean_code,
            jacobian,
            m.steps_per_sec,
            dispatches,
            elbo,
            noisy
        ));
        let text = std::mem::take(&mut self.metrics);
        let written = self.put_file(METRICS_FILE, text.as_bytes());
        self.metrics = text;
        written
    }

    /// The rows of metrics.csv so far (a resumed run's included), read back from the text
    /// written: what curves.png draws, so a resumed run's curves show every epoch, exactly
    /// as an uninterrupted run's do.
    pub fn metrics_history(&self) -> Vec<EpochMetrics> {
        parse_metrics(&self.metrics)
    }

    /// Rewrites metrics.csv with `text` (runs whose rows are not [`EpochMetrics`]).
    pub fn write_metrics_text(&mut self, text: &str) -> Result<()> {
        self.put_file(METRICS_FILE, text.as_bytes())
    }

    /// Writes every parameter, with the run's spec as metadata.
    pub fn save_model<B: Backend>(&mut self, backend: &B, params: &Params<B>) -> Result<()> {
        let mut ck = Checkpoint::new();
        for p in &params.list {
            ck.insert(p.name.clone(), p.value.shape.dims(), p.value.to_vec(backend)?)?;
        }
        let compact = serde_json::to_string(&self.spec).map_err(|e| Error::Config(format!("config: {e}")))?;
        ck.set_meta(CONFIG_META_KEY, compact);
        let bytes = ck.to_bytes()?;
        self.put_file(MODEL_FILE, &bytes)
    }

    /// reconstructions.png: originals over reconstructions; with corruption also
    /// denoising.png: clean / corrupted / reconstructed.
    pub fn save_reconstructions(
        &mut self,
        originals: &[f32],
        corrupted: &[f32],
        recon: &[f32],
        noisy: bool,
        h: usize,
        w: usize,
    ) -> Result<()> {
        let n = originals.len() / (h * w);
        let png = encode_png(&grid_image(&[originals.to_vec(), recon.to_vec()], n, h, w, 2)?)?;
        self.put_file(RECONSTRUCTIONS_FILE, &png)?;
        if noisy {
            let rows = [originals.to_vec(), corrupted.to_vec(), recon.to_vec()];
            let png = encode_png(&grid_image(&rows, n, h, w, 2)?)?;
            self.put_file(DENOISING_FILE, &png)?;
        }
        Ok(())
    }
}

/// The rows of a metrics.csv written by [`RunWriter::append_metrics`], with the values as
/// rounded there. Columns are found by the header's names, so the optional groups (ELBO,
/// noisy-input) are read when the header has them; a text that does not start with the
/// header, and any row that is not one of those, gives no rows.
pub fn parse_metrics(text: &str) -> Vec<EpochMetrics> {
    let mut lines = text.lines();
    let names: Vec<&str> = match lines.next() {
        Some(h) if h.starts_with(METRICS_HEADER) => h.split(',').collect(),
        _ => return Vec::new(),
    };
    let column = |name: &str| names.iter().position(|n| *n == name);
    let elbo_at = column("test_neg_elbo");
    let noisy_at = column("test_noisy_recon_loss");
    let row = |line: &str| -> Option<EpochMetrics> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != names.len() {
            return None;
        }
        let num = |i: usize| f[i].parse::<f64>().ok();
        let optional = |i: usize| if f[i].is_empty() { Some(None) } else { num(i).map(Some) };
        Some(EpochMetrics {
            epoch: f[0].parse().ok()?,
            train_loss: num(1)?,
            test_loss: num(2)?,
            test_sse_per_image: num(3)?,
            seconds: num(4)?,
            mean_code: num(5)?,
            jacobian_norm: optional(6)?,
            steps_per_sec: num(7)?,
            dispatches_per_step: optional(8)?,
            elbo: match elbo_at {
                Some(i) => Some(ElboEvaluation { neg_elbo: num(i)?, reconstruction: num(i + 1)?, kl: num(i + 2)? }),
                None => None,
            },
            noisy_input: match noisy_at {
                Some(i) => Some(NoisyInputEvaluation { loss: num(i)?, sse_per_image: num(i + 1)? }),
                None => None,
            },
        })
    };
    lines.filter_map(row).collect()
}

/// A finished run directory: its spec (config.json, checked against the checkpoint's
/// copy) and its checkpoint.
pub struct SavedRun {
    pub dir: PathBuf,
    pub spec: RunSpec,
    pub checkpoint: Checkpoint,
}

impl SavedRun {
    /// Reads config.json and model.safetensors. Errors name the file; a checkpoint whose
    /// "config" metadata describes another run than config.json is refused.
    pub fn open(dir: &Path) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let model_path = dir.join(MODEL_FILE);
        let size = std::fs::metadata(&model_path).map_err(|e| Error::io(&model_path, e))?.len();
        crate::limits::check(&format!("reading {}", model_path.display()), Some(size as u128))?;
        let bytes = std::fs::read(&model_path).map_err(|e| Error::io(&model_path, e))?;
        Self::from_parts(dir, &text, &bytes)
    }

    /// [`open`](Self::open) on the contents of config.json and model.safetensors of `dir`
    /// (which only names the files in errors).
    pub fn from_parts(dir: &Path, config_text: &str, model_bytes: &[u8]) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let spec = RunSpec::from_json(config_text, &config_path.display().to_string())?;
        let model_path = dir.join(MODEL_FILE);
        let checkpoint = Checkpoint::from_bytes(model_bytes, &model_path)?;
        if let Some(meta) = checkpoint.meta(CONFIG_META_KEY) {
            let source = format!("{} (metadata '{CONFIG_META_KEY}')", model_path.display());
            let saved = RunSpec::from_json(meta, &source)?;
            if saved != spec {
                return Err(Error::Checkpoint(format!(
                    "{} and {} describe different runs (they differ in: {}); refusing to load it",
                    config_path.display(),
                    model_path.display(),
                    differing_keys(&spec, &saved).join(", ")
                )));
            }
        }
        refuse_non_finite(&checkpoint, &model_path)?;
        Ok(SavedRun { dir: dir.to_path_buf(), spec, checkpoint })
    }

    /// Loads the checkpoint's values into `params` (names and shapes must match).
    pub fn load_params<B: Backend>(&self, backend: &B, params: &mut Params<B>) -> Result<()> {
        for p in &mut params.list {
            let data = self.checkpoint.get_shaped(&p.name, p.value.shape.dims())?;
            p.value = crate::tensor::Tensor::from_slice(backend, p.value.shape.clone(), data, &p.name)?;
        }
        Ok(())
    }
}

/// A checkpoint holding NaN or infinite weights would decode to a black image with exit 0.
fn refuse_non_finite(ck: &Checkpoint, path: &Path) -> Result<()> {
    for (name, t) in &ck.tensors {
        if let Some((i, v)) = t.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Checkpoint(format!(
                "{}: tensor '{name}' holds {v} at index {i}; refusing to load non-finite weights",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The config.json keys whose values differ between two specs.
fn differing_keys(a: &RunSpec, b: &RunSpec) -> Vec<String> {
    let as_map = |s: &RunSpec| match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_map(a), as_map(b));
    let mut keys: Vec<String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}
