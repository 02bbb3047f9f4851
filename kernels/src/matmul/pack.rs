//! Packing of op(A) and op(B) into zero-padded micro-panels, and the per-worker buffers.

use super::driver::Kernel;
use super::spec::Mat;
use super::MatmulDims;
use std::cell::Cell;

/// Packing buffers of one worker, 64-byte aligned so that vector loads never split a cache line.
#[derive(Default)]
pub(super) struct Buffers {
    pub(super) a: AlignedBuf,
    pub(super) b: AlignedBuf,
}

thread_local! {
    /// One set per worker, kept by the calling thread between calls (up to `KC * NC` floats
    /// each), so that no call pays for allocating and faulting in fresh pages, not even in the
    /// worker threads, which are new each time.
    pub(super) static BUFFERS: Cell<Vec<Buffers>> = Cell::default();
}

impl Buffers {
    /// This thread's sets, at least `nt`, the first `nt` grown to what `d` needs; give them
    /// back to `BUFFERS` (a small call after a threaded one must not free the workers' sets).
    pub(super) fn take<K: Kernel>(d: &MatmulDims, nt: usize) -> Vec<Self> {
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
pub(super) struct AlignedBuf(Vec<Line>);

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
pub(super) fn pack_a(a: Mat, i0: usize, mr: usize, p0: usize, kc: usize, mr_full: usize, dst: &mut [f32]) {
    let dst = &mut dst[..kc * mr_full];
    if a.rs == 1 {
        // A stored transposed: each depth step of the panel is contiguous.
        for (p, group) in dst.chunks_exact_mut(mr_full).enumerate() {
            group[..mr].copy_from_slice(&a.data[(p0 + p) * a.cs + i0..][..mr]);
            group[mr..].fill(0.0);
        }
    } else {
        debug_assert_eq!(a.cs, 1);
        #[cfg(target_arch = "x86_64")]
        if mr == mr_full && matches!(mr_full, 6 | 8) && is_x86_feature_detected!("avx2") {
            let rows = &a.data[i0 * a.rs + p0..][..(mr - 1) * a.rs + kc];
            // SAFETY: `rows` holds the `mr` rows of `kc` floats at stride `a.rs` (sliced above),
            // `dst` holds `kc * mr_full` floats, and this CPU has AVX2.
            unsafe { x86::pack_a_rows(rows.as_ptr(), a.rs, kc, mr_full, dst.as_mut_ptr()) };
            return;
        }
        // A stored as is: read each row once, scatter it with stride `mr_full`.
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
pub(super) fn pack_b(b: Mat, p0: usize, kc: usize, j0: usize, nc: usize, nr_full: usize, dst: &mut [f32]) {
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `dst[p * mr + r] = src[r * lda + p]` for `r < mr` (6 or 8), `p < kc`: eight depth
    /// steps at a time through an 8x8 transpose in registers (rows past `mr` read as zero),
    /// the last `kc % 8` one by one. The scalar scatter it replaces wrote one
    /// float per store and cost about 6% of a 256 x 784 x 256 product.
    ///
    /// # Safety
    /// `src` is readable at `r * lda + p` for `r < mr`, `p < kc`; `dst` is writable for
    /// `kc * mr` floats; the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn pack_a_rows(src: *const f32, lda: usize, kc: usize, mr: usize, dst: *mut f32) {
        debug_assert!(mr == 6 || mr == 8);
        let store_mask = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
        let row = |r: usize, p: usize| if r < mr { _mm256_loadu_ps(src.add(r * lda + p)) } else { _mm256_setzero_ps() };
        let full = kc - kc % 8;
        for p in (0..full).step_by(8) {
            let cols =
                transpose8([row(0, p), row(1, p), row(2, p), row(3, p), row(4, p), row(5, p), row(6, p), row(7, p)]);
            for (j, col) in cols.into_iter().enumerate() {
                let at = dst.add((p + j) * mr);
                // With 6 rows a full store spills 2 zeros into the next group, which the next
                // store (or the tail loop) overwrites; only the panel's last group is masked.
                if mr == 8 || p + j + 1 < kc {
                    _mm256_storeu_ps(at, col);
                } else {
                    _mm256_maskstore_ps(at, store_mask, col);
                }
            }
        }
        for p in full..kc {
            for r in 0..mr {
                *dst.add(p * mr + r) = *src.add(r * lda + p);
            }
        }
    }

    /// Rows `r[i]` in, columns out: `out[j][i] = r[i][j]`.
    #[target_feature(enable = "avx2")]
    fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}
