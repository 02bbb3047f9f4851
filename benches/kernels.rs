//! Criterion benches of the kernels: `cargo bench --bench kernels [-- FILTER]`.
//!
//! Each group is one function listed in `criterion_group!` below; add new ones (elementwise,
//! ...) the same way: `matmul` (the CPU kernel's SIMD levels), `conv` (the conv-AE layers on
//! the CPU backend), `gpu` (the main GPU kernels beside their CPU twins; skipped without an
//! adapter). Groups set `Throughput::Elements(flops)` (or bytes), so the "thrpt" criterion
//! prints in elem/s reads directly as FLOP/s (or B/s).
//!
//! `AUTOENC_BENCH_CLOCK=cpu` times single-threaded runs with the thread's CPU clock instead of
//! the wall clock, so that other work on a shared machine does not distort them (see [`run`]).

use autoenc::backend::gpu::{GpuBackend, GpuBuf};
use autoenc::backend::prelude::*;
use autoenc::tools::bench::{conv_ae_layers, ConvBench, ConvLayer, CONV_BATCH};
use autoenc::CpuBackend;
use autoenc_kernels::matmul::{matmul_with, MatmulDims};
use autoenc_kernels::simd::{available_levels, threads};
use autoenc_kernels::SimdLevel;
use criterion::{criterion_group, criterion_main, Bencher, BenchmarkId, Criterion, SamplingMode, Throughput};
use std::cmp::Ordering;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Short runs: the whole bench should take a few minutes, not half an hour.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// Times `f` with the wall clock, or with this thread's CPU clock under `AUTOENC_BENCH_CLOCK=cpu`
/// (Linux, and only when the kernels run on this thread: `AUTOENC_THREADS=1`; the CPU time of
/// worker threads would not be counted).
fn run(bench: &mut Bencher, mut f: impl FnMut()) {
    if std::env::var("AUTOENC_BENCH_CLOCK").is_ok_and(|v| v == "cpu") {
        assert_eq!(threads(), 1, "AUTOENC_BENCH_CLOCK=cpu needs AUTOENC_THREADS=1");
        bench.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                f();
            }
            thread_cpu_time() - start
        });
    } else {
        bench.iter(f);
    }
}

#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: libc's clock_gettime (std links libc on Linux) writes one `struct timespec`, which
    // is two 64-bit fields on 64-bit Linux, into the valid local `ts`.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Duration {
    panic!("AUTOENC_BENCH_CLOCK=cpu is only implemented on Linux")
}

/// Deterministic, well-scaled inputs (no denormals, no growth).
fn filled(len: usize) -> Vec<f32> {
    (0..len).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect()
}

/// The MLP autoencoder 784-256-784 at batch 256, as the engine's `linear` issues it:
/// forward `x W^T` (W stored `[out, in]`), backward `dx = dy W`, `dW = dy^T x`.
fn autoencoder_shapes() -> Vec<(&'static str, MatmulDims)> {
    let (batch, input, code) = (256, 784, 256);
    vec![
        ("enc_fwd", MatmulDims::new(batch, input, code).trans_b(true)),
        ("dec_fwd", MatmulDims::new(batch, code, input).trans_b(true)),
        ("dec_dx", MatmulDims::new(batch, input, code)),
        ("dec_dw", MatmulDims::new(input, batch, code).trans_a(true)),
        ("enc_dx", MatmulDims::new(batch, code, input)),
        ("enc_dw", MatmulDims::new(code, batch, input).trans_a(true)),
    ]
}

/// Scalar (the triple-loop specification) against the best SIMD level, square and at the
/// autoencoder's shapes. The SIMD levels use `AUTOENC_THREADS` (default: all cores) threads.
fn matmul(c: &mut Criterion) {
    let best = *available_levels().last().unwrap_or(&SimdLevel::Scalar);
    eprintln!("matmul: best level {}, {} thread(s)", best.name(), threads());
    let mut shapes: Vec<(String, MatmulDims)> =
        [128, 256, 512, 1024].iter().map(|&s| (format!("{s}x{s}x{s}"), MatmulDims::new(s, s, s))).collect();
    for (name, d) in autoencoder_shapes() {
        let flags = match (d.trans_a, d.trans_b) {
            (true, _) => "_tA",
            (_, true) => "_tB",
            _ => "",
        };
        shapes.push((format!("{name}_{}x{}x{}{flags}", d.m, d.k, d.n), d));
    }

    let mut group = c.benchmark_group("matmul");
    for (name, d) in shapes {
        let (a, b, mut out) = (filled(d.a_len()), filled(d.b_len()), vec![0.0f32; d.c_len()]);
        group.throughput(Throughput::Elements(d.flops() as u64));
        // Scalar only up to 512^3 (it runs at a few GFLOP/s); at 512^3 every level, to compare.
        let cube = d.m * d.k * d.n;
        let mut levels = match cube.cmp(&(512 * 512 * 512)) {
            Ordering::Less => vec![SimdLevel::Scalar, best],
            Ordering::Equal => available_levels(),
            Ordering::Greater => vec![best],
        };
        levels.dedup();
        for level in levels {
            group.bench_with_input(BenchmarkId::new(&name, level.name()), &d, |bench, &d| {
                run(bench, || matmul_with(level, black_box(&a), black_box(&b), black_box(&mut out), d))
            });
        }
    }
    group.finish();
}

/// `conv2d_encoder.1_16to8_14x14`: op, layer name, channels and input side.
fn conv_name(layer: &ConvLayer) -> String {
    let op = if layer.transposed { "conv_transpose2d" } else { "conv2d" };
    let (c, o, s) = (layer.in_channels, layer.out_channels, layer.side);
    format!("{op}_{}_{c}to{o}_{s}x{s}", layer.name)
}

/// conv2d and conv_transpose2d at every conv layer of the conv autoencoder at batch 128 on the
/// CPU backend, forward (`fwd`: im2col + matmul + swap + bias, or swap + matmul + col2im + bias
/// for the transposed conv) and backward (`bwd`: input, weight and bias gradients), issued on
/// the `Backend` exactly as `autodiff::ops` issues them (`autoenc::tools::bench::ConvBench`, tested
/// against the tape). Throughput = the convolution's useful FLOPs, 2 per multiply-add
/// (`ConvLayer::flops`; backward = 2x forward), not the im2col copies.
fn conv(c: &mut Criterion) {
    let cpu = CpuBackend::new();
    eprintln!("conv: {}, batch {CONV_BATCH}", cpu.describe());
    let mut group = c.benchmark_group("conv");
    for layer in conv_ae_layers(CONV_BATCH) {
        let bench = ConvBench::new(&cpu, layer).expect("conv bench buffers");
        bench.forward().expect("conv forward"); // the backward pass reads its scratch buffers
        let name = conv_name(&layer);
        group.throughput(Throughput::Elements(layer.flops() as u64));
        group.bench_function(BenchmarkId::new(&name, "fwd"), |b| run(b, || bench.forward().expect("conv forward")));
        group.throughput(Throughput::Elements(2 * layer.flops() as u64));
        group.bench_function(BenchmarkId::new(&name, "bwd"), |b| run(b, || bench.backward().expect("conv backward")));
    }
    group.finish();
}

/// Times GPU work: the device time between the first and last timed pass from timestamp
/// queries when the adapter has them, else the host clock around the recording, a flush and a
/// 1-element download (which waits for the queue), as `autoenc bench` does.
fn run_gpu(bench: &mut Bencher, gpu: &GpuBackend, sync: &GpuBuf, mut f: impl FnMut()) {
    bench.iter_custom(|iters| {
        let t0 = Instant::now();
        let device = gpu
            .time_gpu(|| {
                (0..iters).for_each(|_| f());
                Ok(())
            })
            .expect("gpu timing");
        gpu.download(sync).expect("gpu sync");
        device.map_or_else(|| t0.elapsed(), Duration::from_secs_f64)
    });
}

/// One matmul on `be` with deterministic inputs.
fn matmul_op<B: Backend>(be: &B, d: MatmulDims) -> impl FnMut() + '_ {
    let a = be.upload(&filled(d.a_len()), "bench A").expect("upload");
    let b = be.upload(&filled(d.b_len()), "bench B").expect("upload");
    let c = be.zeros(d.c_len(), "bench C").expect("alloc");
    move || be.matmul(&a, &b, &c, d).expect("matmul")
}

/// `out = x + y` over `len` elements on `be`.
fn add_op<B: Backend>(be: &B, len: usize) -> impl FnMut() + '_ {
    let x = be.upload(&filled(len), "bench x").expect("upload");
    let y = be.upload(&filled(len), "bench y").expect("upload");
    let out = be.zeros(len, "bench out").expect("alloc");
    move || be.add(&x, &y, &out, len).expect("add")
}

/// A kernel call on preallocated buffers: its name, the bytes it must move (for GB/s) and
/// the call itself.
type KernelCall<'a> = (&'static str, u64, Box<dyn FnMut() + 'a>);

/// Every other kernel family of the `Backend` trait at one moderate size, built the same
/// way on any backend so the CPU and GPU rows time identical work. Sizes: 2^18-element
/// vectors (a 256 x 1024 batch), the conv AE's encoder.1 geometry at batch 16, a 256 x 256
/// contractive encoder over 784 inputs.
fn kernel_calls<B: Backend>(be: &B) -> Vec<KernelCall<'_>> {
    use autoenc::backend::{Activation, AdamParams, ConvGeom, Loss, PoolGeom, SgdParams, UpsampleGeom};
    let (rows, cols) = (256, 1024);
    let len = rows * cols;
    let buf = |n: usize| be.upload(&filled(n), "bench buffer").expect("upload");
    let (x, y, dy, out, out2) = (buf(len), buf(len), buf(len), buf(len), buf(len));
    let (probs, bias, scalar) = (be.upload(&vec![0.25; len], "bench p").expect("upload"), buf(cols), buf(1));
    let f4 = 4u64 * len as u64;
    let conv = ConvGeom::square(16, 16, 14, 14, (3, 3), 1, 1, 1);
    let (img, cols_len) = (conv.image_len(), conv.col_rows() * conv.col_cols());
    let (image, image2, colbuf) = (buf(img), buf(img), buf(cols_len));
    let pool =
        PoolGeom { batch: 16, channels: 16, height: 28, width: 28, kernel: 2, stride: 2, padding: 0, ceil_mode: false };
    let up = UpsampleGeom { batch: 16, channels: 16, height: 14, width: 14, scale: 2 };
    let (pin, pout) = (buf(pool.in_len()), buf(pool.out_len_total()));
    let (pin2, argmax) = (buf(pool.in_len()), be.zeros(pool.out_len_total(), "bench argmax").expect("alloc"));
    be.max_pool2d(&pin, &pout, &argmax, pool).expect("max_pool2d"); // valid argmax for the backward
    let (uin, uout) = (buf(up.in_len()), buf(up.out_len()));
    let (ch, ci) = (256, 784);
    let (z, w, dz, dw) = (buf(rows * ch), buf(ch * ci), buf(rows * ch), buf(ch * ci));
    let (p, g, m, v) = (buf(len), buf(len), buf(len), be.upload(&vec![1e-3; len], "bench v").expect("upload"));
    let adam = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 1 };
    let sgd = SgdParams { lr: 1e-3, momentum: 0.9, weight_decay: 0.0 };
    let (pu, cu) = (pool.in_len() as u64 * 4, conv.col_rows() as u64 * conv.col_cols() as u64 * 4);
    vec![
        ("sigmoid_fwd", 2 * f4, {
            let (x, o) = (x.clone(), out.clone());
            Box::new(move || be.activation_forward(Activation::Sigmoid, &x, &o, len).expect("op"))
        }),
        ("sigmoid_bwd", 4 * f4, {
            let (x, y, dy, out) = (x.clone(), y.clone(), dy.clone(), out2.clone());
            Box::new(move || be.activation_backward(Activation::Sigmoid, &x, &y, &dy, &out, len).expect("op"))
        }),
        ("bias_relu_fwd", 3 * f4, {
            let (x, b, z, o) = (y.clone(), bias.clone(), dy.clone(), out2.clone());
            Box::new(move || be.bias_activation(Activation::Relu, &x, &b, &z, &o, rows, cols, 1).expect("op"))
        }),
        ("bias_grad", f4, {
            let (d, b) = (dy.clone(), bias.clone());
            Box::new(move || be.bias_grad(&d, &b, rows, cols, 1, false).expect("op"))
        }),
        ("sum_all", f4, {
            let (x, s) = (y.clone(), scalar.clone());
            Box::new(move || be.sum_all(&x, &s, len).expect("op"))
        }),
        ("bce_logits_fwd", 2 * f4, {
            let (x, t, s) = (y.clone(), probs.clone(), scalar.clone());
            Box::new(move || be.loss_forward(Loss::BceWithLogits, &x, &t, &s, rows, cols).expect("op"))
        }),
        ("bce_logits_bwd", 3 * f4, {
            let (x, t, s, o) = (y.clone(), probs.clone(), scalar.clone(), out2.clone());
            Box::new(move || be.loss_backward(Loss::BceWithLogits, &x, &t, &s, &o, rows, cols).expect("op"))
        }),
        ("adam", 7 * f4, Box::new(move || be.adam_update(&p, &g, &m, &v, len, adam).expect("op"))),
        ("sgd", 5 * f4, {
            let (p, g, m) = (buf(len), dy.clone(), buf(len));
            Box::new(move || be.sgd_update(&p, &g, &m, len, sgd).expect("op"))
        }),
        ("im2col_16ch_14x14_b16", cu + 4 * img as u64, {
            let (i, c) = (image.clone(), colbuf.clone());
            Box::new(move || be.im2col(&i, &c, conv).expect("op"))
        }),
        (
            "col2im_16ch_14x14_b16",
            cu + 4 * img as u64,
            Box::new(move || be.col2im(&colbuf, &image2, conv, false).expect("op")),
        ),
        (
            "swap_axes_16x16x196",
            8 * img as u64,
            Box::new(move || be.swap_leading_axes(&image, &out2.clone(), 16, 16, 196).expect("op")),
        ),
        ("max_pool2d_fwd", pu * 3 / 2, {
            let (i, o, a) = (pin.clone(), pout.clone(), argmax.clone());
            Box::new(move || be.max_pool2d(&i, &o, &a, pool).expect("op"))
        }),
        (
            "max_pool2d_bwd",
            pu * 3 / 2,
            Box::new(move || be.max_pool2d_backward(&pout, &argmax, &pin2, pool).expect("op")),
        ),
        ("upsample2d_fwd", 5 * up.in_len() as u64 * 4, {
            let (i, o) = (uin.clone(), uout.clone());
            Box::new(move || be.upsample2d(&i, &o, up).expect("op"))
        }),
        (
            "upsample2d_bwd",
            5 * up.in_len() as u64 * 4,
            Box::new(move || be.upsample2d_backward(&uout, &uin, up).expect("op")),
        ),
        ("contractive_fwd", 4 * (rows * ch + ch * ci) as u64, {
            let (z, w, s) = (z.clone(), w.clone(), scalar.clone());
            Box::new(move || be.contractive_penalty(Activation::Sigmoid, &z, &w, &s, rows, ch, ci).expect("op"))
        }),
        ("contractive_bwd", 12 * (rows * ch + ch * ci) as u64, {
            Box::new(move || {
                be.contractive_backward(Activation::Sigmoid, &z, &w, &scalar, &dz, &dw, rows, ch, ci).expect("op")
            })
        }),
    ]
}

/// Every GPU kernel family beside its CPU twin (`.../gpu` and `.../cpu` ids of one name), on
/// `GpuBackend::new(None)` (the adapter `AUTOENC_ADAPTER` names, else the fastest); skipped
/// with a note when there is no adapter. GPU rows are timed by [`run_gpu`] (device
/// timestamps, or the host clock around a synchronised submit), CPU rows by [`run`]. Flat
/// sampling (10 samples of equal iteration counts) keeps the group under a minute on a
/// software adapter (lavapipe, ~10 GFLOP/s).
fn gpu(c: &mut Criterion) {
    let gpu = match GpuBackend::new(None) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gpu: group skipped, no GPU adapter: {e}");
            return;
        }
    };
    let timing = if gpu.has_timestamps() { "timestamp queries" } else { "host clock around a synchronised submit" };
    eprintln!("gpu: {} ({timing}); CPU twins on {}", gpu.describe(), CpuBackend::new().describe());
    let cpu = CpuBackend::new();
    let sync = gpu.zeros(1, "bench sync").expect("alloc");
    let mut group = c.benchmark_group("gpu");
    group.sampling_mode(SamplingMode::Flat);

    let matmuls = [
        ("matmul_enc_fwd_256x784x256_tB", MatmulDims::new(256, 784, 256).trans_b(true)),
        ("matmul_1024x1024x1024", MatmulDims::new(1024, 1024, 1024)),
    ];
    for (name, d) in matmuls {
        group.throughput(Throughput::Elements(d.flops() as u64));
        let mut op = matmul_op(&cpu, d);
        group.bench_function(BenchmarkId::new(name, "cpu"), |b| run(b, &mut op));
        let mut op = matmul_op(&gpu, d);
        group.bench_function(BenchmarkId::new(name, "gpu"), |b| run_gpu(b, &gpu, &sync, &mut op));
    }

    let len = 1 << 20;
    group.throughput(Throughput::BytesDecimal(12 * len as u64)); // reads x and y, writes out
    let mut op = add_op(&cpu, len);
    group.bench_function(BenchmarkId::new("add_1048576", "cpu"), |b| run(b, &mut op));
    let mut op = add_op(&gpu, len);
    group.bench_function(BenchmarkId::new("add_1048576", "gpu"), |b| run_gpu(b, &gpu, &sync, &mut op));

    // Every other kernel family, CPU twin beside GPU, in GB/s of the bytes each must move.
    for ((name, bytes, mut on_cpu), (_, _, mut on_gpu)) in kernel_calls(&cpu).into_iter().zip(kernel_calls(&gpu)) {
        group.throughput(Throughput::BytesDecimal(bytes));
        group.bench_function(BenchmarkId::new(name, "cpu"), |b| run(b, &mut on_cpu));
        group.bench_function(BenchmarkId::new(name, "gpu"), |b| run_gpu(b, &gpu, &sync, &mut on_gpu));
    }

    let layer = conv_ae_layers(CONV_BATCH)[1]; // encoder.1: 16 -> 8 channels at 14x14
    let name = conv_name(&layer);
    let on_cpu = ConvBench::new(&cpu, layer).expect("conv bench buffers");
    let on_gpu = ConvBench::new(&gpu, layer).expect("conv bench buffers");
    on_cpu.forward().and_then(|_| on_gpu.forward()).expect("conv forward"); // backward reads its scratch
    group.throughput(Throughput::Elements(layer.flops() as u64));
    group.bench_function(BenchmarkId::new(format!("{name}_fwd"), "cpu"), |b| {
        run(b, || on_cpu.forward().expect("conv forward"))
    });
    group.bench_function(BenchmarkId::new(format!("{name}_fwd"), "gpu"), |b| {
        run_gpu(b, &gpu, &sync, || on_gpu.forward().expect("conv forward"))
    });
    group.throughput(Throughput::Elements(2 * layer.flops() as u64));
    group.bench_function(BenchmarkId::new(format!("{name}_bwd"), "cpu"), |b| {
        run(b, || on_cpu.backward().expect("conv backward"))
    });
    group.bench_function(BenchmarkId::new(format!("{name}_bwd"), "gpu"), |b| {
        run_gpu(b, &gpu, &sync, || on_gpu.backward().expect("conv backward"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = matmul, conv, gpu
}
criterion_main!(benches);
