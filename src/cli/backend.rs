//! The one place that turns `--backend` (and `--adapter`) into a backend.

use autoenc::backend::gpu::GpuBackend;
use autoenc::backend::prelude::*;
use autoenc::{CpuBackend, Result};
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Cpu,
    Gpu,
}

/// `--backend` and `--adapter`, flattened into every command that computes.
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    /// GPU adapter name substring (also AUTOENC_ADAPTER).
    #[arg(long)]
    pub adapter: Option<String>,
}

/// Work generic over the backend, run by [`BackendArgs::run`] on the chosen one.
pub trait OnBackend {
    type Output;
    fn run<B: Backend>(self, backend: &B) -> Result<Self::Output>;
}

impl BackendArgs {
    /// Creates the chosen backend and runs `job` on it.
    pub fn run<J: OnBackend>(&self, job: J) -> Result<J::Output> {
        match self.backend {
            BackendChoice::Cpu => job.run(&CpuBackend::new()),
            BackendChoice::Gpu => job.run(&open_gpu(self.adapter.as_deref())?),
        }
    }
}

/// The GPU backend on the adapter whose name contains `adapter` (or `AUTOENC_ADAPTER`), for
/// the commands that need the GPU itself rather than a choice (validate, bench, info).
pub fn open_gpu(adapter: Option<&str>) -> Result<GpuBackend> {
    GpuBackend::new(adapter)
}
