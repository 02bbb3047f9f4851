//! [`RunSpec`]: the one description of a run (the model and how it was trained), written
//! to config.json and into the checkpoint's metadata, and read back from both.
//!
//! The field names are config.json's keys, unchanged since the first runs, so existing run
//! directories keep loading; keys a model does not use are left out.

use crate::data::noise::Noise;
use crate::error::{Error, Result};
use crate::optim::OptimizerKind;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// The model and the training of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// "ae", "linear", "sparse", "denoising", "contractive", "conv", "vae" or "stacked".
    pub model: String,
    /// The dataset's name ("bundled-mnist", ...).
    pub dataset: String,
    /// The --dataset value it was loaded from (what `reconstruct` loads by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_spec: Option<String>,
    pub backend: String,
    pub device: String,
    #[serde(flatten)]
    pub training: TrainingSpec,
    #[serde(flatten)]
    pub arch: Architecture,
}

/// How the model was trained (for a stacked run: its pretraining phases).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSpec {
    /// Absent for stacked runs, which count pretraining and fine-tuning epochs instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    pub batch_size: usize,
    pub lr: f32,
    pub lr_decay: f32,
    /// "adam" or "sgd".
    pub optimizer: String,
    #[serde(default = "default_momentum")]
    pub momentum: f32,
    #[serde(default)]
    pub weight_decay: f32,
    /// The reconstruction loss, "mse" or "bce".
    pub loss: String,
    pub seed: u64,
    /// The input corruption, as `Noise` prints it ("none", "masking:0.25", ...).
    pub noise: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rho: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f32>,
    /// The contractive penalty weight (0 = off).
    #[serde(default)]
    pub lambda: f32,
    /// `--validation`: the last N training images held out and scored instead of the test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// `--limit-train` / `--limit-test`, so `train --resume` trains on the same examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_train: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_test: Option<usize>,
}

fn default_momentum() -> f32 {
    0.9
}

fn no_noise() -> String {
    "none".into()
}

fn default_decoder() -> String {
    "upsample".into()
}

/// The architecture, by family. Told apart by their keys: `encoder` (variational),
/// `hidden`/`code` (dense), `layers` (stacked), anything else is the conv model
/// (`decoder` defaults to upsample, as in runs written before it was recorded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Architecture {
    /// The variational autoencoder (src/models/vae.rs); first, as its `encoder` key is
    /// what sets it apart from the dense family's keys.
    Variational {
        encoder: String,
        hidden: Vec<usize>,
        code: usize,
    },
    Dense {
        hidden: Vec<usize>,
        code: usize,
        activation: String,
        code_activation: String,
        output_activation: String,
    },
    Stacked {
        layers: Vec<usize>,
        pretrain: String,
        pretrain_epochs: usize,
        finetune_epochs: usize,
        finetune_lr: f32,
        classifier_only: bool,
        /// The corruption of the supervised phase's training inputs ("none" in runs written
        /// before it was recorded).
        #[serde(default = "no_noise")]
        finetune_noise: String,
        /// The supervised phase's optimizer (absent in runs written before it was recorded:
        /// then the pretraining's, `training.optimizer`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finetune_optimizer: Option<String>,
    },
    Conv {
        #[serde(default = "default_decoder")]
        decoder: String,
    },
}

impl TrainingSpec {
    /// The loop's configuration for this training (`check_every` and `progress` are not
    /// part of a run's description: they change nothing it computes).
    pub fn train_config(&self, check_every: usize, progress: bool) -> Result<TrainConfig> {
        Ok(TrainConfig {
            epochs: self.epochs.unwrap_or(0),
            batch_size: self.batch_size,
            lr: self.lr,
            lr_decay: self.lr_decay,
            optimizer: OptimizerKind::parse(&self.optimizer, self.momentum)?,
            weight_decay: self.weight_decay,
            seed: self.seed,
            noise: Noise::parse(&self.noise)?,
            check_every,
            progress,
        })
    }
}

impl RunSpec {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Config(format!("config: {e}")))
    }

    /// Parses a spec and checks it describes a model this build knows; `source` names the
    /// file in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Self> {
        let spec: RunSpec = serde_json::from_str(text)
            .map_err(|e| Error::Checkpoint(format!("{source}: not a valid run config ({e})")))?;
        spec.validate().map_err(|why| Error::Checkpoint(format!("{source}: {why}")))?;
        Ok(spec)
    }

    /// The model is known and its keys are those of its family, with sizes in range.
    fn validate(&self) -> std::result::Result<(), String> {
        const DENSE: [&str; 5] = ["ae", "linear", "sparse", "denoising", "contractive"];
        let family_ok = match (&self.arch, self.model.as_str()) {
            (Architecture::Dense { .. }, m) => DENSE.contains(&m),
            (Architecture::Stacked { .. }, m) => m == "stacked",
            (Architecture::Conv { .. }, m) => m == "conv",
            (Architecture::Variational { .. }, m) => m == "vae",
        };
        if !DENSE.contains(&self.model.as_str()) && !["conv", "stacked", "vae"].contains(&self.model.as_str()) {
            return Err(format!(
                "unknown model '{}' (expected ae, linear, sparse, denoising, contractive, conv, vae or stacked)",
                self.model
            ));
        }
        if !family_ok {
            return Err(format!(
                "model '{}' needs its own keys (dense: hidden, code, activation, code_activation, \
                 output_activation with non-negative sizes; stacked: layers, ...); they are missing or malformed",
                self.model
            ));
        }
        let sizes: Vec<usize> = match &self.arch {
            Architecture::Dense { hidden, code, .. } => hidden.iter().chain([code]).copied().collect(),
            Architecture::Stacked { layers, .. } => layers.clone(),
            Architecture::Conv { .. } => Vec::new(),
            Architecture::Variational { hidden, code, .. } => hidden.iter().chain([code]).copied().collect(),
        };
        if let Some(bad) = sizes.iter().find(|&&w| w == 0 || w > 1 << 24) {
            return Err(format!("layer size {bad} is out of range [1, {}]", 1 << 24));
        }
        let t = &self.training;
        if t.batch_size == 0 {
            return Err("batch_size must be at least 1".into());
        }
        for (key, v) in [
            ("lr", t.lr),
            ("lr_decay", t.lr_decay),
            ("momentum", t.momentum),
            ("weight_decay", t.weight_decay),
            ("lambda", t.lambda),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{key} must be a finite non-negative number, got {v}"));
            }
        }
        Ok(())
    }
}
