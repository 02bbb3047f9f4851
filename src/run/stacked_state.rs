//! What a stacked run's checkpoint holds besides model.safetensors (the model of the phase
//! in progress) and optimizer.safetensors (its optimizer): which phase that is
//! ([`Stage`], in the optimizer state's metadata) and, in pretrained.safetensors, the
//! autoencoders of the layers already pretrained, from which `--resume` rebuilds the stack
//! and the codes the next layer learns from.

use super::checkpoint_state::SavedState;
use super::RunWriter;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::io::checkpoint::{self, Checkpoint};
use crate::nn::Params;
use crate::tensor::Tensor;
use std::path::Path;

pub const PRETRAINED_FILE: &str = "pretrained.safetensors";

/// The phase a stacked run's checkpoint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Greedy pretraining of layer `layer` (from 0): model.safetensors is its autoencoder.
    Pretrain { layer: usize },
    /// The supervised phase ("finetune" or "classifier"): model.safetensors is the classifier.
    Supervised,
}

impl Stage {
    /// The optimizer state's metadata naming this stage.
    pub fn meta(self) -> Vec<(&'static str, String)> {
        match self {
            Stage::Pretrain { layer } => vec![("phase", "pretrain".into()), ("layer", layer.to_string())],
            Stage::Supervised => vec![("phase", "supervised".into())],
        }
    }

    /// The stage a saved optimizer state belongs to.
    pub fn of(state: &SavedState) -> Result<Stage> {
        match state.meta("phase") {
            Some("pretrain") => Ok(Stage::Pretrain { layer: state.number("layer")? as usize }),
            Some("supervised") => Ok(Stage::Supervised),
            other => Err(Error::Checkpoint(format!(
                "{}: metadata 'phase' is {other:?}, expected \"pretrain\" or \"supervised\" (a stacked run's phase)",
                state.path().display()
            ))),
        }
    }
}

/// The name of a pretrained layer's parameter in pretrained.safetensors.
fn layer_name(layer: usize, name: &str) -> String {
    format!("layer{layer}.{name}")
}

/// Stages pretrained.safetensors holding every layer of `stack` (bottom first).
pub fn save_pretrained<B: Backend>(writer: &mut RunWriter, backend: &B, stack: &[&Params<B>]) -> Result<()> {
    let mut ck = Checkpoint::new();
    for (layer, params) in stack.iter().enumerate() {
        for p in &params.list {
            ck.insert(layer_name(layer, &p.name), p.value.shape.dims(), p.value.to_vec(backend)?)?;
        }
    }
    ck.set_meta("layers", stack.len().to_string());
    writer.put_file(PRETRAINED_FILE, &ck.to_bytes()?)
}

/// The pretrained layers saved in `dir`, to load with [`load_layer`].
pub fn open_pretrained(dir: &Path) -> Result<Checkpoint> {
    checkpoint::load(&dir.join(PRETRAINED_FILE))
}

/// Loads layer `layer` of `pretrained` into `params` (names and shapes must match; values finite).
pub fn load_layer<B: Backend>(
    pretrained: &Checkpoint,
    backend: &B,
    layer: usize,
    params: &mut Params<B>,
) -> Result<()> {
    for p in &mut params.list {
        let name = layer_name(layer, &p.name);
        let data = pretrained.get_shaped(&name, p.value.shape.dims())?;
        if let Some(v) = data.iter().find(|v| !v.is_finite()) {
            let file = pretrained.source().map(|p| p.display().to_string()).unwrap_or(PRETRAINED_FILE.into());
            return Err(Error::Checkpoint(format!(
                "{file}: tensor '{name}' holds {v}; refusing to load non-finite weights"
            )));
        }
        p.value = Tensor::from_slice(backend, p.value.shape.clone(), data, &p.name)?;
    }
    Ok(())
}
