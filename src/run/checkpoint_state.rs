//! optimizer.safetensors: what `train --resume` needs besides the weights: the epoch the
//! checkpoint ends, the optimizer's step count and its buffers (SGD velocity, Adam m and
//! v), per parameter, and for runs of several phases (stacked) which phase it belongs to.
//! Shuffling and corruption are reseeded from (seed, epoch), so no RNG state needs saving.

use super::RunWriter;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::io::checkpoint::{self, Checkpoint};
use crate::nn::Params;
use crate::optim::{Optimizer, OptimizerState};
use crate::train::Resume;
use std::path::{Path, PathBuf};

pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

/// Stages the optimizer state after `epoch`.
pub fn save<B: Backend>(
    writer: &mut RunWriter,
    backend: &B,
    params: &Params<B>,
    epoch: usize,
    optimizer: &Optimizer<B>,
) -> Result<()> {
    save_with(writer, backend, params, epoch, optimizer, &[])
}

/// [`save`] with extra metadata (a stacked run's phase and layer).
pub fn save_with<B: Backend>(
    writer: &mut RunWriter,
    backend: &B,
    params: &Params<B>,
    epoch: usize,
    optimizer: &Optimizer<B>,
    meta: &[(&str, String)],
) -> Result<()> {
    let state = optimizer.snapshot(backend)?;
    let mut ck = Checkpoint::new();
    for (p, (first, second)) in params.list.iter().zip(state.buffers) {
        ck.insert(format!("{}.m", p.name), &[first.len()], first)?;
        if let Some(v) = second {
            ck.insert(format!("{}.v", p.name), &[v.len()], v)?;
        }
    }
    ck.set_meta("epoch", epoch.to_string());
    ck.set_meta("step", state.step.to_string());
    for (key, value) in meta {
        ck.set_meta(*key, value.clone());
    }
    writer.put_file(OPTIMIZER_FILE, &ck.to_bytes()?)
}

/// Reads the state saved in `dir` for `params`.
pub fn load<B: Backend>(dir: &Path, params: &Params<B>) -> Result<Resume> {
    SavedState::open(dir)?.resume(params)
}

/// optimizer.safetensors as read back: its metadata first (a stacked run's phase decides
/// which parameters the buffers belong to), then the buffers for those parameters.
pub struct SavedState {
    path: PathBuf,
    ck: Checkpoint,
}

impl SavedState {
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(OPTIMIZER_FILE);
        if !path.is_file() {
            return Err(Error::Checkpoint(format!(
                "{}: missing; this run was written without resumable state",
                path.display()
            )));
        }
        let ck = checkpoint::load(&path)?;
        Ok(SavedState { path, ck })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.ck.meta(key)
    }

    /// The metadata entry `key` as a number; an error naming the file if it is not one.
    pub fn number(&self, key: &str) -> Result<u64> {
        self.ck.meta(key).and_then(|v| v.parse().ok()).ok_or_else(|| {
            Error::Checkpoint(format!("{}: metadata '{key}' is missing or not a number", self.path.display()))
        })
    }

    /// The epoch the checkpoint ends (counted within its phase).
    pub fn epoch(&self) -> Result<usize> {
        Ok(self.number("epoch")? as usize)
    }

    /// Where training resumes, with the buffers of `params` (names and sizes must match).
    pub fn resume<B: Backend>(&self, params: &Params<B>) -> Result<Resume> {
        let path = &self.path;
        let (epoch, step) = (self.epoch()?, self.number("step")?);
        let mut buffers = Vec::new();
        for p in &params.list {
            let first = self.ck.get_shaped(&format!("{}.m", p.name), &[p.value.numel()])?.to_vec();
            let second = self.ck.tensors.get(&format!("{}.v", p.name)).map(|t| t.data.clone());
            if first.iter().chain(second.iter().flatten()).any(|v| !v.is_finite()) {
                return Err(Error::Checkpoint(format!(
                    "{}: non-finite optimizer state for '{}'",
                    path.display(),
                    p.name
                )));
            }
            buffers.push((first, second));
        }
        let step = u32::try_from(step)
            .map_err(|_| Error::Checkpoint(format!("{}: step {step} out of range", path.display())))?;
        Ok(Resume { epoch, optimizer: OptimizerState { step, buffers } })
    }
}
