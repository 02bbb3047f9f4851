//! Register-blocked micro-kernels: a portable one (LLVM vectorizes it) and the x86 intrinsics ones.

use super::driver::Kernel;

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

/// Plain Rust, 8x8: 16 NEON registers of accumulators out of 32; LLVM vectorizes the loop.
pub(super) struct Portable;

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
pub(super) mod x86 {
    use super::{store_partial, Kernel};
    use std::arch::x86_64::*;

    /// Both x86 kernels are `MR` rows by two vectors of B: `impl Kernel` for `$kernel`
    /// calls the `#[target_feature]` function `$tile`.
    macro_rules! two_vector_kernel {
        ($kernel:ident, $mr:expr, $nr:expr, $tile:ident) => {
            impl Kernel for $kernel {
                const MR: usize = $mr;
                const NR: usize = $nr;
                const KC: usize = 256;
                const NC: usize = 1024;

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
                    $tile(kc, a, b, c, ldc, mr, nr, add)
                }
            }
        };
    }

    /// The depth loop of both x86 kernels, written once over the vector width: per depth step
    /// two B vectors (`$half` floats apart) and, per row, A broadcast into two FMAs.
    /// Evaluates to the `[[vector; 2]; $mr]` accumulators. `a`, `b` are the packed panels.
    macro_rules! two_vector_depth_loop {
        ($kc:expr, $a:expr, $b:expr, $mr:expr, $nr:expr, $half:expr,
         $zero:ident, $load:ident, $set1:ident, $fmadd:ident) => {{
            let mut acc = [[$zero(); 2]; $mr];
            for p in 0..$kc {
                let b0 = $load($b.add(p * $nr));
                let b1 = $load($b.add(p * $nr + $half));
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = $set1(*$a.add(p * $mr + r));
                    row[0] = $fmadd(av, b0, row[0]);
                    row[1] = $fmadd(av, b1, row[1]);
                }
            }
            acc
        }};
    }

    /// AVX-512F, 8x32: 16 zmm accumulators (enough independent FMA chains to cover the
    /// 4-cycle latency), two B loads, A broadcast straight from memory into the FMA.
    pub struct Avx512;
    two_vector_kernel!(Avx512, 8, 32, avx512_8x32);

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
        let acc = two_vector_depth_loop!(
            kc,
            a,
            b,
            MR,
            NR,
            16,
            _mm512_setzero_ps,
            _mm512_loadu_ps,
            _mm512_set1_ps,
            _mm512_fmadd_ps
        );
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
    two_vector_kernel!(Avx2, 6, 16, avx2_6x16);

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
        let acc = two_vector_depth_loop!(
            kc,
            a,
            b,
            MR,
            NR,
            8,
            _mm256_setzero_ps,
            _mm256_loadu_ps,
            _mm256_set1_ps,
            _mm256_fmadd_ps
        );
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
