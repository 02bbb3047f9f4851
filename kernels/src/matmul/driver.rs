//! The packed driver: cache blocking, the micro-kernel trait, and threads over output pieces.

use super::pack::{pack_a, pack_b, Buffers, BUFFERS};
use super::spec::{operands, Mat};
use super::MatmulDims;
use std::ops::Range;
use std::sync::Mutex;

/// A register-blocked micro-kernel and the cache blocking that feeds it.
pub(super) trait Kernel {
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
/// start-up; 256^3 and the autoencoder's layers are above it. Chosen when each call spawned
/// its threads (tens of us); the worker pool wakes them for less, and the bound has not
/// been re-measured since.
pub(super) const PAR_MIN_MACS: usize = 1 << 23;

/// The output pointer shared by the worker threads.
#[derive(Clone, Copy)]
pub(super) struct OutPtr(pub(super) *mut f32);
// SAFETY: each worker writes only the output rows/columns (or batch items) of its own pieces,
// which are disjoint; the scope joins every worker before the `&mut [f32]` borrow ends.
unsafe impl Send for OutPtr {}
// SAFETY: as above; the pointer itself is only copied, never used to create overlapping writes.
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// A method rather than `.0`, so closures capture the whole `Send` wrapper.
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}

/// A rectangle of the output of product `t`.
struct Piece {
    t: usize,
    rows: Range<usize>,
    cols: Range<usize>,
}

pub(super) fn packed<K: Kernel>(a: &[f32], b: &[f32], c: &mut [f32], d: MatmulDims) {
    let macs = d.batch * d.m * d.n * d.k.max(1);
    let nt = if macs >= PAR_MIN_MACS { crate::simd::threads() } else { 1 };
    let out = OutPtr(c.as_mut_ptr());
    let compute = |piece: &Piece, bufs: &mut Buffers| {
        let (op_a, op_b) = operands(a, b, &d, piece.t);
        // SAFETY: `check` proved C holds every product's `m x n` block at `t * stride_c`.
        let c_t = unsafe { out.get().add(piece.t * d.stride_c) };
        gemm::<K>(op_a, op_b, OutPtr(c_t), &d, piece, bufs);
    };
    let mut pool = Buffers::take::<K>(&d, nt);
    if nt == 1 {
        pieces::<K>(&d, 0, 1).iter().for_each(|p| compute(p, &mut pool[0]));
    } else {
        // One share per participant, but taken in turn rather than assigned: a worker whose
        // core is busy elsewhere leaves its share to whoever is free, so the call does not
        // wait on it (finer shares would repack the shared operand once per share, which cost
        // more than it saved at the autoencoder's shapes; docs/PERFORMANCE.md).
        let all: Vec<Vec<Piece>> = (0..nt).map(|s| pieces::<K>(&d, s, nt)).collect();
        // A participant's slot picks its packing buffers (no two share a slot, so each lock
        // is uncontended and costs nanoseconds).
        let sets: Vec<Mutex<&mut Buffers>> = pool[..nt].iter_mut().map(Mutex::new).collect();
        crate::workers::run(nt, &|slot, s| {
            let mut bufs = sets[slot].lock().unwrap_or_else(|e| e.into_inner());
            all[s].iter().for_each(|p| compute(p, &mut bufs));
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

/// The step that cuts `len` into the fewest blocks of at most `max`, all of about the same
/// size, rounded up to a multiple of `unit` (of which `max` is one, so the step stays <= `max`).
fn balanced(len: usize, max: usize, unit: usize) -> usize {
    let blocks = len.div_ceil(max).max(1);
    len.div_ceil(blocks).div_ceil(unit).max(1) * unit
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
    // Blocks of equal size, at most NC wide and KC deep: 784 = 4 x 196 deep, not 3 x 256 + 16,
    // whose last thin block pays a full pass over C for a sixteenth of the work.
    let (nc_step, kc_step) = (balanced(piece.cols.len(), K::NC, K::NR), balanced(d.k, K::KC, 1));
    for jc in piece.cols.clone().step_by(nc_step) {
        let nc = nc_step.min(piece.cols.end - jc);
        for pc in (0..d.k).step_by(kc_step) {
            let kc = kc_step.min(d.k - pc);
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
