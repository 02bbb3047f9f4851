//! Max pooling and nearest-neighbour upsampling.

/// Max-pooling window over NCHW images. Output size follows PyTorch's `MaxPool2d`
/// (floor, or ceil with `ceil_mode`, where a window must start inside the padded input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub ceil_mode: bool,
}

impl PoolGeom {
    fn out_len(&self, size: usize) -> usize {
        let span = size + 2 * self.padding - self.kernel;
        let mut out = if self.ceil_mode { span.div_ceil(self.stride) + 1 } else { span / self.stride + 1 };
        // PyTorch: the last window must start inside the input or the left padding.
        if self.ceil_mode && (out - 1) * self.stride >= size + self.padding {
            out -= 1;
        }
        out
    }
    pub fn out_h(&self) -> usize {
        self.out_len(self.height)
    }
    pub fn out_w(&self) -> usize {
        self.out_len(self.width)
    }
    pub fn in_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
    pub fn out_len_total(&self) -> usize {
        self.batch * self.channels * self.out_h() * self.out_w()
    }
}

/// Nearest-neighbour upsampling of NCHW images by an integer factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UpsampleGeom {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub scale: usize,
}

impl UpsampleGeom {
    pub fn in_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }
    pub fn out_len(&self) -> usize {
        self.in_len() * self.scale * self.scale
    }
}

/// Max pooling; `argmax[o]` = `h*W + w` of the winner within its channel plane.
pub fn max_pool2d(x: &[f32], y: &mut [f32], argmax: &mut [u32], geom: PoolGeom) {
    let _ = (x, y, argmax, geom);
    todo!()
}

/// `dx` (overwritten) receives each `dy` at its argmax.
pub fn max_pool2d_backward(dy: &[f32], argmax: &[u32], dx: &mut [f32], geom: PoolGeom) {
    let _ = (dy, argmax, dx, geom);
    todo!()
}

/// Nearest-neighbour upsampling.
pub fn upsample2d(x: &[f32], y: &mut [f32], geom: UpsampleGeom) {
    let _ = (x, y, geom);
    todo!()
}

/// `dx` = sum of `dy` over each `scale x scale` block.
pub fn upsample2d_backward(dy: &[f32], dx: &mut [f32], geom: UpsampleGeom) {
    let _ = (dy, dx, geom);
    todo!()
}
