//! Matmul validation cases: every transpose, accumulate, batched strides (0 = broadcast),
//! both tile variants, shapes that are 1, primes, non-multiples of the tiles and aligned.

use super::{Case, Pair, Row};
use crate::backend::prelude::*;
use crate::backend::MatmulDims;
use crate::error::Result;

/// Two f32 dot products of length k (GPU fma chain, CPU mul+add chain) each err by at
/// most about k rounding units relative to `sum_k |a||b|`; +2 for the accumulate add.
pub fn tol_matmul(k: usize) -> f64 {
    (k + 2) as f64 * f32::EPSILON as f64
}

/// Element (i, j) of `op(X)` for row-major storage at `off`.
fn at(x: &[f32], off: usize, rows: usize, cols: usize, trans: bool, i: usize, j: usize) -> f32 {
    if trans {
        x[off + j * rows + i]
    } else {
        x[off + i * cols + j]
    }
}

/// `scale[c] = sum_k |op(A)_ik| |op(B)_kj| (+ |C_old|)`: the size of what was summed.
fn scale(a: &[f32], b: &[f32], c_old: &[f32], d: &MatmulDims) -> Vec<f32> {
    let mut s = vec![0.0f32; d.c_len()];
    for t in 0..d.batch {
        for i in 0..d.m {
            for j in 0..d.n {
                let mut acc = 0.0f64;
                for p in 0..d.k {
                    let x = at(a, t * d.stride_a, d.m, d.k, d.trans_a, i, p);
                    let y = at(b, t * d.stride_b, d.k, d.n, d.trans_b, p, j);
                    acc += (x as f64 * y as f64).abs();
                }
                let idx = t * d.stride_c + i * d.n + j;
                if d.accumulate {
                    acc += c_old[idx].abs() as f64;
                }
                s[idx] = acc as f32;
            }
        }
    }
    s
}

fn run(p: &mut Pair, d: MatmulDims, tile: usize) -> Result<Vec<Row>> {
    let a_data = p.uniform(d.a_len(), -1.0, 1.0);
    let b_data = p.uniform(d.b_len(), -1.0, 1.0);
    let a = p.both(&a_data, "A")?;
    let b = p.both(&b_data, "B")?;
    // Accumulating outputs start from the same data on both sides (an unwritten element
    // keeps it and fails); overwritten outputs are poisoned on the GPU.
    let c_old = if d.accumulate { p.uniform(d.c_len(), -1.0, 1.0) } else { vec![0.0; d.c_len()] };
    let c = if d.accumulate { p.both(&c_old, "C")? } else { p.output(d.c_len(), "C")? };
    p.gpu.matmul_with_tile(&a.gpu, &b.gpu, &c.gpu, d, tile)?;
    p.cpu_run(|cpu| cpu.matmul(&a.cpu, &b.cpu, &c.cpu, d))?;
    let s = scale(&a_data, &b_data, &c_old, &d);
    // Gaps between batches (stride_c > m*n) are never written: compare only real outputs.
    let row = p.compare("", &c, &s, 0.0, tol_matmul(d.k))?;
    if d.batch > 1 && d.stride_c > d.m * d.n {
        return Ok(vec![strided_row(p, &c, &s, &d, row)?]);
    }
    Ok(vec![row])
}

/// Like `Pair::compare` but skipping the unwritten gaps of a strided C.
fn strided_row(p: &Pair, c: &super::Both, s: &[f32], d: &MatmulDims, mut row: Row) -> Result<Row> {
    let g = p.gpu.download(&c.gpu)?;
    let r = p.cpu.download(&c.cpu)?;
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    for t in 0..d.batch {
        for e in 0..d.m * d.n {
            let i = t * d.stride_c + e;
            let diff = (g[i] as f64 - r[i] as f64).abs();
            let diff = if diff.is_nan() { f64::INFINITY } else { diff };
            max_abs = max_abs.max(diff);
            max_rel = max_rel.max(diff / (r[i].abs().max(s[i]) as f64).max(f64::MIN_POSITIVE));
        }
    }
    row.max_abs = max_abs;
    row.max_rel = max_rel;
    row.pass = max_rel <= row.tol;
    Ok(row)
}

fn describe(d: &MatmulDims, tile: usize) -> String {
    let mut s = format!("{}x{}x{}", d.m, d.k, d.n);
    if d.batch > 1 {
        s += &format!(" b{} s{},{},{}", d.batch, d.stride_a, d.stride_b, d.stride_c);
    }
    if d.trans_a {
        s += " tA";
    }
    if d.trans_b {
        s += " tB";
    }
    if d.accumulate {
        s += " acc";
    }
    s + &format!(" t{tile}")
}

fn case(d: MatmulDims, tile: usize) -> Case {
    Case::new("matmul", describe(&d, tile), move |p| run(p, d, tile))
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let shapes = [(1, 1, 1), (7, 13, 97), (97, 7, 13), (13, 257, 7), (64, 64, 64), (65, 9, 130), (128, 16, 132)];
    for &(m, k, n) in &shapes {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for tile in [64, 128] {
                v.push(case(MatmulDims::new(m, k, n).trans_a(ta).trans_b(tb), tile));
            }
        }
    }
    // Accumulate, on aligned (vec4 loads) and odd shapes.
    for &(m, k, n) in &[(64, 32, 64), (7, 13, 97), (129, 8, 68)] {
        for tile in [64, 128] {
            v.push(case(MatmulDims::new(m, k, n).accumulate(true), tile));
            v.push(case(MatmulDims::new(m, k, n).trans_a(true).trans_b(true).accumulate(true), tile));
        }
    }
    // k = 0: C = 0 (or unchanged when accumulating).
    v.push(case(MatmulDims::new(5, 0, 3), 64));
    v.push(case(MatmulDims::new(5, 0, 3).accumulate(true), 64));
    // Batched: strides with gaps, broadcast A or B (stride 0), aligned and odd.
    v.push(case(MatmulDims::new(7, 5, 3).batched(3, 35, 15, 21), 64));
    v.push(case(MatmulDims::new(7, 5, 3).batched(4, 0, 17, 25).trans_a(true), 64));
    v.push(case(MatmulDims::new(8, 12, 16).batched(5, 96, 0, 128).trans_b(true), 128));
    v.push(case(MatmulDims::new(16, 8, 20).batched(3, 0, 160, 320).accumulate(true), 64));
    v.push(case(MatmulDims::new(3, 4, 5).batched(130, 12, 20, 15), 128));
    // Batched full tiles with 4-aligned strides: the vec4 loads at nonzero batch offsets.
    v.push(case(MatmulDims::new(64, 8, 64).batched(3, 516, 0, 4100).trans_a(true), 64));
    v.push(case(MatmulDims::new(128, 12, 128).batched(2, 0, 1540, 16388).trans_b(true).accumulate(true), 128));
    // Aligned except the batch stride: scalar loads everywhere.
    v.push(case(MatmulDims::new(64, 8, 64).batched(2, 513, 515, 4097), 64));
    // The larger awkward case and a typical autoencoder layer (batch 64, 784 -> 96).
    v.push(case(MatmulDims::new(300, 517, 129), 64));
    v.push(case(MatmulDims::new(300, 517, 129).trans_a(true).trans_b(true), 128));
    v.push(case(MatmulDims::new(64, 784, 96).trans_b(true), 64));
    v
}
