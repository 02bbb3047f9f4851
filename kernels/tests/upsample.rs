//! Nearest-neighbour upsampling (kernels/src/upsample.rs): fast paths against the scalar
//! specification, and the backward against its forward (adjoint identity).

mod kernel_util;

use autoenc_kernels::upsample::{
    upsample2d, upsample2d_backward, upsample2d_backward_fast, upsample2d_backward_scalar, upsample2d_fast,
    upsample2d_scalar,
};
use autoenc_kernels::UpsampleGeom;
use kernel_util::layout_util::{assert_bitwise, assert_close, dot, random};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn upsample_geoms() -> Vec<UpsampleGeom> {
    let mut out = Vec::new();
    for (batch, channels) in [(1, 1), (3, 4)] {
        for (height, width) in [(7, 7), (5, 9), (1, 1)] {
            for scale in [1, 2, 3] {
                out.push(UpsampleGeom { batch, channels, height, width, scale });
            }
        }
    }
    out.push(UpsampleGeom { batch: 8, channels: 8, height: 40, width: 40, scale: 2 });
    out
}

// ---- upsampling -----------------------------------------------------------------------------

#[test]
fn upsample2d_fast_matches_scalar_and_definition() {
    let mut rng = StdRng::seed_from_u64(11);
    for g in upsample_geoms() {
        let x = random(&mut rng, g.in_len());
        let mut want = vec![f32::NAN; g.out_len()];
        upsample2d_scalar(&x, &mut want, g);
        let mut got = vec![f32::NAN; g.out_len()];
        upsample2d_fast(&x, &mut got, g);
        assert_bitwise(&format!("upsample fast {g:?}"), &got, &want);
        let mut got = vec![f32::NAN; g.out_len()];
        upsample2d(&x, &mut got, g);
        assert_bitwise(&format!("upsample {g:?}"), &got, &want);
        // Every output against the definition y[n,c,oy,ox] = x[n,c,oy/s,ox/s].
        let (s, (h, w)) = (g.scale, (g.height, g.width));
        for (o, &got) in want.iter().enumerate() {
            let (plane, oy, ox) = (o / (h * s * w * s), (o / (w * s)) % (h * s), o % (w * s));
            let src = x[plane * h * w + (oy / s) * w + ox / s];
            assert_eq!(
                got.to_bits(),
                src.to_bits(),
                "upsample {g:?}: output {o} is not x at ({plane}, {}, {})",
                oy / s,
                ox / s
            );
        }
    }
}

#[test]
fn upsample2d_backward_is_adjoint_and_fast_matches_scalar() {
    let mut rng = StdRng::seed_from_u64(12);
    for g in upsample_geoms() {
        let x = random(&mut rng, g.in_len());
        let dy = random(&mut rng, g.out_len());
        let mut y = vec![0.0; g.out_len()];
        upsample2d(&x, &mut y, g);
        let mut want = vec![f32::NAN; g.in_len()];
        upsample2d_backward_scalar(&dy, &mut want, g);
        let mut got = vec![f32::NAN; g.in_len()];
        upsample2d_backward_fast(&dy, &mut got, g);
        assert_bitwise(&format!("upsample backward fast {g:?}"), &got, &want);
        let mut dx = vec![f32::NAN; g.in_len()];
        upsample2d_backward(&dy, &mut dx, g);
        assert_bitwise(&format!("upsample backward {g:?}"), &dx, &want);
        let (lhs, scale) = dot(&y, &dy);
        let (rhs, _) = dot(&x, &dx);
        assert_close(&format!("upsample adjoint {g:?}"), lhs, rhs, scale, 1e-5);
    }
}
