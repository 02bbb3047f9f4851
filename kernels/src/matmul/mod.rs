//! Matrix multiply with either operand transposed, batched and strided.
//!
//! [`matmul_scalar`] is the specification. The fast levels share one BLIS-style driver
//! (`packed`): op(B) is copied by blocks of `KC x NC` into `NR`-wide micro-panels and op(A)
//! by `MR x KC` micro-panels, both zero-padded to whole tiles. The register-blocked micro-kernel
//! thus sees one layout whatever the transposes and the shape; only the store of a partial
//! tile is special. Loop order (outer to inner): NC columns, KC depth (pack B, which stays in
//! L2), MR rows (pack A, which stays in L1), NR columns (micro-kernel).
//!
//! Files: `spec` (the scalar specification and the logical operand views), `driver` (blocking,
//! the micro-kernel trait, threads), `pack` (panels and their buffers), `micro` (the
//! micro-kernels) and `thin` (the streaming path for `m <= 4`).

use crate::SimdLevel;

mod driver;
mod micro;
mod pack;
mod spec;
mod thin;

use driver::packed;
#[cfg(target_arch = "x86_64")]
use micro::x86;
use micro::Portable;
pub use spec::matmul_scalar;

/// `C[m,n] (+)= op(A)[m,k] · op(B)[k,n]`, repeated `batch` times.
///
/// Storage is row-major. `A` is stored `[m,k]`, or `[k,m]` when `trans_a`; `B` is stored
/// `[k,n]`, or `[n,k]` when `trans_b`. For `batch > 1` the i-th product reads `A` at
/// offset `i * stride_a` (0 broadcasts one matrix), likewise `B` and `C`
/// (`stride_c` must be `>= m*n`, batches never write the same element).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub accumulate: bool,
    pub batch: usize,
    pub stride_a: usize,
    pub stride_b: usize,
    pub stride_c: usize,
}

impl MatmulDims {
    /// A single product `C = op(A)·op(B)`.
    pub fn new(m: usize, k: usize, n: usize) -> Self {
        Self {
            m,
            k,
            n,
            trans_a: false,
            trans_b: false,
            accumulate: false,
            batch: 1,
            stride_a: m * k,
            stride_b: k * n,
            stride_c: m * n,
        }
    }
    pub fn trans_a(mut self, t: bool) -> Self {
        self.trans_a = t;
        self
    }
    pub fn trans_b(mut self, t: bool) -> Self {
        self.trans_b = t;
        self
    }
    pub fn accumulate(mut self, acc: bool) -> Self {
        self.accumulate = acc;
        self
    }
    pub fn batched(mut self, batch: usize, stride_a: usize, stride_b: usize, stride_c: usize) -> Self {
        self.batch = batch;
        self.stride_a = stride_a;
        self.stride_b = stride_b;
        self.stride_c = stride_c;
        self
    }
    /// Elements each operand must hold.
    pub fn a_len(&self) -> usize {
        (self.batch - 1) * self.stride_a + self.m * self.k
    }
    pub fn b_len(&self) -> usize {
        (self.batch - 1) * self.stride_b + self.k * self.n
    }
    pub fn c_len(&self) -> usize {
        (self.batch - 1) * self.stride_c + self.m * self.n
    }
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.m * self.k * self.n) as f64
    }
}

/// `C (+)= op(A)·op(B)` at the best SIMD level, multi-threaded over output tiles.
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], dims: MatmulDims) {
    matmul_with(crate::simd::level(), a, b, c, dims)
}

/// `matmul` at a chosen level.
///
/// Thin products (`m <= 4`, e.g. a 1-channel conv layer) skip the packed driver at every
/// level but `Scalar` and stream their big operand once instead (module `thin`).
/// `Avx512` and `Avx2Fma` run the packed driver with an intrinsics micro-kernel and panic if
/// this CPU lacks the level. `Neon` runs the same driver with a plain-Rust micro-kernel that
/// LLVM vectorizes (NEON is baseline on aarch64); having no intrinsics, it runs on any CPU.
/// `Scalar` is [`matmul_scalar`]. Panics if a slice is shorter than `dims` requires.
pub fn matmul_with(level: SimdLevel, a: &[f32], b: &[f32], c: &mut [f32], dims: MatmulDims) {
    if !check(a, b, c, &dims) {
        return;
    }
    match level {
        SimdLevel::Scalar => matmul_scalar(a, b, c, dims),
        _ if thin::takes(&dims) => thin::matmul(level, a, b, c, dims),
        SimdLevel::Neon => packed::<Portable>(a, b, c, dims),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 => {
            assert!(crate::simd::available_levels().contains(&level), "matmul: {} is not available", level.name());
            if level == SimdLevel::Avx512 {
                packed::<x86::Avx512>(a, b, c, dims)
            } else {
                packed::<x86::Avx2>(a, b, c, dims)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 => panic!("matmul: {} is not available", level.name()),
    }
}

/// Panics on slices too short for `dims`; returns false when there is nothing to compute.
fn check(a: &[f32], b: &[f32], c: &[f32], d: &MatmulDims) -> bool {
    if d.batch == 0 || d.m == 0 || d.n == 0 {
        return false;
    }
    assert!(d.batch == 1 || d.stride_c >= d.m * d.n, "matmul: stride_c {} < m*n = {}", d.stride_c, d.m * d.n);
    assert!(a.len() >= d.a_len(), "matmul: A holds {} elements, {:?} needs {}", a.len(), d, d.a_len());
    assert!(b.len() >= d.b_len(), "matmul: B holds {} elements, {:?} needs {}", b.len(), d, d.b_len());
    assert!(c.len() >= d.c_len(), "matmul: C holds {} elements, {:?} needs {}", c.len(), d, d.c_len());
    true
}
