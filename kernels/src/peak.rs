//! The machine's rooflines, measured rather than quoted: the multiply-add peak of one core
//! at a SIMD level (a loop of independent fused multiply-adds that never leaves the
//! registers) and the bandwidth of a copy far larger than the caches. `autoenc bench`
//! reports every kernel as a fraction of these and `autoenc info` prints them.
//!
//! [`fma_chains_scalar`] is the specification of the probe's arithmetic: `CHAINS` chains
//! per lane, each `x <- x * 0.5 + b` repeated. Halving is exact, so the fused form that the
//! SIMD levels run rounds exactly as the two-step scalar form: every level returns the same
//! bits (tested), and the compiler cannot drop work whose result is returned.

use crate::simd::{threads, SimdLevel};
use std::time::Instant;

/// Independent chains per vector register. Two FMA pipes of 4-5 cycles' latency keep 8-10
/// FMAs in flight; 12 covers both with the constants still in registers (16 on AVX2).
pub const CHAINS: usize = 12;

/// The multiplier of every chain: exact to apply, so fused and unfused agree.
const HALF: f32 = 0.5;

/// Lane `l` of chain `c`: its start and its addend (the addend depends on the lane only,
/// so AVX2 keeps the 12 chains, one addend and the multiplier in its 16 registers).
fn start(c: usize, l: usize) -> (f32, f32) {
    let b = 1.0 + l as f32 / 1024.0;
    (3.0 * b + c as f32 / 64.0, b)
}

/// The probe at `lanes` lanes: `CHAINS x lanes` chains of `iters` steps `x <- x * 0.5 + b`
/// (all chains advanced together, as the registers are), summed in (chain, lane) order in
/// f64. The specification of every level.
pub fn fma_chains_scalar(lanes: usize, iters: usize) -> f64 {
    let (mut x, b): (Vec<f32>, Vec<f32>) = (0..CHAINS).flat_map(|c| (0..lanes).map(move |l| start(c, l))).unzip();
    for _ in 0..iters {
        for (x, b) in x.iter_mut().zip(&b) {
            *x = *x * HALF + b;
        }
    }
    x.iter().map(|&v| v as f64).sum()
}

/// The f32 lanes of one vector at `level`.
pub fn lanes(level: SimdLevel) -> usize {
    match level {
        SimdLevel::Avx512 => 16,
        SimdLevel::Avx2Fma => 8,
        SimdLevel::Scalar | SimdLevel::Neon => 1,
    }
}

/// The probe at `level` (its lane count): the same value as [`fma_chains_scalar`].
///
/// # Panics
/// If this CPU lacks `level`.
pub fn fma_chains_with(level: SimdLevel, iters: usize) -> f64 {
    match crate::simd_util::path(level) {
        crate::simd_util::Path::Scalar => fma_chains_scalar(lanes(level), iters),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `path` checked that this CPU has AVX2 and FMA.
        crate::simd_util::Path::Avx2 => unsafe { x86::chains_avx2(iters) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `path` checked that this CPU has AVX-512F.
        crate::simd_util::Path::Avx512 => unsafe { x86::chains_avx512(iters) },
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{start, CHAINS, HALF};
    use std::arch::x86_64::*;

    /// Starts of every chain and the addend of every lane, `L` lanes per register.
    fn inputs<const L: usize>() -> ([[f32; L]; CHAINS], [f32; L]) {
        let (mut x, mut b) = ([[0.0; L]; CHAINS], [0.0; L]);
        for (c, row) in x.iter_mut().enumerate() {
            for (l, v) in row.iter_mut().enumerate() {
                (*v, b[l]) = start(c, l);
            }
        }
        (x, b)
    }

    fn total<const L: usize>(x: &[[f32; L]; CHAINS]) -> f64 {
        x.iter().flatten().map(|&v| v as f64).sum()
    }

    /// The probe over one vector type: `$lanes` f32 a register, the chains advanced together.
    macro_rules! chains {
        ($name:ident, $feat:literal, $lanes:literal, $set1:ident, $load:ident, $store:ident, $fmadd:ident) => {
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn $name(iters: usize) -> f64 {
                let (x0, b0) = inputs::<$lanes>();
                let half = $set1(HALF);
                let mut x = std::array::from_fn::<_, CHAINS, _>(|c| $load(x0[c].as_ptr()));
                let b = $load(b0.as_ptr());
                for _ in 0..iters {
                    for xc in &mut x {
                        *xc = $fmadd(*xc, half, b);
                    }
                }
                let mut out = [[0.0f32; $lanes]; CHAINS];
                for (o, xc) in out.iter_mut().zip(x) {
                    $store(o.as_mut_ptr(), xc);
                }
                total(&out)
            }
        };
    }
    chains!(chains_avx2, "avx2,fma", 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps);
    chains!(chains_avx512, "avx512f", 16, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps);
}

/// The best of `reps` timings of `f` (seconds), after one warm-up call.
fn best_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Steps per chain of one timed probe run: 6e7 vector multiply-adds, ~10 ms at two a
/// cycle and 3 GHz.
const PEAK_ITERS: usize = 5_000_000;

/// One core's multiply-add peak at `level`, GFLOP/s (a multiply-add counts 2): the best
/// of five probe runs on the calling thread.
///
/// # Panics
/// If this CPU lacks `level`.
pub fn fma_peak_gflops(level: SimdLevel) -> f64 {
    let (lanes, iters) = (lanes(level), PEAK_ITERS);
    let mut sink = 0.0;
    let secs = best_secs(5, || sink += fma_chains_with(level, std::hint::black_box(iters)));
    std::hint::black_box(sink);
    per_second_e9(probe_flops(lanes, iters), secs)
}

/// Floating-point operations of one probe run at `lanes` lanes: a multiply-add counts 2.
pub fn probe_flops(lanes: usize, iters: usize) -> f64 {
    2.0 * (CHAINS * lanes * iters) as f64
}

/// `amount / secs`, in units of 1e9 per second (GFLOP/s, GB/s).
pub fn per_second_e9(amount: f64, secs: f64) -> f64 {
    amount / secs / 1e9
}

/// Bytes per buffer of the copy probe: far beyond any L3 the engine is likely to meet.
pub const COPY_BYTES: usize = 64 << 20;

/// The copy probe's buffers in f32s.
pub const COPY_LEN: usize = COPY_BYTES / std::mem::size_of::<f32>();

/// The copy bandwidth, GB/s of bytes read plus bytes written: one [`COPY_BYTES`] buffer
/// copied into another, split over the kernels' [`threads`] in contiguous chunks, best
/// of five after a warm-up (which also faults the destination's pages in).
pub fn copy_bandwidth_gbs() -> f64 {
    let len = COPY_LEN;
    let src: Vec<f32> = (0..len).map(|i| i as f32).collect();
    let mut dst = vec![0.0f32; len];
    let workers = threads().max(1);
    let chunk = len.div_ceil(workers);
    let secs = best_secs(5, || {
        let runs = dst.chunks_mut(chunk).zip(src.chunks(chunk)).collect();
        crate::workers::run_each(runs, &|_, (d, x): (&mut [f32], &[f32])| d.copy_from_slice(x));
    });
    assert_eq!(dst[len - 1], src[len - 1], "the copy probe copied");
    per_second_e9(copy_bytes_moved(), secs)
}

/// Bytes the copy probe moves: each byte read once and written once.
pub fn copy_bytes_moved() -> f64 {
    2.0 * COPY_BYTES as f64
}
