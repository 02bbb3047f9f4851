//! `swap_leading_axes` (kernels/src/layout.rs): the fast path against the scalar
//! specification and the definition.

mod kernel_util;

use autoenc_kernels::layout::{swap_leading_axes, swap_leading_axes_fast, swap_leading_axes_scalar};
use kernel_util::layout_util::{assert_bitwise, random};
use rand::rngs::StdRng;
use rand::SeedableRng;

// ---- swap_leading_axes --------------------------------------------------------------------

#[test]
fn swap_leading_axes_fast_matches_scalar_and_twice_is_identity() {
    let mut rng = StdRng::seed_from_u64(6);
    let shapes = [(1, 1, 1), (1, 5, 3), (5, 1, 3), (3, 4, 1), (7, 5, 17), (33, 17, 2), (64, 32, 196), (700, 500, 1)];
    for (a, b, inner) in shapes {
        let x = random(&mut rng, a * b * inner);
        let mut want = vec![f32::NAN; x.len()];
        swap_leading_axes_scalar(&x, &mut want, a, b, inner);
        let mut got = vec![f32::NAN; x.len()];
        swap_leading_axes_fast(&x, &mut got, a, b, inner);
        assert_bitwise(&format!("swap fast {a}x{b}x{inner}"), &got, &want);
        let mut got = vec![f32::NAN; x.len()];
        swap_leading_axes(&x, &mut got, a, b, inner);
        assert_bitwise(&format!("swap {a}x{b}x{inner}"), &got, &want);
        // Spot check of the definition: out[j, i, k] = x[i, j, k].
        let (i, j, k) = (a - 1, b / 2, inner - 1);
        assert_eq!(want[(j * a + i) * inner + k], x[(i * b + j) * inner + k]);
        let mut back = vec![f32::NAN; x.len()];
        swap_leading_axes(&want, &mut back, b, a, inner);
        assert_bitwise(&format!("swap twice {a}x{b}x{inner}"), &back, &x);
    }
}
