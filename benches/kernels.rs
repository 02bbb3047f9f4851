//! Criterion benches of the kernels: `cargo bench --bench kernels [-- FILTER]`.
//!
//! Each group is one function listed in `criterion_group!` below; add new ones (elementwise,
//! conv, GPU, ...) the same way. Groups set `Throughput::Elements(flops)` (or bytes), so the
//! "thrpt" criterion prints in elem/s reads directly as FLOP/s (or B/s).
//!
//! `AUTOENC_BENCH_CLOCK=cpu` times single-threaded runs with the thread's CPU clock instead of
//! the wall clock, so that other work on a shared machine does not distort them (see [`run`]).

use autoenc_kernels::matmul::{matmul_with, MatmulDims};
use autoenc_kernels::simd::{available_levels, threads};
use autoenc_kernels::SimdLevel;
use criterion::{criterion_group, criterion_main, Bencher, BenchmarkId, Criterion, Throughput};
use std::cmp::Ordering;
use std::hint::black_box;
use std::time::Duration;

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

criterion_group! {
    name = benches;
    config = config();
    targets = matmul
}
criterion_main!(benches);
