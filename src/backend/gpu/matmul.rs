//! Host side of `shaders/matmul.wgsl`: shape checks, tile-size choice, grid splitting.

use super::{GpuBackend, GpuBuf, Kernel, MatmulDims, MatmulOps, Shader};
use crate::error::Result;

const SHADER: Shader = Shader { name: "matmul", source: include_str!("../../../shaders/matmul.wgsl") };

/// 128 x 128 tiles, 16 x 16 invocations, 8 x 8 outputs each.
const TILE128: Kernel = Kernel::new(SHADER, "matmul", "rrw")
    .with_constants("_tile128", &[("T", 16.0), ("TILE_VEC4", 32.0), ("STAGE_VEC4", 256.0)]);
/// 64 x 64 tiles, 8 x 8 invocations, 8 x 8 outputs each: four times the workgroups.
const TILE64: Kernel = Kernel::new(SHADER, "matmul", "rrw")
    .with_constants("_tile64", &[("T", 8.0), ("TILE_VEC4", 16.0), ("STAGE_VEC4", 128.0)]);

/// Below this many 128-tiles the GPU is under-filled (an H100 has 132 SMs): use 64-tiles.
const MIN_TILES_FOR_128: usize = 128;

/// The tile edge used for `dims`: env `AUTOENC_MATMUL_TILE=64|128` forces one (benchmarks).
pub(crate) fn tile_for(dims: &MatmulDims) -> usize {
    match std::env::var("AUTOENC_MATMUL_TILE").ok().as_deref() {
        Some("64") => return 64,
        Some("128") => return 128,
        _ => {}
    }
    let tiles128 = dims.m.div_ceil(128) * dims.n.div_ceil(128) * dims.batch;
    if tiles128 >= MIN_TILES_FOR_128 {
        128
    } else {
        64
    }
}

/// `matmul` with a chosen tile edge (64 or 128).
pub(super) fn matmul_tile(
    gpu: &GpuBackend,
    a: &GpuBuf,
    b: &GpuBuf,
    c: &GpuBuf,
    dims: MatmulDims,
    tile: usize,
) -> Result<()> {
    let d = dims;
    if d.batch == 0 || d.m == 0 || d.n == 0 {
        return Ok(());
    }
    gpu.check_len(a, d.a_len(), "matmul A")?;
    gpu.check_len(b, d.b_len(), "matmul B")?;
    gpu.check_len(c, d.c_len(), "matmul C")?;
    crate::ensure_shape!(
        d.batch == 1 || d.stride_c >= d.m * d.n,
        "matmul: stride_c {} < m*n = {} would make batches write the same outputs",
        d.stride_c,
        d.m * d.n
    );
    // Every index the shader forms is below one of these lengths.
    for (len, what) in [(d.a_len(), "A"), (d.b_len(), "B"), (d.c_len(), "C")] {
        super::reduce::check_u32(len, &format!("matmul {what}"))?;
    }
    let kernel = match tile {
        128 => &TILE128,
        64 => &TILE64,
        _ => return Err(crate::error::Error::Config(format!("matmul tile {tile}: use 64 or 128"))),
    };
    let aligned =
        |contiguous: usize, stride: usize| contiguous.is_multiple_of(4) && (d.batch == 1 || stride.is_multiple_of(4));
    let vec_a = aligned(if d.trans_a { d.m } else { d.k }, d.stride_a);
    let vec_b = aligned(if d.trans_b { d.k } else { d.n }, d.stride_b);
    let flags = d.trans_a as u32
        | (d.trans_b as u32) << 1
        | (d.accumulate as u32) << 2
        | (vec_a as u32) << 3
        | (vec_b as u32) << 4;
    let (tiles_m, tiles_n) = (d.m.div_ceil(tile), d.n.div_ceil(tile));
    // One dispatch per chunk of at most `max` workgroups in each grid dimension.
    let max = gpu.max_groups() as usize;
    for batch0 in (0..d.batch).step_by(max) {
        for tm0 in (0..tiles_m).step_by(max) {
            for tn0 in (0..tiles_n).step_by(max) {
                let params = [
                    d.m as u32,
                    d.n as u32,
                    d.k as u32,
                    flags,
                    d.stride_a as u32,
                    d.stride_b as u32,
                    d.stride_c as u32,
                    tm0 as u32,
                    tn0 as u32,
                    batch0 as u32,
                ];
                let grid = [
                    (tiles_n - tn0).min(max) as u32,
                    (tiles_m - tm0).min(max) as u32,
                    (d.batch - batch0).min(max) as u32,
                ];
                gpu.dispatch(kernel, &[a, b, c], &params, grid)?;
            }
        }
    }
    Ok(())
}

impl MatmulOps for GpuBackend {
    fn matmul(&self, a: &GpuBuf, b: &GpuBuf, c: &GpuBuf, dims: MatmulDims) -> Result<()> {
        matmul_tile(self, a, b, c, dims, tile_for(&dims))
    }
}
