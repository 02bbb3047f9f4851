//! `autoenc bench`: kernel timings, GFLOP/s, GB/s and roofline fractions.

use crate::backend::gpu::GpuBackend;
use crate::error::Result;

/// Times every GPU kernel at `sizes` (square matmul sizes; element counts scale with them).
pub fn run_gpu(gpu: &GpuBackend, sizes: &[usize], out: &mut dyn std::io::Write) -> Result<()> {
    let _ = (gpu, sizes);
    writeln!(out, "gpu bench: not written yet").map_err(|e| crate::error::Error::io("stdout", e))
}

/// Times every CPU kernel at `sizes`.
pub fn run_cpu(sizes: &[usize], out: &mut dyn std::io::Write) -> Result<()> {
    let _ = sizes;
    writeln!(out, "cpu bench: not written yet").map_err(|e| crate::error::Error::io("stdout", e))
}
