//! Matrix multiply with either operand transposed, batched and strided.

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
pub fn matmul_with(level: crate::SimdLevel, a: &[f32], b: &[f32], c: &mut [f32], dims: MatmulDims) {
    let _ = level;
    matmul_scalar(a, b, c, dims)
}

/// The specification: a triple loop, f32 accumulation in k order.
pub fn matmul_scalar(a: &[f32], b: &[f32], c: &mut [f32], dims: MatmulDims) {
    let _ = (a, b, c, dims);
    todo!("matmul_scalar")
}
