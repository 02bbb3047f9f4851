//! Matrix multiply with either operand transposed, batched and strided.
//!
//! [`matmul_scalar`] is the specification. The fast levels share one BLIS-style driver
//! (`packed`): op(B) is copied by blocks of `KC x NC` into `NR`-wide micro-panels and op(A)
//! by `MR x KC` micro-panels, both zero-padded to whole tiles. The register-blocked micro-kernel
//! thus sees one layout whatever the transposes and the shape; only the store of a partial
//! tile is special. Loop order (outer to inner): NC columns, KC depth (pack B, which stays in
//! L2), MR rows (pack A, which stays in L1), NR columns (micro-kernel).

use crate::SimdLevel;
use std::cell::Cell;
use std::ops::Range;

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

/// The specification: a triple loop, f32 accumulation in k order.
pub fn matmul_scalar(a: &[f32], b: &[f32], c: &mut [f32], dims: MatmulDims) {
    if !check(a, b, c, &dims) {
        return;
    }
    let MatmulDims { m, k, n, .. } = dims;
    for t in 0..dims.batch {
        let (op_a, op_b) = operands(a, b, &dims, t);
        let c = &mut c[t * dims.stride_c..][..m * n];
        for i in 0..m {
            for j in 0..n {
                let mut sum = 0.0f32;
                for p in 0..k {
                    sum += op_a.at(i, p) * op_b.at(p, j);
                }
                let out = &mut c[i * n + j];
                *out = if dims.accumulate { *out + sum } else { sum };
            }
        }
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

/// A logical matrix over a slice: element `(r, c)` is `data[r * rs + c * cs]`.
/// A transpose is just a swap of the two strides.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl Mat<'_> {
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// op(A) `[m,k]` and op(B) `[k,n]` of the `t`-th product.
fn operands<'a>(a: &'a [f32], b: &'a [f32], d: &MatmulDims, t: usize) -> (Mat<'a>, Mat<'a>) {
    let (rs_a, cs_a) = if d.trans_a { (1, d.m) } else { (d.k, 1) };
    let (rs_b, cs_b) = if d.trans_b { (1, d.k) } else { (d.n, 1) };
    (Mat { data: &a[t * d.stride_a..], rs: rs_a, cs: cs_a }, Mat { data: &b[t * d.stride_b..], rs: rs_b, cs: cs_b })
}

// ---- the packed driver --------------------------------------------------------------------

/// A register-blocked micro-kernel and the cache blocking that feeds it.
trait Kernel {
    /// Rows (broadcast from A) and columns (vector lanes of B) of one register tile.
    const MR: usize;
    const NR: usize;
    /// Depth of a packed block: an `MR x KC` A micro-panel should fit L1.
    const KC: usize;
    /// Width of a packed B block: `KC x NC` should fit L2. A multiple of `NR`.
    const NC: usize;

    /// `C[..mr, ..nr] = (C if add else 0) + Ap·Bp` over depth `kc`, where `Ap` holds `kc` groups
    /// of `MR` values (one per row) and `Bp` holds `kc` groups of `NR` values (one per column).
    ///
    /// # Safety
    /// `a` is readable for `kc * MR` floats, `b` for `kc * NR`; `c.add(r * ldc + j)` is
    /// writable for `r < mr <= MR`, `j < nr <= NR`, and no other thread touches it;
    /// the CPU has the features the kernel is compiled for.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, mr: usize, nr: usize, add: bool);
}

/// Below this many multiply-adds (~40 us on one AVX-512 core) threads are not worth their
/// start-up (tens of us to spawn and join); 256^3 and the autoencoder's layers are above it.
const PAR_MIN_MACS: usize = 1 << 23;

/// The output pointer shared by the worker threads.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each worker writes only the output rows/columns (or batch items) of its own pieces,
// which are disjoint; the scope joins every worker before the `&mut [f32]` borrow ends.
unsafe impl Send for OutPtr {}
// SAFETY: as above; the pointer itself is only copied, never used to create overlapping writes.
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// A method rather than `.0`, so closures capture the whole `Send` wrapper.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// A rectangle of the output of product `t`.
struct Piece {
    t: usize,
    rows: Range<usize>,
    cols: Range<usize>,
}

fn packed<K: Kernel>(a: &[f32], b: &[f32], c: &mut [f32], d: MatmulDims) {
    let macs = d.batch * d.m * d.n * d.k.max(1);
    let nt = if macs >= PAR_MIN_MACS { crate::simd::threads() } else { 1 };
    let out = OutPtr(c.as_mut_ptr());
    let work = |w: usize, bufs: &mut Buffers| {
        for piece in pieces::<K>(&d, w, nt) {
            let (op_a, op_b) = operands(a, b, &d, piece.t);
            // SAFETY: `check` proved C holds every product's `m x n` block at `t * stride_c`.
            let c_t = unsafe { out.get().add(piece.t * d.stride_c) };
            gemm::<K>(op_a, op_b, OutPtr(c_t), &d, &piece, bufs);
        }
    };
    let mut pool = Buffers::take::<K>(&d, nt);
    let (first, rest) = pool[..nt].split_first_mut().expect("at least one thread");
    if rest.is_empty() {
        work(0, first);
    } else {
        std::thread::scope(|s| {
            for (w, bufs) in rest.iter_mut().enumerate() {
                s.spawn(move || work(w + 1, bufs));
            }
            work(0, first);
        });
    }
    BUFFERS.set(pool);
}

/// The pieces worker `w` of `nt` computes. Many products: whole products per worker (no
/// operand is packed twice). Few: each product split along its larger dimension, in whole tiles.
fn pieces<K: Kernel>(d: &MatmulDims, w: usize, nt: usize) -> Vec<Piece> {
    let share = |len: usize, unit: usize| {
        let per = len.div_ceil(unit).div_ceil(nt) * unit;
        (w * per).min(len)..((w + 1) * per).min(len)
    };
    if nt == 1 || d.batch >= 4 * nt {
        share(d.batch, 1).map(|t| Piece { t, rows: 0..d.m, cols: 0..d.n }).collect()
    } else if d.m >= d.n && d.m >= nt * K::MR {
        (0..d.batch).map(|t| Piece { t, rows: share(d.m, K::MR), cols: 0..d.n }).collect()
    } else if d.n >= nt * K::NR {
        (0..d.batch).map(|t| Piece { t, rows: 0..d.m, cols: share(d.n, K::NR) }).collect()
    } else {
        share(d.batch, 1).map(|t| Piece { t, rows: 0..d.m, cols: 0..d.n }).collect()
    }
}

/// One product's piece, single-threaded. `c` points at the product's `C[0][0]`.
fn gemm<K: Kernel>(a: Mat, b: Mat, c: OutPtr, d: &MatmulDims, piece: &Piece, bufs: &mut Buffers) {
    let ldc = d.n;
    if d.k == 0 {
        if !d.accumulate {
            for i in piece.rows.clone() {
                for j in piece.cols.clone() {
                    // SAFETY: (i, j) is inside this product's C block and inside this worker's piece.
                    unsafe { *c.get().add(i * ldc + j) = 0.0 };
                }
            }
        }
        return;
    }
    for jc in piece.cols.clone().step_by(K::NC) {
        let nc = K::NC.min(piece.cols.end - jc);
        for pc in (0..d.k).step_by(K::KC) {
            let kc = K::KC.min(d.k - pc);
            pack_b(b, pc, kc, jc, nc, K::NR, &mut bufs.b);
            let add = d.accumulate || pc > 0;
            for ic in piece.rows.clone().step_by(K::MR) {
                let mr = K::MR.min(piece.rows.end - ic);
                pack_a(a, ic, mr, pc, kc, K::MR, &mut bufs.a);
                for (q, jr) in (jc..jc + nc).step_by(K::NR).enumerate() {
                    let nr = K::NR.min(jc + nc - jr);
                    let bp = &bufs.b[q * kc * K::NR..][..kc * K::NR];
                    // SAFETY: the packed panels hold kc*MR and kc*NR floats (sliced above and in
                    // `pack_a`); rows ic..ic+mr and columns jr..jr+nr lie inside this worker's
                    // piece of the product's C block; `matmul_with` checked the CPU features.
                    unsafe { K::tile(kc, bufs.a.as_ptr(), bp.as_ptr(), c.get().add(ic * ldc + jr), ldc, mr, nr, add) };
                }
            }
        }
    }
}

/// Packing buffers of one worker, 64-byte aligned so that vector loads never split a cache line.
#[derive(Default)]
struct Buffers {
    a: AlignedBuf,
    b: AlignedBuf,
}

thread_local! {
    /// One set per worker, kept by the calling thread between calls (up to `KC * NC` floats
    /// each), so that no call pays for allocating and faulting in fresh pages, not even in the
    /// worker threads, which are new each time.
    static BUFFERS: Cell<Vec<Buffers>> = Cell::default();
}

impl Buffers {
    /// This thread's sets, at least `nt`, the first `nt` grown to what `d` needs; give them
    /// back to `BUFFERS` (a small call after a threaded one must not free the workers' sets).
    fn take<K: Kernel>(d: &MatmulDims, nt: usize) -> Vec<Self> {
        let mut pool = BUFFERS.take();
        pool.resize_with(nt.max(pool.len()), Buffers::default);
        let kc = K::KC.min(d.k);
        for bufs in &mut pool[..nt] {
            bufs.a.reserve(K::MR * kc);
            bufs.b.reserve(kc * K::NC.min(d.n.next_multiple_of(K::NR)));
        }
        pool
    }
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

#[derive(Default)]
struct AlignedBuf(Vec<Line>);

impl AlignedBuf {
    fn reserve(&mut self, len: usize) {
        if self.len() < len {
            self.0 = vec![Line([0.0; 16]); len.div_ceil(16)];
        }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; 16]` with no padding (size 64 = align 64),
        // so the Vec's storage is `16 * len` contiguous initialized f32.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() * 16) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and the `&mut self` borrow makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), self.0.len() * 16) }
    }
}

/// Rows `i0..i0+mr`, depth `p0..p0+kc` of op(A) into `dst[p * mr_full + r]`, zero rows past `mr`.
fn pack_a(a: Mat, i0: usize, mr: usize, p0: usize, kc: usize, mr_full: usize, dst: &mut [f32]) {
    let dst = &mut dst[..kc * mr_full];
    if a.rs == 1 {
        // A stored transposed: each depth step of the panel is contiguous.
        for (p, group) in dst.chunks_exact_mut(mr_full).enumerate() {
            group[..mr].copy_from_slice(&a.data[(p0 + p) * a.cs + i0..][..mr]);
            group[mr..].fill(0.0);
        }
    } else {
        // A stored as is: read each row once, scatter it with stride `mr_full`.
        debug_assert_eq!(a.cs, 1);
        for r in 0..mr_full {
            let slots = dst.iter_mut().skip(r).step_by(mr_full);
            if r < mr {
                slots.zip(&a.data[(i0 + r) * a.rs + p0..][..kc]).for_each(|(s, &v)| *s = v);
            } else {
                slots.for_each(|s| *s = 0.0);
            }
        }
    }
}

/// Depth `p0..p0+kc`, columns `j0..j0+nc` of op(B) into `NR`-wide micro-panels of `kc * nr_full`
/// floats, each `dst[p * nr_full + j]`, zero columns past `nc`.
fn pack_b(b: Mat, p0: usize, kc: usize, j0: usize, nc: usize, nr_full: usize, dst: &mut [f32]) {
    let panel_len = kc * nr_full;
    let dst = &mut dst[..nc.div_ceil(nr_full) * panel_len];
    if b.cs == 1 {
        // B stored as is: read each row once (rows far apart in memory would thrash L1 if read
        // one panel at a time), cut it into the panels.
        for p in 0..kc {
            let row = &b.data[(p0 + p) * b.rs + j0..][..nc];
            for (src, panel) in row.chunks(nr_full).zip(dst.chunks_exact_mut(panel_len)) {
                let group = &mut panel[p * nr_full..][..nr_full];
                group[..src.len()].copy_from_slice(src);
                group[src.len()..].fill(0.0);
            }
        }
    } else {
        // B stored transposed: read columns (contiguous) eight at a time, so that each write
        // into the panel fills 8 adjacent floats rather than one per cache line.
        debug_assert_eq!(b.rs, 1);
        for (q, panel) in dst.chunks_exact_mut(panel_len).enumerate() {
            let (j, nr) = (j0 + q * nr_full, nr_full.min(nc - q * nr_full));
            let eights = nr / 8 * 8;
            for jj0 in (0..eights).step_by(8) {
                let cols: [&[f32]; 8] = std::array::from_fn(|t| &b.data[(j + jj0 + t) * b.cs + p0..][..kc]);
                for (p, group) in panel.chunks_exact_mut(nr_full).enumerate() {
                    for (slot, col) in group[jj0..jj0 + 8].iter_mut().zip(&cols) {
                        *slot = col[p];
                    }
                }
            }
            for jj in eights..nr_full {
                let slots = panel.iter_mut().skip(jj).step_by(nr_full);
                if jj < nr {
                    slots.zip(&b.data[(j + jj) * b.cs + p0..][..kc]).for_each(|(s, &v)| *s = v);
                } else {
                    slots.for_each(|s| *s = 0.0);
                }
            }
        }
    }
}

/// Writes (or adds, with `add`) the top-left `mr x nr` of a full `MR x NR` tile into C.
///
/// # Safety
/// As for [`Kernel::tile`]: `c.add(r * ldc + j)` is writable for `r < mr`, `j < nr`.
unsafe fn store_partial(tile: &[f32], nr_full: usize, c: *mut f32, ldc: usize, mr: usize, nr: usize, add: bool) {
    for r in 0..mr {
        for (j, &v) in tile[r * nr_full..][..nr].iter().enumerate() {
            let out = c.add(r * ldc + j);
            *out = if add { *out + v } else { v };
        }
    }
}

// ---- thin products -------------------------------------------------------------------------

/// Products too thin for the packed driver (padding `m` to `MR` rows and packing a B that is
/// read only once): `m <= MAX_M` (and `k > 0`). They are memory-bound, so they stream the big
/// operand once, unpacked, with plain-Rust loops that LLVM vectorizes inside a
/// `target_feature` function. Each batch item is computed on its own.
mod thin {
    use super::{MatmulDims, OutPtr, PAR_MIN_MACS};
    use crate::SimdLevel;
    use std::ops::Range;

    /// Rows of op(A) up to which a product counts as thin.
    const MAX_M: usize = 4;
    /// Columns of C kept in L1 while the rows of B stream past (`!trans_b`).
    const NB: usize = 1024;
    /// Depth of one chunk of a dot product (`trans_b`): the B chunk stays in L1 for the `m` rows
    /// of A, and the chunk sums are added in f32 (a blocked sum, more accurate than one chain).
    const KB: usize = 2048;
    /// Lanes of a dot product's accumulator: 4 zmm or 8 ymm independent chains.
    const LANES: usize = 64;

    pub(super) fn takes(d: &MatmulDims) -> bool {
        d.m <= MAX_M && d.k > 0
    }

    /// One worker's share of one product. Pointers are the product's own C (or a private
    /// partial buffer); ranges are disjoint between workers.
    enum Job<'a> {
        /// `k == 1`: `C[e] (+)= a[e / n] * b[e % n]` for the flat output elements `elems`.
        Outer { a: &'a [f32], b: &'a [f32], c: OutPtr, n: usize, elems: Range<usize>, acc: bool },
        /// `!trans_b`: columns `cols` of `C[m,n] (+)= op(A)·B`, B stored `[k,n]`.
        Rows { a: &'a [f32], b: &'a [f32], c: OutPtr, d: MatmulDims, cols: Range<usize> },
        /// `trans_b`: `out[i * ldo + j] (+)= A_i[ks] · B_j[ks]` for `j` in `rows`, with `A` `m`
        /// contiguous rows of length `k` (row stride `k`) and B stored `[n,k]`.
        Dots {
            a: &'a [f32],
            b: &'a [f32],
            out: OutPtr,
            ldo: usize,
            m: usize,
            k: usize,
            rows: Range<usize>,
            ks: Range<usize>,
            acc: bool,
        },
    }

    pub(super) fn matmul(level: SimdLevel, a: &[f32], b: &[f32], c: &mut [f32], d: MatmulDims) {
        #[cfg(target_arch = "x86_64")]
        if matches!(level, SimdLevel::Avx2Fma | SimdLevel::Avx512) {
            assert!(crate::simd::available_levels().contains(&level), "matmul: {} is not available", level.name());
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert!(!matches!(level, SimdLevel::Avx2Fma | SimdLevel::Avx512), "matmul: {} is not available", level.name());
        let macs = d.m * d.n * d.k;
        let nt_item = if macs >= PAR_MIN_MACS { crate::simd::threads() } else { 1 };
        let out = OutPtr(c.as_mut_ptr());
        if nt_item == 1 && d.batch > 1 && d.batch * macs >= PAR_MIN_MACS && crate::simd::threads() > 1 {
            // Many small thin products: whole products per worker, each single-threaded.
            let nt = crate::simd::threads().min(d.batch);
            let per = d.batch.div_ceil(nt);
            std::thread::scope(|s| {
                for w in 1..nt {
                    s.spawn(move || {
                        (w * per..((w + 1) * per).min(d.batch)).for_each(|t| product(level, a, b, out, &d, t, 1))
                    });
                }
                (0..per.min(d.batch)).for_each(|t| product(level, a, b, out, &d, t, 1));
            });
        } else {
            (0..d.batch).for_each(|t| product(level, a, b, out, &d, t, nt_item));
        }
    }

    /// Splits `0..len` into `nt` shares, whole `unit`s each; share `w`.
    fn share(len: usize, unit: usize, nt: usize, w: usize) -> Range<usize> {
        let per = len.div_ceil(unit).div_ceil(nt) * unit;
        (w * per).min(len)..((w + 1) * per).min(len)
    }

    /// Runs `jobs[w]` on worker `w`, worker 0 being the caller.
    fn run_all(level: SimdLevel, jobs: Vec<Job>) {
        let mut jobs = jobs.into_iter();
        let first = jobs.next().expect("at least one job");
        std::thread::scope(|s| {
            for job in jobs {
                s.spawn(move || run(level, &job));
            }
            run(level, &first);
        });
    }

    /// Product `t` on `nt` workers.
    fn product(level: SimdLevel, a: &[f32], b: &[f32], out: OutPtr, d: &MatmulDims, t: usize, nt: usize) {
        let (m, k, n) = (d.m, d.k, d.n);
        let a = &a[t * d.stride_a..][..m * k];
        let b = &b[t * d.stride_b..][..k * n];
        // SAFETY: `check` proved C holds every product's `m x n` block at `t * stride_c`.
        let c = OutPtr(unsafe { out.get().add(t * d.stride_c) });
        if k == 1 {
            // Both operands are contiguous vectors whatever the transposes.
            let jobs = (0..nt).map(|w| Job::Outer { a, b, c, n, elems: share(m * n, 16, nt, w), acc: d.accumulate });
            run_all(level, jobs.collect());
        } else if !d.trans_b {
            let jobs = (0..nt).map(|w| Job::Rows { a, b, c, d: *d, cols: share(n, 16, nt, w) });
            run_all(level, jobs.collect());
        } else {
            // Dot products need A's rows contiguous: gather them when stored transposed.
            let gathered: Vec<f32>;
            let a = if d.trans_a && m > 1 {
                gathered = (0..m).flat_map(|i| (0..k).map(move |p| a[p * m + i])).collect();
                &gathered[..]
            } else {
                a
            };
            if n >= nt {
                let jobs = (0..nt).map(|w| Job::Dots {
                    a,
                    b,
                    out: c,
                    ldo: n,
                    m,
                    k,
                    rows: share(n, 1, nt, w),
                    ks: 0..k,
                    acc: d.accumulate,
                });
                run_all(level, jobs.collect());
            } else {
                // Few long dot products: split the depth, then add the partial sums in order.
                let mut partial = vec![0.0f32; nt * m * n];
                let p = OutPtr(partial.as_mut_ptr());
                let jobs = (0..nt).map(|w| Job::Dots {
                    a,
                    b,
                    // SAFETY: worker w's `m * n` block of `partial`.
                    out: OutPtr(unsafe { p.get().add(w * m * n) }),
                    ldo: n,
                    m,
                    k,
                    rows: 0..n,
                    ks: share(k, LANES, nt, w),
                    acc: false,
                });
                run_all(level, jobs.collect());
                for e in 0..m * n {
                    let sum = partial[e..].iter().step_by(m * n).sum::<f32>();
                    // SAFETY: e < m*n, inside this product's C block; the workers have joined.
                    unsafe {
                        let o = c.get().add(e);
                        *o = if d.accumulate { *o + sum } else { sum };
                    }
                }
            }
        }
    }

    fn run(level: SimdLevel, job: &Job) {
        match level {
            // SAFETY: `matmul` asserted that this CPU has the level's features.
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => unsafe { run_avx512(job) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2Fma => unsafe { run_avx2(job) },
            _ => run_body(job),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(job: &Job) {
        run_body(job)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(job: &Job) {
        run_body(job)
    }

    #[inline(always)]
    fn run_body(job: &Job) {
        match *job {
            Job::Outer { a, b, c, n, ref elems, acc } => {
                let mut e = elems.start;
                while e < elems.end {
                    let (i, j0) = (e / n, e % n);
                    let j1 = n.min(j0 + elems.end - e);
                    // SAFETY: elements e..e + (j1 - j0) of row i lie in this job's range of C.
                    let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(e), j1 - j0) };
                    scale(a[i], &b[j0..j1], row, acc);
                    e += j1 - j0;
                }
            }
            Job::Rows { a, b, c, d, ref cols } => {
                let (m, k, n) = (d.m, d.k, d.n);
                for j0 in cols.clone().step_by(NB) {
                    let w = NB.min(cols.end - j0);
                    for i in 0..m {
                        // SAFETY: columns j0..j0+w of row i are in this job's columns of C.
                        let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(i * n + j0), w) };
                        let a_i0 = if d.trans_a { a[i] } else { a[i * k] };
                        scale(a_i0, &b[j0..j0 + w], row, d.accumulate);
                    }
                    for p in 1..k {
                        let b_p = &b[p * n + j0..][..w];
                        for i in 0..m {
                            // SAFETY: as above.
                            let row = unsafe { std::slice::from_raw_parts_mut(c.get().add(i * n + j0), w) };
                            let a_ip = if d.trans_a { a[p * m + i] } else { a[i * k + p] };
                            axpy(a_ip, b_p, row);
                        }
                    }
                }
            }
            Job::Dots { a, b, out, ldo, m, k, ref rows, ref ks, acc } => {
                for j in rows.clone() {
                    let b_j = &b[j * k..][..k];
                    let mut sums = [0.0f32; MAX_M];
                    for p0 in ks.clone().step_by(KB) {
                        let p1 = ks.end.min(p0 + KB);
                        for (i, sum) in sums.iter_mut().enumerate().take(m) {
                            *sum += dot(&a[i * k + p0..i * k + p1], &b_j[p0..p1]);
                        }
                    }
                    for (i, &sum) in sums.iter().enumerate().take(m) {
                        // SAFETY: (i, j) with j in this job's rows, inside `out`'s m x ldo block.
                        unsafe {
                            let o = out.get().add(i * ldo + j);
                            *o = if acc { *o + sum } else { sum };
                        }
                    }
                }
            }
        }
    }

    /// `y = alpha * x (+ y)`.
    #[inline(always)]
    fn scale(alpha: f32, x: &[f32], y: &mut [f32], acc: bool) {
        if acc {
            axpy(alpha, x, y);
        } else {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = alpha * x;
            }
        }
    }

    /// `y += alpha * x`.
    #[inline(always)]
    fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y += alpha * x;
        }
    }

    /// `x · y` with `LANES` independent partial sums.
    #[inline(always)]
    fn dot(x: &[f32], y: &[f32]) -> f32 {
        let mut acc = [0.0f32; LANES];
        let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
        let tail = xc.remainder().iter().zip(yc.remainder()).map(|(&x, &y)| x * y).sum::<f32>();
        for (x, y) in xc.zip(yc) {
            for l in 0..LANES {
                acc[l] += x[l] * y[l];
            }
        }
        let mut w = LANES;
        while w > 1 {
            w /= 2;
            for l in 0..w {
                acc[l] += acc[l + w];
            }
        }
        acc[0] + tail
    }
}

// ---- micro-kernels ------------------------------------------------------------------------

/// Plain Rust, 8x8: 16 NEON registers of accumulators out of 32; LLVM vectorizes the loop.
struct Portable;

impl Kernel for Portable {
    const MR: usize = 8;
    const NR: usize = 8;
    const KC: usize = 256;
    const NC: usize = 512;

    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, mr: usize, nr: usize, add: bool) {
        const MR: usize = Portable::MR;
        const NR: usize = Portable::NR;
        let a = std::slice::from_raw_parts(a, kc * MR);
        let b = std::slice::from_raw_parts(b, kc * NR);
        let mut acc = [[0.0f32; NR]; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
            for (row, &av) in acc.iter_mut().zip(ap) {
                for (x, &bv) in row.iter_mut().zip(bp) {
                    *x += av * bv;
                }
            }
        }
        store_partial(acc.as_flattened(), NR, c, ldc, mr, nr, add);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{store_partial, Kernel};
    use std::arch::x86_64::*;

    /// AVX-512F, 8x32: 16 zmm accumulators (enough independent FMA chains to cover the
    /// 4-cycle latency), two B loads, A broadcast straight from memory into the FMA.
    pub struct Avx512;

    impl Kernel for Avx512 {
        const MR: usize = 8;
        const NR: usize = 32;
        const KC: usize = 256;
        const NC: usize = 512;

        unsafe fn tile(
            kc: usize,
            a: *const f32,
            b: *const f32,
            c: *mut f32,
            ldc: usize,
            mr: usize,
            nr: usize,
            add: bool,
        ) {
            avx512_8x32(kc, a, b, c, ldc, mr, nr, add)
        }
    }

    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn avx512_8x32(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
        add: bool,
    ) {
        const MR: usize = Avx512::MR;
        const NR: usize = Avx512::NR;
        // C is needed only after the depth loop: start fetching its rows now.
        for r in 0..mr {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(r * ldc + 16) as *const i8);
        }
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        for p in 0..kc {
            let b0 = _mm512_loadu_ps(b.add(p * NR));
            let b1 = _mm512_loadu_ps(b.add(p * NR + 16));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(p * MR + r));
                row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                row[1] = _mm512_fmadd_ps(av, b1, row[1]);
            }
        }
        // Masked loads/stores touch only the `nr` valid columns of a partial tile (a zero mask
        // touches no memory, hence `wrapping_add` for a second half that may lie past C).
        let lanes = |n: usize| -> __mmask16 { ((1u32 << n.min(16)) - 1) as __mmask16 };
        let (m0, m1) = (lanes(nr), lanes(nr.saturating_sub(16)));
        for (r, row) in acc.iter().enumerate().take(mr) {
            let out = c.add(r * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if add {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, out));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, out.wrapping_add(16)));
            }
            _mm512_mask_storeu_ps(out, m0, v0);
            _mm512_mask_storeu_ps(out.wrapping_add(16), m1, v1);
        }
    }

    /// AVX2 + FMA, 6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast of the 16 registers.
    pub struct Avx2;

    impl Kernel for Avx2 {
        const MR: usize = 6;
        const NR: usize = 16;
        const KC: usize = 256;
        const NC: usize = 512;

        unsafe fn tile(
            kc: usize,
            a: *const f32,
            b: *const f32,
            c: *mut f32,
            ldc: usize,
            mr: usize,
            nr: usize,
            add: bool,
        ) {
            avx2_6x16(kc, a, b, c, ldc, mr, nr, add)
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn avx2_6x16(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
        add: bool,
    ) {
        const MR: usize = Avx2::MR;
        const NR: usize = Avx2::NR;
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        for p in 0..kc {
            let b0 = _mm256_loadu_ps(b.add(p * NR));
            let b1 = _mm256_loadu_ps(b.add(p * NR + 8));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*a.add(p * MR + r));
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
        }
        if mr == MR && nr == NR {
            for (r, row) in acc.iter().enumerate() {
                let out = c.add(r * ldc);
                let (mut v0, mut v1) = (row[0], row[1]);
                if add {
                    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(out));
                    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(out.add(8)));
                }
                _mm256_storeu_ps(out, v0);
                _mm256_storeu_ps(out.add(8), v1);
            }
        } else {
            let mut tile = [0.0f32; MR * NR];
            for (r, row) in acc.iter().enumerate() {
                _mm256_storeu_ps(tile.as_mut_ptr().add(r * NR), row[0]);
                _mm256_storeu_ps(tile.as_mut_ptr().add(r * NR + 8), row[1]);
            }
            store_partial(&tile, NR, c, ldc, mr, nr, add);
        }
    }
}
