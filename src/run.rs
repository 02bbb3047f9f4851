//! A run directory: config.json, metrics.csv (rewritten after each epoch),
//! model.safetensors and the PNG figures. Every file is written atomically.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::io::checkpoint::{self, write_atomic, Checkpoint};
use crate::io::images::write_grid;
use crate::nn::Params;
use crate::train::EpochMetrics;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.json";
pub const METRICS_FILE: &str = "metrics.csv";
pub const MODEL_FILE: &str = "model.safetensors";
pub const RECONSTRUCTIONS_FILE: &str = "reconstructions.png";
pub const DENOISING_FILE: &str = "denoising.png";

pub const METRICS_HEADER: &str =
    "epoch,train_loss,test_loss,test_sse_per_image,seconds,mean_code_activation,test_jacobian_norm,steps_per_sec,dispatches_per_step";

pub struct RunWriter {
    dir: PathBuf,
    config: serde_json::Value,
    metrics: String,
}

impl RunWriter {
    /// Creates `dir` and writes config.json.
    pub fn create(dir: &Path, model: &str, config: &serde_json::Value) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let text = serde_json::to_string_pretty(config).map_err(|e| Error::Config(format!("config: {e}")))?;
        write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())?;
        let _ = model;
        Ok(RunWriter { dir: dir.to_path_buf(), config: config.clone(), metrics: format!("{METRICS_HEADER}\n") })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one epoch and rewrites metrics.csv.
    pub fn append_metrics(&mut self, m: &EpochMetrics) -> Result<()> {
        let dispatches = m.dispatches_per_step.map(|d| format!("{d:.1}")).unwrap_or_default();
        let jacobian = m.jacobian_norm.map(|j| format!("{j:.5}")).unwrap_or_default();
        self.metrics.push_str(&format!(
            "{},{:.6},{:.6},{:.4},{:.3},{:.5},{},{:.2},{}\n",
            m.epoch,
            m.train_loss,
            m.test_loss,
            m.test_sse_per_image,
            m.seconds,
            m.mean_code,
            jacobian,
            m.steps_per_sec,
            dispatches
        ));
        write_atomic(&self.dir.join(METRICS_FILE), self.metrics.as_bytes())
    }

    /// Writes every parameter, with the run's config as metadata.
    pub fn save_model<B: Backend>(&self, backend: &B, params: &Params<B>) -> Result<()> {
        save_params(&self.dir.join(MODEL_FILE), backend, params, &self.config)
    }

    /// reconstructions.png: originals over reconstructions; with corruption also
    /// denoising.png: clean / corrupted / reconstructed.
    pub fn save_reconstructions(
        &self,
        originals: &[f32],
        corrupted: &[f32],
        recon: &[f32],
        noisy: bool,
        h: usize,
        w: usize,
    ) -> Result<()> {
        let n = originals.len() / (h * w);
        write_grid(&self.dir.join(RECONSTRUCTIONS_FILE), &[originals.to_vec(), recon.to_vec()], n, h, w, 2)?;
        if noisy {
            let rows = [originals.to_vec(), corrupted.to_vec(), recon.to_vec()];
            write_grid(&self.dir.join(DENOISING_FILE), &rows, n, h, w, 2)?;
        }
        Ok(())
    }
}

/// Saves parameters to a safetensors file (atomically), config as metadata.
pub fn save_params<B: Backend>(path: &Path, backend: &B, params: &Params<B>, config: &serde_json::Value) -> Result<()> {
    let mut ck = Checkpoint::new();
    for p in &params.list {
        ck.insert(p.name.clone(), p.value.shape.dims(), p.value.to_vec(backend)?)?;
    }
    ck.set_meta("config", config.to_string());
    ck.save(path)
}

/// Loads parameter values saved by [`save_params`] into `params` (names and shapes must match).
pub fn load_params<B: Backend>(path: &Path, backend: &B, params: &mut Params<B>) -> Result<()> {
    let ck = checkpoint::load(path)?;
    for p in &mut params.list {
        let data = ck.get_shaped(&p.name, p.value.shape.dims())?;
        p.value = crate::tensor::Tensor::from_slice(backend, p.value.shape.clone(), data, &p.name)?;
    }
    Ok(())
}

/// Reads a run's config.json.
pub fn read_config(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::data(&path, format!("not valid JSON: {e}")))
}
