//! matmul: the scalar specification against f64 math, and every level against the scalar one,
//! on awkward shapes (1, primes, non-multiples of every tile, k = 0, large k), all transposes,
//! accumulate on and off, batched with broadcast strides, with poisoned outputs and guards.

use autoenc_kernels::matmul::{matmul, matmul_scalar, matmul_with, MatmulDims};
use autoenc_kernels::simd::available_levels;
use autoenc_kernels::SimdLevel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Error allowed per output element, relative to `sum_k |a||b|` (+ `|c|` when accumulating):
/// f32 rounding of a k-term sum, whatever the summation order, stays far below this.
const REL_TOL: f64 = 1e-5;
/// Extra elements after C that no level may touch.
const GUARD: usize = 5;

/// Every level this CPU runs. Neon's packed path is plain Rust, so it runs (and is tested) anywhere.
/// Panics when `AUTOENC_REQUIRE_SIMD` names a level this machine lacks.
fn levels() -> Vec<SimdLevel> {
    if let Err(e) = autoenc_kernels::simd::check_required_levels() {
        panic!("{e}");
    }
    let mut levels = available_levels();
    if !levels.contains(&SimdLevel::Neon) {
        levels.push(SimdLevel::Neon);
    }
    levels
}

fn all_flags(m: usize, k: usize, n: usize) -> Vec<MatmulDims> {
    let mut out = Vec::new();
    for trans_a in [false, true] {
        for trans_b in [false, true] {
            for acc in [false, true] {
                out.push(MatmulDims::new(m, k, n).trans_a(trans_a).trans_b(trans_b).accumulate(acc));
            }
        }
    }
    out
}

struct Case {
    dims: MatmulDims,
    a: Vec<f32>,
    b: Vec<f32>,
    /// C before the call: random values, the outputs poisoned with NaN unless accumulating.
    c0: Vec<f32>,
    /// The f64 result and the allowed error of each element of C (guards: c0 and 0).
    want: Vec<f64>,
    bound: Vec<f64>,
}

fn is_output(d: &MatmulDims, idx: usize) -> bool {
    let (t, r) = if d.batch > 1 { (idx / d.stride_c, idx % d.stride_c) } else { (0, idx) };
    t < d.batch && r < d.m * d.n && d.m * d.n > 0
}

fn case(rng: &mut StdRng, dims: MatmulDims) -> Case {
    let d = dims;
    let random = |rng: &mut StdRng, len: usize| (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<_>>();
    let (a, b) = (random(rng, d.a_len()), random(rng, d.b_len()));
    let mut c0 = random(rng, d.c_len() + GUARD);
    let (mut want, mut bound): (Vec<f64>, Vec<f64>) = c0.iter().map(|&v| (v as f64, 0.0)).unzip();
    for t in 0..d.batch {
        for i in 0..d.m {
            for j in 0..d.n {
                let (mut sum, mut abs) = (0.0f64, 0.0f64);
                for p in 0..d.k {
                    let av = if d.trans_a { a[t * d.stride_a + p * d.m + i] } else { a[t * d.stride_a + i * d.k + p] };
                    let bv = if d.trans_b { b[t * d.stride_b + j * d.k + p] } else { b[t * d.stride_b + p * d.n + j] };
                    sum += av as f64 * bv as f64;
                    abs += (av as f64 * bv as f64).abs();
                }
                let idx = t * d.stride_c + i * d.n + j;
                let old = c0[idx] as f64;
                if d.accumulate {
                    (want[idx], bound[idx]) = (old + sum, REL_TOL * (abs + old.abs()));
                } else {
                    (want[idx], bound[idx]) = (sum, REL_TOL * abs);
                    c0[idx] = f32::NAN;
                }
            }
        }
    }
    Case { dims, a, b, c0, want, bound }
}

/// Checks `got` element by element against `reference` within the case's bounds.
fn assert_close(what: &str, case: &Case, got: &[f32], reference: &[f64]) {
    let d = &case.dims;
    for (idx, (&g, &r)) in got.iter().zip(reference).enumerate() {
        let err = (g as f64 - r).abs();
        let ok = if is_output(d, idx) { err <= case.bound[idx] } else { g.to_bits() == case.c0[idx].to_bits() };
        assert!(
            ok,
            "{what}: {d:?}: C[{idx}] = {g}, reference {r}, error {err:e} > bound {:e}{}",
            case.bound[idx],
            if is_output(d, idx) { "" } else { " (element outside C's blocks was written)" }
        );
    }
}

fn run(level: Option<SimdLevel>, case: &Case) -> Vec<f32> {
    let mut c = case.c0.clone();
    match level {
        None => matmul_scalar(&case.a, &case.b, &mut c, case.dims),
        Some(level) => matmul_with(level, &case.a, &case.b, &mut c, case.dims),
    }
    c
}

/// Scalar against f64, then every level against scalar (bounded by the same f64 error budget).
fn check_levels(seed: u64, dims: &[MatmulDims]) {
    let mut rng = StdRng::seed_from_u64(seed);
    for &d in dims {
        let case = case(&mut rng, d);
        let scalar = run(None, &case);
        assert_close("scalar vs f64", &case, &scalar, &case.want);
        let scalar64: Vec<f64> = scalar.iter().map(|&v| v as f64).collect();
        for level in levels() {
            let got = run(Some(level), &case);
            assert_close(&format!("{} vs scalar", level.name()), &case, &got, &scalar64);
        }
    }
}

const AWKWARD: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 17, 1),
    (1, 300, 1),
    (1, 7, 33),
    (33, 7, 1),
    (2, 3, 5),
    (7, 7, 7),
    (13, 13, 13),
    (6, 1, 16),
    (8, 256, 32),
    (9, 257, 33),
    (15, 255, 31),
    (14, 511, 47),
    (97, 97, 97),
    (5, 600, 3),
];

#[test]
fn known_product_every_level_every_transpose() {
    // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]; the transposed storage of each operand.
    let (a, a_t) = ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]);
    let (b, b_t) = ([5.0, 6.0, 7.0, 8.0], [5.0, 7.0, 6.0, 8.0]);
    for level in levels() {
        for d in all_flags(2, 2, 2) {
            let mut c = [1.0f32; 4];
            let (a, b) = (if d.trans_a { &a_t } else { &a }, if d.trans_b { &b_t } else { &b });
            matmul_with(level, a, b, &mut c, d);
            let want = if d.accumulate { [20.0, 23.0, 44.0, 51.0] } else { [19.0, 22.0, 43.0, 50.0] };
            assert_eq!(c, want, "{} {d:?}", level.name());
        }
    }
}

#[test]
fn every_level_matches_scalar_on_awkward_shapes() {
    let dims: Vec<_> = AWKWARD.iter().flat_map(|&(m, k, n)| all_flags(m, k, n)).collect();
    check_levels(1, &dims);
}

#[test]
fn every_level_matches_scalar_on_257() {
    check_levels(2, &all_flags(257, 257, 257));
}

#[test]
fn every_level_matches_scalar_with_large_k() {
    // Also wider than one column block (NC = 1024, cut into two of ~550), single-threaded.
    let dims: Vec<_> =
        [(7, 2000, 13), (37, 2051, 41), (9, 40, 1100)].iter().flat_map(|&(m, k, n)| all_flags(m, k, n)).collect();
    check_levels(3, &dims);
}

#[test]
fn k_zero_overwrites_with_zero_or_leaves_c() {
    let dims: Vec<_> = [(5, 0, 7), (1, 0, 1), (40, 0, 70)].iter().flat_map(|&(m, k, n)| all_flags(m, k, n)).collect();
    check_levels(4, &dims);
}

#[test]
fn empty_outputs_write_nothing() {
    let mut dims: Vec<_> = [(0, 5, 3), (3, 5, 0), (0, 0, 0)].iter().flat_map(|&(m, k, n)| all_flags(m, k, n)).collect();
    dims.push(MatmulDims::new(4, 4, 4).batched(0, 16, 16, 16));
    for d in dims {
        for level in levels() {
            let mut c = [7.0f32; GUARD];
            matmul_with(level, &[], &[], &mut c, d);
            assert_eq!(c, [7.0; GUARD], "{} {d:?}", level.name());
        }
    }
}

#[test]
fn every_level_matches_scalar_batched_with_broadcast_strides() {
    let mut dims = Vec::new();
    for &(m, k, n) in &[(13, 17, 19), (1, 9, 1), (33, 65, 40)] {
        for base in all_flags(m, k, n) {
            let (a, b, c) = (m * k, k * n, m * n);
            dims.push(base.batched(3, a, b, c)); // plain, contiguous
            dims.push(base.batched(3, 0, b, c + 3)); // one A for all, gaps in C
            dims.push(base.batched(4, a + 1, 0, c)); // one B for all (a weight matrix)
            dims.push(base.batched(2, 0, 0, c + 1)); // both broadcast: identical products
        }
    }
    check_levels(5, &dims);
}

#[test]
fn multithreaded_shapes_match_scalar() {
    // Above the threading threshold (2^23 multiply-adds), so that with more than one thread
    // (`AUTOENC_THREADS`, default all cores) the work is split along rows, along columns, by
    // batch item (many products) and within each product of a small batch.
    let mut dims = all_flags(301, 131, 220);
    dims.extend(all_flags(29, 130, 2300));
    dims.extend(all_flags(6, 100, 7).into_iter().map(|d| d.batched(2100, 0, 700, 43)));
    dims.extend(all_flags(97, 129, 97).into_iter().map(|d| d.batched(7, 97 * 129, 0, 97 * 97 + 2)));
    check_levels(6, &dims);
}

/// Thin products (m <= 4) take a streaming path instead of the packed driver: m = 1..5 (5 is
/// the packed driver again), primes, k = 1, long k, n not a multiple of its 1024-column blocks.
#[test]
fn thin_shapes_match_scalar() {
    let shapes: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 1, 1031),
        (2, 1, 37),
        (3, 1, 17),
        (1, 2, 3),
        (1, 3, 2053),
        (2, 13, 1031),
        (4, 7, 1025),
        (5, 7, 1025),
        (1, 4099, 3),
        (2, 2053, 13),
        (3, 65, 64),
        (4, 129, 1),
        (1, 20011, 5),
        (2, 10007, 2),
    ];
    let dims: Vec<_> = shapes.iter().flat_map(|&(m, k, n)| all_flags(m, k, n)).collect();
    check_levels(8, &dims);
}

/// Thin products above the threading threshold: split along n (columns of C, or rows of a
/// transposed B), along k (fewer dot products than threads), and by batch item (many small
/// thin products); plus batches with broadcast operands and gaps in C.
#[test]
fn thin_multithreaded_and_batched_match_scalar() {
    let mut dims = all_flags(1, 144, 58_271);
    dims.extend(all_flags(2, 58_271, 73));
    dims.extend(all_flags(1, 8_388_617, 1));
    dims.extend(all_flags(2, 4_194_319, 1));
    dims.extend(all_flags(1, 100, 41).into_iter().map(|d| d.batched(2100, 0, 4100, 43)));
    for &(m, k, n) in &[(1, 31, 67), (2, 67, 31), (2, 1, 29)] {
        for base in all_flags(m, k, n) {
            let (a, b, c) = (m * k, k * n, m * n);
            dims.push(base.batched(3, a, b, c));
            dims.push(base.batched(3, 0, b, c + 3));
            dims.push(base.batched(4, a + 1, 0, c));
        }
    }
    check_levels(9, &dims);
}

#[test]
fn matmul_matches_scalar() {
    let mut rng = StdRng::seed_from_u64(7);
    for d in all_flags(70, 90, 110) {
        let case = case(&mut rng, d);
        let mut got = case.c0.clone();
        matmul(&case.a, &case.b, &mut got, d);
        assert_close("matmul vs f64", &case, &got, &case.want);
    }
}

#[test]
#[should_panic(expected = "C holds")]
fn short_output_panics() {
    let mut c = [0.0f32; 5];
    matmul(&[0.0; 6], &[0.0; 9], &mut c, MatmulDims::new(2, 3, 3));
}

#[test]
#[should_panic(expected = "stride_c")]
fn overlapping_batches_panic() {
    let mut c = [0.0f32; 8];
    matmul_scalar(&[0.0; 4], &[0.0; 4], &mut c, MatmulDims::new(2, 2, 2).batched(2, 0, 0, 2));
}

/// The conv autoencoder's last layer (16 -> 1 channels, 28x28, batch 128): best-of-N wall
/// clock of the three thin products. `cargo test --release -p autoenc-kernels --test matmul
/// -- --ignored --nocapture thin_shapes_timing`.
#[test]
#[ignore]
fn thin_shapes_timing() {
    let (k, n) = (144usize, 100_352usize);
    let a = vec![0.5f32; n * k];
    let b = vec![0.25f32; n * k];
    let mut c = vec![0.0f32; n * k];
    let shapes = [
        ("fwd W·cols      1 x 144 x 100352", MatmulDims::new(1, k, n)),
        ("dW dY·cols^T    1 x 100352 x 144 tB", MatmulDims::new(1, n, k).trans_b(true)),
        ("dX W^T·dY       144 x 1 x 100352 tA", MatmulDims::new(k, 1, n).trans_a(true)),
    ];
    for (name, d) in shapes {
        let mut best = f64::INFINITY;
        for _ in 0..30 {
            let t = std::time::Instant::now();
            matmul(&a, &b, &mut c, d);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{name}: best of 30 {:.3} ms", best * 1e3);
    }
}
