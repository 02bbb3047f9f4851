//! `autoenc bench`: kernel timings, GFLOP/s, GB/s and roofline fractions.
//!
//! For each size `s`: matmul `s x s x s` (GFLOP/s; on the GPU both tile variants and the
//! automatic choice), and the memory-bound kernels over `s*s` elements (GB/s of the bytes
//! each kernel must move). Rooflines are measured, not quoted: bandwidth = the fastest
//! buffer copy, compute = the fastest matmul of the run. GPU times come from timestamp
//! queries around the kernel's passes when the adapter has them, else from the host
//! clock around a synchronised submit; each figure is the mean of enough repetitions to
//! fill ~0.2 s (at most 100), after a warm-up run that also compiles the pipeline.

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::GpuBackend;
use crate::backend::{Activation, AdamParams, Backend, Loss, MatmulDims};
use crate::error::{Error, Result};
use std::io::Write;
use std::time::Instant;

/// What a kernel run does: floating-point operations or bytes moved.
#[derive(Clone, Copy, Debug)]
enum Work {
    Flops(f64),
    Bytes(f64),
}

/// One measured kernel.
#[derive(Clone, Debug)]
struct Measure {
    kernel: String,
    size: String,
    secs: f64,
    work: Work,
}

impl Measure {
    /// GFLOP/s or GB/s.
    fn rate(&self) -> f64 {
        match self.work {
            Work::Flops(f) | Work::Bytes(f) => f / self.secs / 1e9,
        }
    }
}

/// Seconds per repetition of an op that records / runs one repetition per call.
type Timer<'a> = dyn FnMut(&mut dyn FnMut() -> Result<()>) -> Result<f64> + 'a;

const TARGET_SECS: f64 = 0.2;
const MAX_REPS: usize = 100;

fn reps_for(once: f64) -> usize {
    ((TARGET_SECS / once.max(1e-9)) as usize).clamp(1, MAX_REPS)
}

fn io(e: std::io::Error) -> Error {
    Error::io("bench output", e)
}

/// Times `op` on the GPU: device timestamps when available, else the host clock around a
/// flush and a 1-element download (which waits for the queue).
fn gpu_timer<'a>(gpu: &'a GpuBackend) -> Result<Box<Timer<'a>>> {
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

fn cpu_timer<'a>() -> Box<Timer<'a>> {
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

fn ramp(len: usize, k: f32) -> Vec<f32> {
    (0..len).map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * k).collect()
}

/// Copies the first `len` values of one buffer into another (the bandwidth probe).
type CopyFn<'a, B> = dyn Fn(&<B as Backend>::Buf, &<B as Backend>::Buf, usize) -> Result<()> + 'a;

/// Memory-bound kernels over `s*s` elements; `copy` runs the copy that sets the
/// bandwidth roofline.
fn memory_kernels<B: Backend>(b: &B, s: usize, timer: &mut Timer, copy: &CopyFn<B>) -> Result<Vec<Measure>> {
    let len = s * s;
    let f = 4.0 * len as f64; // bytes of one f32 pass over the data
    let x = b.upload(&ramp(len, 2.0), "bench x")?;
    let y = b.upload(&ramp(len, 0.5), "bench y")?;
    let z = b.upload(&ramp(len, 1.0), "bench z")?;
    let w = b.upload(&ramp(len, 0.1), "bench w")?;
    let out = b.zeros(len, "bench out")?;
    let scalar = b.upload(&[1.0], "bench scalar")?;
    let bias = b.upload(&ramp(s, 1.0), "bench bias")?;
    let size = format!("{len}");
    let mut v = Vec::new();
    let mut m = |name: &str, bytes: f64, op: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let secs = timer(op)?;
        v.push(Measure { kernel: name.into(), size: size.clone(), secs, work: Work::Bytes(bytes) });
        Ok(())
    };
    m("copy", 2.0 * f, &mut || copy(&x, &out, len))?;
    m("add", 3.0 * f, &mut || b.add(&x, &y, &out, len))?;
    m("axpy", 3.0 * f, &mut || b.axpy(0.5, &x, &out, len))?;
    m("scale", 2.0 * f, &mut || b.scale(&x, 0.5, &out, len))?;
    m("sum_all", f, &mut || b.sum_all(&x, &scalar, len))?;
    m("bias_add", 2.0 * f, &mut || b.bias_add(&x, &bias, &out, s, s, 1))?;
    m("bias_grad", f, &mut || b.bias_grad(&x, &bias, s, s, 1, false))?;
    m("sigmoid fwd", 2.0 * f, &mut || b.activation_forward(Activation::Sigmoid, &x, &out, len))?;
    m("sigmoid bwd", 3.0 * f, &mut || b.activation_backward(Activation::Sigmoid, &x, &y, &z, &out, len))?;
    m("relu bwd", 3.0 * f, &mut || b.activation_backward(Activation::Relu, &x, &y, &z, &out, len))?;
    m("mse fwd", 2.0 * f, &mut || b.loss_forward(Loss::Mse, &x, &y, &scalar, s, s))?;
    m("bce bwd", 3.0 * f, &mut || b.loss_backward(Loss::Bce, &y, &z, &scalar, &out, s, s))?;
    let adam = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 1 };
    // Adam reads param, grad, m, v and writes param, m, v.
    m("adam", 7.0 * f, &mut || b.adam_update(&out, &x, &z, &w, len, adam))?;
    Ok(v)
}

fn write_table(out: &mut dyn Write, rows: &[Measure]) -> Result<()> {
    let best_flops = rows.iter().filter(|r| matches!(r.work, Work::Flops(_))).map(Measure::rate).fold(0.0, f64::max);
    let best_bw = rows.iter().filter(|r| r.kernel == "copy").map(Measure::rate).fold(0.0, f64::max);
    writeln!(out, "{:<22} {:>12} {:>12} {:>12} {:>9}", "kernel", "size", "time", "rate", "roofline").map_err(io)?;
    for r in rows {
        let (unit, roof) = match r.work {
            Work::Flops(_) => ("GFLOP/s", best_flops),
            Work::Bytes(_) => ("GB/s", best_bw),
        };
        let frac = if roof > 0.0 { format!("{:.0}%", 100.0 * r.rate() / roof) } else { "-".into() };
        let time = if r.secs >= 1e-3 { format!("{:.3} ms", r.secs * 1e3) } else { format!("{:.1} us", r.secs * 1e6) };
        writeln!(out, "{:<22} {:>12} {:>12} {:>8.2} {:<7} {:>5}", r.kernel, r.size, time, r.rate(), unit, frac)
            .map_err(io)?;
    }
    writeln!(
        out,
        "rooflines (measured): compute {best_flops:.2} GFLOP/s (best matmul), bandwidth {best_bw:.2} GB/s (copy)"
    )
    .map_err(io)
}

fn default_sizes(software: bool, sizes: &[usize]) -> Vec<usize> {
    if !sizes.is_empty() {
        sizes.to_vec()
    } else if software {
        vec![64, 128, 256] // lavapipe: ~1 GFLOP/s
    } else {
        vec![256, 1024, 2048, 4096]
    }
}

/// Times every GPU kernel at `sizes` (square matmul edges; memory-bound kernels over
/// `size^2` elements). Empty `sizes`: a default fitting the adapter.
pub fn run_gpu(gpu: &GpuBackend, sizes: &[usize], out: &mut dyn Write) -> Result<()> {
    let sizes = default_sizes(gpu.is_software(), sizes);
    let timing = if gpu.has_timestamps() { "timestamp queries" } else { "host clock (no timestamp queries)" };
    writeln!(out, "bench: {} ({timing})", gpu.describe()).map_err(io)?;
    let mut timer = gpu_timer(gpu)?;
    let mut rows = Vec::new();
    for &s in &sizes {
        let a = gpu.upload(&ramp(s * s, 1.0), "bench A")?;
        let b = gpu.upload(&ramp(s * s, 0.5), "bench B")?;
        let c = gpu.zeros(s * s, "bench C")?;
        let d = MatmulDims::new(s, s, s);
        for tile in [64, 128] {
            let secs = timer(&mut || gpu.matmul_with_tile(&a, &b, &c, d, tile))?;
            let kernel = format!("matmul t{tile}{}", if gpu.matmul_tile_for(&d) == tile { " (auto)" } else { "" });
            rows.push(Measure { kernel, size: format!("{s}^3"), secs, work: Work::Flops(d.flops()) });
        }
        let dt = d.trans_a(true);
        let secs = timer(&mut || gpu.matmul(&a, &b, &c, dt))?;
        rows.push(Measure { kernel: "matmul tA".into(), size: format!("{s}^3"), secs, work: Work::Flops(d.flops()) });
        // A vec4 compute copy: timestamps see passes only (len rounded down to vec4s).
        let copy =
            |x: &crate::backend::gpu::GpuBuf, y: &crate::backend::gpu::GpuBuf, len: usize| gpu.copy_vec4(x, y, len / 4);
        rows.extend(memory_kernels(gpu, s, &mut *timer, &copy)?);
    }
    write_table(out, &rows)
}

/// Times every CPU kernel at `sizes` (host clock).
pub fn run_cpu(sizes: &[usize], out: &mut dyn Write) -> Result<()> {
    let cpu = CpuBackend::new();
    let sizes = default_sizes(false, sizes);
    writeln!(out, "bench: {}", cpu.describe()).map_err(io)?;
    let mut timer = cpu_timer();
    let mut rows = Vec::new();
    for &s in &sizes {
        let a = cpu.upload(&ramp(s * s, 1.0), "A")?;
        let b = cpu.upload(&ramp(s * s, 0.5), "B")?;
        let c = cpu.zeros(s * s, "C")?;
        let d = MatmulDims::new(s, s, s);
        let secs = timer(&mut || cpu.matmul(&a, &b, &c, d))?;
        rows.push(Measure { kernel: "matmul".into(), size: format!("{s}^3"), secs, work: Work::Flops(d.flops()) });
        rows.extend(memory_kernels(&cpu, s, &mut *timer, &|x, y, _| cpu.copy(x, y))?);
    }
    write_table(out, &rows)
}
