//! `autoenc bench`: kernel timings, GFLOP/s, GB/s and roofline fractions.
//!
//! For each size `s`: matmul `s x s x s` (GFLOP/s; on the GPU both tile variants and the
//! automatic choice), and the memory-bound kernels over `s*s` elements (GB/s of the bytes
//! each kernel must move). Then conv2d and conv_transpose2d, forward and backward, at every
//! conv layer of the convolutional autoencoder at batch [`CONV_BATCH`] ([`ConvLayer`]: GFLOP/s
//! of the convolution's multiply-adds, not of the im2col copies). Rooflines are measured, not
//! quoted: bandwidth = the fastest buffer copy, compute = the fastest matmul of the run. GPU times come from timestamp
//! queries around the kernel's passes when the adapter has them, else from the host
//! clock around a synchronised submit; each figure is the mean of enough repetitions to
//! fill ~0.2 s (at most 100), after a warm-up run that also compiles the pipeline.

use crate::autodiff::ops::ConvParams;
use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::GpuBackend;
use crate::backend::prelude::*;
use crate::backend::{Activation, AdamParams, Backend, ConvGeom, Loss, MatmulDims};
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
type CopyFn<'a, B> = dyn Fn(&<B as Core>::Buf, &<B as Core>::Buf, usize) -> Result<()> + 'a;

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
    let best_flops = rows.iter().filter(|r| r.kernel.starts_with("matmul")).map(Measure::rate).fold(0.0, f64::max);
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
    rows.extend(conv_kernels(gpu, CONV_BATCH, &mut *timer)?);
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
    rows.extend(conv_kernels(&cpu, CONV_BATCH, &mut *timer)?);
    write_table(out, &rows)
}

// ---- conv layers ------------------------------------------------------------------------

/// The batch of the conv rows of `autoenc bench` (the conv autoencoder's training batch).
pub const CONV_BATCH: usize = 128;

/// One conv layer of the convolutional autoencoder (`models/conv.rs`), as the benches time it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvLayer {
    /// The layer's parameter name in the model (`encoder.1`, `decoder.2`, ...); the
    /// transposed decoder's layers are `decoderT.*`.
    pub name: &'static str,
    /// conv_transpose2d (weight `[in, out, k, k]`) instead of conv2d (weight `[out, in, k, k]`).
    pub transposed: bool,
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Input height = width.
    pub side: usize,
    /// Kernel height = width.
    pub kernel: usize,
    pub params: ConvParams,
}

impl ConvLayer {
    /// Output height = width.
    pub fn out_side(&self) -> usize {
        let (p, k) = (self.params, self.kernel);
        if self.transposed {
            (self.side - 1) * p.stride + p.dilation * (k - 1) + p.output_padding + 1 - 2 * p.padding
        } else {
            (self.side + 2 * p.padding - p.dilation * (k - 1) - 1) / p.stride + 1
        }
    }

    /// The im2col geometry the ops use: conv2d's own; for conv_transpose2d the conv that maps
    /// its output back onto its input (as `autodiff::ops::conv_transpose2d` builds it).
    pub fn geom(&self) -> ConvGeom {
        let (channels, side) =
            if self.transposed { (self.out_channels, self.out_side()) } else { (self.in_channels, self.side) };
        ConvGeom {
            batch: self.batch,
            channels,
            height: side,
            width: side,
            kernel_h: self.kernel,
            kernel_w: self.kernel,
            stride: self.params.stride,
            padding: self.params.padding,
            dilation: self.params.dilation,
        }
    }

    /// Useful FLOPs of the forward pass, 2 per multiply-add of the convolution sum:
    /// `2*N*OC*OH*OW*C*KH*KW` for conv2d, `2*N*CI*H*W*CO*KH*KW` for conv_transpose2d (every
    /// input pixel meets every tap of every output channel). Taps that land on padding are
    /// counted; the im2col / col2im copies, the axis swaps and the bias are not. The
    /// backward pass (input gradient + weight gradient) does twice this.
    pub fn flops(&self) -> f64 {
        let g = self.geom();
        let other = if self.transposed { self.in_channels } else { self.out_channels };
        2.0 * (g.col_rows() * g.col_cols() * other) as f64
    }

    /// `16->8 @14x14`: channels and input side.
    pub fn label(&self) -> String {
        format!("{}->{} @{}x{}", self.in_channels, self.out_channels, self.side, self.side)
    }
}

/// Every conv layer of the convolutional autoencoder at `batch`: the encoder, the upsample
/// decoder's convs, and the transposed decoder's `ConvTranspose2d` layers.
pub fn conv_ae_layers(batch: usize) -> Vec<ConvLayer> {
    let same = ConvParams { stride: 1, padding: 1, dilation: 1, output_padding: 0 };
    let valid = ConvParams { padding: 0, ..same };
    let up = |op| ConvParams { stride: 2, padding: 1, dilation: 1, output_padding: op };
    let layer = |name, transposed, in_channels, out_channels, side, params| ConvLayer {
        name,
        transposed,
        batch,
        in_channels,
        out_channels,
        side,
        kernel: 3,
        params,
    };
    vec![
        layer("encoder.0", false, 1, 16, 28, same),
        layer("encoder.1", false, 16, 8, 14, same),
        layer("encoder.2", false, 8, 8, 7, same),
        layer("decoder.0", false, 8, 8, 4, same),
        layer("decoder.1", false, 8, 8, 8, same),
        layer("decoder.2", false, 8, 16, 16, valid),
        layer("decoder.3", false, 16, 1, 28, same),
        layer("decoderT.0", true, 8, 8, 4, up(0)),
        layer("decoderT.1", true, 8, 8, 7, up(1)),
        layer("decoderT.2", true, 8, 16, 14, up(1)),
    ]
}

/// The buffers of one conv layer and its forward and backward passes, issued on the
/// [`Backend`] exactly as `autodiff::ops::conv2d` / `conv_transpose2d` issue them (tested
/// against the tape below), with every buffer allocated once, so that a bench times the
/// kernels and not the allocator. The backward pass computes all three gradients (the
/// network's first layer skips the input gradient in training, its input being constant).
pub struct ConvBench<B: Backend> {
    backend: B,
    pub layer: ConvLayer,
    geom: ConvGeom,
    pub x: B::Buf,
    pub w: B::Buf,
    pub b: B::Buf,
    pub y: B::Buf,
    /// The upstream gradient the backward pass reads.
    pub dy: B::Buf,
    pub dx: B::Buf,
    pub dw: B::Buf,
    pub db: B::Buf,
    /// `[C*KH*KW, N*P]`: conv2d's im2col of x, conv_transpose2d's matmul output.
    cols: B::Buf,
    /// `[C, N*P]`: conv2d's matmul output (`W·cols`), conv_transpose2d's swapped x.
    cn: B::Buf,
    /// The output before the bias.
    pre: B::Buf,
    dcols: B::Buf,
    /// conv2d's swapped dY, conv_transpose2d's `W·dcols`.
    dcn: B::Buf,
}

impl<B: Backend> ConvBench<B> {
    /// Allocates the buffers and fills x, W, b and dY with small deterministic values.
    pub fn new(backend: &B, layer: ConvLayer) -> Result<Self> {
        let geom = layer.geom();
        let (n, k2) = (layer.batch, layer.kernel * layer.kernel);
        let (ci, co) = (layer.in_channels, layer.out_channels);
        let (side, out_side) = (layer.side, layer.out_side());
        let (ck, np) = (geom.col_rows(), geom.col_cols());
        // conv2d's matmul output and conv_transpose2d's swapped input are both `[C, N*P]`
        // with C the channels on the un-im2col'ed side.
        let cn_rows = if layer.transposed { ci } else { co };
        let z = |len: usize, label: &str| backend.zeros(len, label);
        Ok(ConvBench {
            backend: backend.clone(),
            layer,
            geom,
            x: backend.upload(&ramp(n * ci * side * side, 2.0), "conv bench x")?,
            w: backend.upload(&ramp(ci * co * k2, 0.5), "conv bench W")?,
            b: backend.upload(&ramp(co, 0.1), "conv bench b")?,
            y: z(n * co * out_side * out_side, "conv bench y")?,
            dy: backend.upload(&ramp(n * co * out_side * out_side, 1.0), "conv bench dY")?,
            dx: z(n * ci * side * side, "conv bench dx")?,
            dw: z(ci * co * k2, "conv bench dW")?,
            db: z(co, "conv bench db")?,
            cols: z(ck * np, "conv bench cols")?,
            cn: z(cn_rows * np, "conv bench cn")?,
            pre: z(n * co * out_side * out_side, "conv bench pre-bias")?,
            dcols: z(ck * np, "conv bench dcols")?,
            dcn: z(cn_rows * np, "conv bench dcn")?,
        })
    }

    /// `y = conv(x, W) + b`.
    pub fn forward(&self) -> Result<()> {
        let (be, g, l) = (&self.backend, self.geom, &self.layer);
        let (ck, np, n) = (g.col_rows(), g.col_cols(), l.batch);
        if l.transposed {
            let (ci, co, pin) = (l.in_channels, l.out_channels, l.side * l.side);
            be.swap_leading_axes(&self.x, &self.cn, n, ci, pin)?;
            be.matmul(&self.w, &self.cn, &self.cols, MatmulDims::new(ck, ci, np).trans_a(true))?;
            be.col2im(&self.cols, &self.pre, g, false)?;
            be.bias_add(&self.pre, &self.b, &self.y, n, co, l.out_side() * l.out_side())
        } else {
            let (oc, pix) = (l.out_channels, g.out_h() * g.out_w());
            be.im2col(&self.x, &self.cols, g)?;
            be.matmul(&self.w, &self.cols, &self.cn, MatmulDims::new(oc, ck, np))?;
            be.swap_leading_axes(&self.cn, &self.pre, oc, n, pix)?;
            be.bias_add(&self.pre, &self.b, &self.y, n, oc, pix)
        }
    }

    /// dx, dW and db from dY (reads what [`ConvBench::forward`] left in the scratch buffers).
    pub fn backward(&self) -> Result<()> {
        let (be, g, l) = (&self.backend, self.geom, &self.layer);
        let (ck, np, n) = (g.col_rows(), g.col_cols(), l.batch);
        if l.transposed {
            let (ci, co, pin) = (l.in_channels, l.out_channels, l.side * l.side);
            be.im2col(&self.dy, &self.dcols, g)?;
            be.matmul(&self.w, &self.dcols, &self.dcn, MatmulDims::new(ci, ck, np))?;
            be.swap_leading_axes(&self.dcn, &self.dx, ci, n, pin)?;
            be.matmul(&self.cn, &self.dcols, &self.dw, MatmulDims::new(ci, np, ck).trans_b(true))?;
            be.bias_grad(&self.dy, &self.db, n, co, l.out_side() * l.out_side(), false)
        } else {
            let (oc, pix) = (l.out_channels, g.out_h() * g.out_w());
            be.swap_leading_axes(&self.dy, &self.dcn, n, oc, pix)?;
            be.matmul(&self.w, &self.dcn, &self.dcols, MatmulDims::new(ck, oc, np).trans_a(true))?;
            be.col2im(&self.dcols, &self.dx, g, false)?;
            be.matmul(&self.dcn, &self.cols, &self.dw, MatmulDims::new(oc, np, ck).trans_b(true))?;
            be.bias_grad(&self.dy, &self.db, n, oc, pix, false)
        }
    }
}

/// conv2d / conv_transpose2d forward and backward rows at every conv-AE layer.
fn conv_kernels<B: Backend>(b: &B, batch: usize, timer: &mut Timer) -> Result<Vec<Measure>> {
    let mut v = Vec::new();
    for layer in conv_ae_layers(batch) {
        let c = ConvBench::new(b, layer)?;
        let op = if layer.transposed { "convT" } else { "conv2d" };
        let flops = layer.flops();
        let secs = timer(&mut || c.forward())?;
        v.push(Measure {
            kernel: format!("{op} {} fwd", layer.name),
            size: layer.label(),
            secs,
            work: Work::Flops(flops),
        });
        let secs = timer(&mut || c.backward())?;
        v.push(Measure {
            kernel: format!("{op} {} bwd", layer.name),
            size: layer.label(),
            secs,
            work: Work::Flops(2.0 * flops),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{ops, Tape};
    use crate::tensor::Tensor;

    fn close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}]: bench {g} vs tape {w}");
        }
    }

    /// The bench issues the same kernels as the tape's conv ops: same y, dx, dW, db.
    #[test]
    fn conv_bench_matches_the_tape() -> Result<()> {
        let be = CpuBackend::new();
        for layer in conv_ae_layers(3) {
            let c = ConvBench::new(&be, layer)?;
            c.forward()?;
            c.backward()?;
            let (n, ci, co, k, s, os) =
                (layer.batch, layer.in_channels, layer.out_channels, layer.kernel, layer.side, layer.out_side());
            let wshape = if layer.transposed { [ci, co, k, k] } else { [co, ci, k, k] };
            let tape = Tape::new(&be);
            let x = tape.param(&Tensor::from_slice(&be, [n, ci, s, s], &be.download(&c.x)?, "x")?);
            let w = tape.param(&Tensor::from_slice(&be, wshape, &be.download(&c.w)?, "w")?);
            let b = tape.param(&Tensor::from_slice(&be, [co], &be.download(&c.b)?, "b")?);
            let dy = tape.constant(&Tensor::from_slice(&be, [n, co, os, os], &be.download(&c.dy)?, "dy")?);
            let y = if layer.transposed {
                ops::conv_transpose2d(&tape, x, w, b, layer.params)?
            } else {
                ops::conv2d(&tape, x, w, b, layer.params)?
            };
            // d(sum(y * dY))/dy = dY.
            let root = ops::sum_all(&tape, ops::mul(&tape, y, dy)?)?;
            tape.backward(root)?;
            let grad = |v| tape.grad(v).expect("gradient").to_vec(&be);
            let name = layer.name;
            close(&format!("{name} y"), &be.download(&c.y)?, &tape.value(y).to_vec(&be)?);
            close(&format!("{name} dx"), &be.download(&c.dx)?, &grad(x)?);
            close(&format!("{name} dW"), &be.download(&c.dw)?, &grad(w)?);
            close(&format!("{name} db"), &be.download(&c.db)?, &grad(b)?);
        }
        Ok(())
    }

    #[test]
    fn conv_layers_have_the_model_shapes() {
        let sides: Vec<(usize, usize)> = conv_ae_layers(128).iter().map(|l| (l.side, l.out_side())).collect();
        assert_eq!(sides, [(28, 28), (14, 14), (7, 7), (4, 4), (8, 8), (16, 14), (28, 28), (4, 7), (7, 14), (14, 28)]);
        // encoder.1: 2 * 128 * 8 * 14*14 * 16*3*3.
        assert_eq!(conv_ae_layers(128)[1].flops(), 2.0 * 128.0 * 8.0 * 196.0 * 144.0);
        // decoderT.2: 2 * 128 * 8 * 14*14 * 16*3*3 (input pixels x output channels x taps).
        assert_eq!(conv_ae_layers(128)[9].flops(), 2.0 * 128.0 * 8.0 * 196.0 * 16.0 * 9.0);
    }
}
