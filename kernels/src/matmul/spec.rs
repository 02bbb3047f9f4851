//! The specification: a triple loop over logical (possibly transposed) operands.

use super::{check, MatmulDims};

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

/// A logical matrix over a slice: element `(r, c)` is `data[r * rs + c * cs]`.
/// A transpose is just a swap of the two strides.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    pub(super) data: &'a [f32],
    pub(super) rs: usize,
    pub(super) cs: usize,
}

impl Mat<'_> {
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// op(A) `[m,k]` and op(B) `[k,n]` of the `t`-th product.
pub(super) fn operands<'a>(a: &'a [f32], b: &'a [f32], d: &MatmulDims, t: usize) -> (Mat<'a>, Mat<'a>) {
    let (rs_a, cs_a) = if d.trans_a { (1, d.m) } else { (d.k, 1) };
    let (rs_b, cs_b) = if d.trans_b { (1, d.k) } else { (d.n, 1) };
    (Mat { data: &a[t * d.stride_a..], rs: rs_a, cs: cs_a }, Mat { data: &b[t * d.stride_b..], rs: rs_b, cs: cs_b })
}
