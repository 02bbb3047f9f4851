//! The adjoint of im2col.

use crate::ConvGeom;

/// Scatter-adds columns `[C*KH*KW, N*OH*OW]` into NCHW `x` (zeroed first unless `accumulate`).
pub fn col2im(cols: &[f32], x: &mut [f32], geom: ConvGeom, accumulate: bool) {
    let _ = (cols, x, geom, accumulate);
    todo!()
}
