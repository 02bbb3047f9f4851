//! Timing a kernel: the mean of enough repetitions to fill ~0.2 s (at most 100) after a
//! warm-up run, on the GPU from timestamp queries when the adapter has them.

use crate::backend::gpu::GpuBackend;
use crate::backend::prelude::*;
use crate::error::Result;
use std::time::Instant;

/// Seconds per repetition of an op that records / runs one repetition per call.
pub(super) type Timer<'a> = dyn FnMut(&mut dyn FnMut() -> Result<()>) -> Result<f64> + 'a;

const TARGET_SECS: f64 = 0.2;
const MAX_REPS: usize = 100;

fn reps_for(once: f64) -> usize {
    ((TARGET_SECS / once.max(1e-9)) as usize).clamp(1, MAX_REPS)
}

/// Times `op` on the GPU: device timestamps when available, else the host clock around a
/// flush and a 1-element download (which waits for the queue).
pub(super) fn gpu_timer<'a>(gpu: &'a GpuBackend) -> Result<Box<Timer<'a>>> {
    let sync = gpu.zeros(1, "bench sync")?;
    Ok(Box::new(move |op: &mut dyn FnMut() -> Result<()>| {
        let mut run = |reps: usize| -> Result<f64> {
            let t0 = Instant::now();
            let dev = gpu.time_gpu(|| (0..reps).try_for_each(|_| op()))?;
            gpu.download(&sync)?;
            Ok(dev.unwrap_or_else(|| t0.elapsed().as_secs_f64()))
        };
        run(1)?; // warm-up: pipeline compile, pool fill
        let once = run(1)?;
        let reps = reps_for(once);
        Ok(run(reps)? / reps as f64)
    }))
}

pub(super) fn cpu_timer<'a>() -> Box<Timer<'a>> {
    Box::new(|op: &mut dyn FnMut() -> Result<()>| {
        op()?;
        let t0 = Instant::now();
        op()?;
        let reps = reps_for(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        (0..reps).try_for_each(|_| op())?;
        Ok(t0.elapsed().as_secs_f64() / reps as f64)
    })
}
