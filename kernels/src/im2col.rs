//! im2col (conv windows -> matrix columns) and the axis swap used around it.

/// Geometry of a 2-D convolution window over NCHW images, shared by im2col / col2im.
///
/// The column matrix is in the *batched* layout `[C*KH*KW, N*OH*OW]`: row
/// `(c*KH + ki)*KW + kj`, column `(n*OH + oh)*OW + ow`, so that one matmul serves the
/// whole batch. Padding reads zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        (self.height + 2 * self.padding - self.dilation * (self.kernel_h - 1) - 1) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.width + 2 * self.padding - self.dilation * (self.kernel_w - 1) - 1) / self.stride + 1
    }
    /// Rows of the column matrix: C*KH*KW.
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }
    /// Columns of the column matrix: N*OH*OW.
    pub fn col_cols(&self) -> usize {
        self.batch * self.out_h() * self.out_w()
    }
    pub fn image_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
}

/// NCHW `x` -> columns `[C*KH*KW, N*OH*OW]`; padding reads 0.
pub fn im2col(x: &[f32], cols: &mut [f32], geom: ConvGeom) {
    let _ = (x, cols, geom);
    todo!()
}

/// `[a, b, inner] -> [b, a, inner]`.
pub fn swap_leading_axes(x: &[f32], out: &mut [f32], a: usize, b: usize, inner: usize) {
    let _ = (x, out, a, b, inner);
    todo!()
}
