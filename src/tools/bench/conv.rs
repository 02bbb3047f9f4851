//! The conv layers of the convolutional autoencoder and their forward and backward passes
//! on preallocated buffers, as `autoenc bench` and benches/kernels.rs time them.

use super::ramp;
use crate::autodiff::ops::ConvParams;
use crate::backend::prelude::*;
use crate::backend::ConvGeom;
use crate::error::Result;

/// The batch of the conv rows of `autoenc bench` (the conv autoencoder's training batch).
pub const CONV_BATCH: usize = 128;

/// One conv layer of the convolutional autoencoder (`models/conv.rs`), as the benches time it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvLayer {
    /// The layer's parameter name in the model (`encoder.1`, `decoder.2`, ...); the
    /// transposed decoder's layers are `decoderT.*`.
    pub name: &'static str,
    /// conv_transpose2d (weight `[in, out, k, k]`) instead of conv2d (weight `[out, in, k, k]`).
    pub transposed: bool,
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Input height = width.
    pub side: usize,
    /// Kernel height = width.
    pub kernel: usize,
    pub params: ConvParams,
}

impl ConvLayer {
    /// Output height = width.
    pub fn out_side(&self) -> usize {
        // The layers here are square: the height axis stands for both.
        let (p, k) = (self.params, self.kernel);
        let (s, pad, d, op) = (p.stride.0, p.padding.0, p.dilation.0, p.output_padding.0);
        if self.transposed {
            (self.side - 1) * s + d * (k - 1) + op + 1 - 2 * pad
        } else {
            (self.side + 2 * pad - d * (k - 1) - 1) / s + 1
        }
    }

    /// The im2col geometry the ops use: conv2d's own; for conv_transpose2d the conv that maps
    /// its output back onto its input (as `autodiff::ops::conv_transpose2d` builds it).
    pub fn geom(&self) -> ConvGeom {
        let (channels, side) =
            if self.transposed { (self.out_channels, self.out_side()) } else { (self.in_channels, self.side) };
        let p = self.params;
        ConvGeom::square(
            self.batch,
            channels,
            side,
            side,
            (self.kernel, self.kernel),
            p.stride.0,
            p.padding.0,
            p.dilation.0,
        )
    }

    /// Useful FLOPs of the forward pass, 2 per multiply-add of the convolution sum:
    /// `2*N*OC*OH*OW*C*KH*KW` for conv2d, `2*N*CI*H*W*CO*KH*KW` for conv_transpose2d (every
    /// input pixel meets every tap of every output channel). Taps that land on padding are
    /// counted; the im2col / col2im copies, the axis swaps and the bias are not. The
    /// backward pass (input gradient + weight gradient) does twice this.
    pub fn flops(&self) -> f64 {
        let g = self.geom();
        let other = if self.transposed { self.in_channels } else { self.out_channels };
        2.0 * (g.col_rows() * g.col_cols() * other) as f64
    }

    /// `16->8 @14x14`: channels and input side.
    pub fn label(&self) -> String {
        format!("{}->{} @{}x{}", self.in_channels, self.out_channels, self.side, self.side)
    }
}

/// Every conv layer of the convolutional autoencoder at `batch`: the encoder, the upsample
/// decoder's convs, and the transposed decoder's `ConvTranspose2d` layers.
pub fn conv_ae_layers(batch: usize) -> Vec<ConvLayer> {
    let same = ConvParams::square(1, 1, 1, 0);
    let valid = ConvParams::square(1, 0, 1, 0);
    let up = |op| ConvParams::square(2, 1, 1, op);
    let layer = |name, transposed, in_channels, out_channels, side, params| ConvLayer {
        name,
        transposed,
        batch,
        in_channels,
        out_channels,
        side,
        kernel: 3,
        params,
    };
    vec![
        layer("encoder.0", false, 1, 16, 28, same),
        layer("encoder.1", false, 16, 8, 14, same),
        layer("encoder.2", false, 8, 8, 7, same),
        layer("decoder.0", false, 8, 8, 4, same),
        layer("decoder.1", false, 8, 8, 8, same),
        layer("decoder.2", false, 8, 16, 16, valid),
        layer("decoder.3", false, 16, 1, 28, same),
        layer("decoderT.0", true, 8, 8, 4, up(0)),
        layer("decoderT.1", true, 8, 8, 7, up(1)),
        layer("decoderT.2", true, 8, 16, 14, up(1)),
    ]
}

/// The buffers of one conv layer and its forward and backward passes, issued on the
/// [`Backend`] exactly as `autodiff::ops::conv2d` / `conv_transpose2d` issue them (tested
/// against the tape below), with every buffer allocated once, so that a bench times the
/// kernels and not the allocator. The backward pass computes all three gradients (the
/// network's first layer skips the input gradient in training, its input being constant).
pub struct ConvBench<B: Backend> {
    backend: B,
    pub layer: ConvLayer,
    geom: ConvGeom,
    pub x: B::Buf,
    pub w: B::Buf,
    pub b: B::Buf,
    pub y: B::Buf,
    /// The upstream gradient the backward pass reads.
    pub dy: B::Buf,
    pub dx: B::Buf,
    pub dw: B::Buf,
    pub db: B::Buf,
    /// The output before the bias.
    pre: B::Buf,
}

impl<B: Backend> ConvBench<B> {
    /// Allocates the buffers and fills x, W, b and dY with small deterministic values.
    pub fn new(backend: &B, layer: ConvLayer) -> Result<Self> {
        let geom = layer.geom();
        let (n, k2) = (layer.batch, layer.kernel * layer.kernel);
        let (ci, co) = (layer.in_channels, layer.out_channels);
        let (side, out_side) = (layer.side, layer.out_side());
        let z = |len: usize, label: &str| backend.zeros(len, label);
        Ok(ConvBench {
            backend: backend.clone(),
            layer,
            geom,
            x: backend.upload(&ramp(n * ci * side * side, 2.0), "conv bench x")?,
            w: backend.upload(&ramp(ci * co * k2, 0.5), "conv bench W")?,
            b: backend.upload(&ramp(co, 0.1), "conv bench b")?,
            y: z(n * co * out_side * out_side, "conv bench y")?,
            dy: backend.upload(&ramp(n * co * out_side * out_side, 1.0), "conv bench dY")?,
            dx: z(n * ci * side * side, "conv bench dx")?,
            dw: z(ci * co * k2, "conv bench dW")?,
            db: z(co, "conv bench db")?,
            pre: z(n * co * out_side * out_side, "conv bench pre-bias")?,
        })
    }

    /// The algorithm the backend picks for this layer, in words.
    pub fn algorithm(&self) -> String {
        // conv_transpose2d runs the conv from its output space back onto its input.
        let oc = if self.layer.transposed { self.layer.in_channels } else { self.layer.out_channels };
        self.backend.conv2d_algorithm(self.geom, oc)
    }

    /// `y = conv(x, W) + b`.
    pub fn forward(&self) -> Result<()> {
        let (be, g, l) = (&self.backend, self.geom, &self.layer);
        let pix = l.out_side() * l.out_side();
        if l.transposed {
            be.conv2d_input_grad(&self.x, &self.w, &self.pre, g, l.in_channels)?;
        } else {
            be.conv2d(&self.x, &self.w, &self.pre, g, l.out_channels)?;
        }
        be.bias_add(&self.pre, &self.b, &self.y, l.batch, l.out_channels, pix)
    }

    /// dx, dW and db from dY.
    pub fn backward(&self) -> Result<()> {
        let (be, g, l) = (&self.backend, self.geom, &self.layer);
        let pix = l.out_side() * l.out_side();
        if l.transposed {
            be.conv2d(&self.dy, &self.w, &self.dx, g, l.in_channels)?;
            be.conv2d_weight_grad(&self.dy, &self.x, &self.dw, g, l.in_channels)?;
        } else {
            be.conv2d_input_grad(&self.dy, &self.w, &self.dx, g, l.out_channels)?;
            be.conv2d_weight_grad(&self.x, &self.dy, &self.dw, g, l.out_channels)?;
        }
        be.bias_grad(&self.dy, &self.db, l.batch, l.out_channels, pix, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{ops, Tape};
    use crate::backend::cpu::CpuBackend;
    use crate::tensor::Tensor;

    fn close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}]: bench {g} vs tape {w}");
        }
    }

    /// The bench issues the same kernels as the tape's conv ops: same y, dx, dW, db.
    #[test]
    fn conv_bench_matches_the_tape() -> Result<()> {
        let be = CpuBackend::new();
        for layer in conv_ae_layers(3) {
            let c = ConvBench::new(&be, layer)?;
            c.forward()?;
            c.backward()?;
            let (n, ci, co, k, s, os) =
                (layer.batch, layer.in_channels, layer.out_channels, layer.kernel, layer.side, layer.out_side());
            let wshape = if layer.transposed { [ci, co, k, k] } else { [co, ci, k, k] };
            let tape = Tape::new(&be);
            let x = tape.param(&Tensor::from_slice(&be, [n, ci, s, s], &be.download(&c.x)?, "x")?);
            let w = tape.param(&Tensor::from_slice(&be, wshape, &be.download(&c.w)?, "w")?);
            let b = tape.param(&Tensor::from_slice(&be, [co], &be.download(&c.b)?, "b")?);
            let dy = tape.constant(&Tensor::from_slice(&be, [n, co, os, os], &be.download(&c.dy)?, "dy")?);
            let y = if layer.transposed {
                ops::conv_transpose2d(&tape, x, w, b, layer.params)?
            } else {
                ops::conv2d(&tape, x, w, b, layer.params)?
            };
            // d(sum(y * dY))/dy = dY.
            let root = ops::sum_all(&tape, ops::mul(&tape, y, dy)?)?;
            tape.backward(root)?;
            let grad = |v| tape.grad(v).expect("gradient").to_vec(&be);
            let name = layer.name;
            close(&format!("{name} y"), &be.download(&c.y)?, &tape.value(y).to_vec(&be)?);
            close(&format!("{name} dx"), &be.download(&c.dx)?, &grad(x)?);
            close(&format!("{name} dW"), &be.download(&c.dw)?, &grad(w)?);
            close(&format!("{name} db"), &be.download(&c.db)?, &grad(b)?);
        }
        Ok(())
    }

    #[test]
    fn conv_layers_have_the_model_shapes() {
        let sides: Vec<(usize, usize)> = conv_ae_layers(128).iter().map(|l| (l.side, l.out_side())).collect();
        assert_eq!(sides, [(28, 28), (14, 14), (7, 7), (4, 4), (8, 8), (16, 14), (28, 28), (4, 7), (7, 14), (14, 28)]);
        // encoder.1: 2 * 128 * 8 * 14*14 * 16*3*3.
        assert_eq!(conv_ae_layers(128)[1].flops(), 2.0 * 128.0 * 8.0 * 196.0 * 144.0);
        // decoderT.2: 2 * 128 * 8 * 14*14 * 16*3*3 (input pixels x output channels x taps).
        assert_eq!(conv_ae_layers(128)[9].flops(), 2.0 * 128.0 * 8.0 * 196.0 * 16.0 * 9.0);
    }
}
