//! Validation cases for the conv-family kernels (im2col, col2im, swap_leading_axes,
//! pooling, upsampling) and the contractive penalty. Filled by the conv kernels' issue.

use super::Case;

/// The conv-family cases (see `super::Pair` for the helpers and `super::matmul` for an
/// example).
pub fn cases() -> Vec<Case> {
    Vec::new()
}
