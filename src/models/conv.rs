//! The classic convolutional autoencoder for 28x28 images (the Keras blog's model).
//!
//! Encoder: Conv(16, 3x3, same)+ReLU, MaxPool 2, Conv(8)+ReLU, MaxPool 2, Conv(8)+ReLU,
//! MaxPool 2 (ceil: 7 -> 4), code 8x4x4 = 128 values. Decoder (upsample): Conv(8)+ReLU,
//! Upsample 2, Conv(8)+ReLU, Upsample 2, Conv(16, valid)+ReLU (16 -> 14), Upsample 2,
//! Conv(1)+sigmoid. Decoder (transposed): ConvT(8, 3x3, stride 2) 4 -> 7 -> 14 -> 28 with
//! ReLU, then Conv(1)+sigmoid.

use super::{Forward, Model};
use crate::autodiff::ops::{self, ConvParams};
use crate::autodiff::Var;
use crate::backend::{Activation, Backend};
use crate::error::{Error, Result};
use crate::nn::{Bound, Conv2d, ConvTranspose2d, Params};
use rand::rngs::StdRng;
use rand::SeedableRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// Nearest-neighbour upsampling followed by convolutions.
    Upsample,
    /// Strided transposed convolutions.
    Transposed,
}

impl Decoder {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "upsample" => Ok(Decoder::Upsample),
            "transposed" => Ok(Decoder::Transposed),
            other => Err(Error::Config(format!("unknown decoder '{other}' (expected upsample or transposed)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Decoder::Upsample => "upsample",
            Decoder::Transposed => "transposed",
        }
    }
}

/// The image side this architecture is built for.
pub const SIDE: usize = 28;
const SAME: ConvParams = ConvParams::square(1, 1, 1, 0);
const VALID: ConvParams = ConvParams::square(1, 0, 1, 0);

enum Step {
    Conv(Conv2d, Activation),
    ConvT(ConvTranspose2d, Activation),
    Pool { ceil: bool },
    Up,
}

pub struct ConvAutoencoder<B: Backend> {
    pub decoder_kind: Decoder,
    pub params: Params<B>,
    encoder: Vec<Step>,
    decoder: Vec<Step>,
}

impl<B: Backend> ConvAutoencoder<B> {
    pub fn new(backend: &B, decoder_kind: Decoder, height: usize, width: usize, seed: u64) -> Result<Self> {
        if height != SIDE || width != SIDE {
            return Err(Error::Config(format!(
                "the convolutional autoencoder is built for {SIDE}x{SIDE} images, the dataset has {height}x{width}"
            )));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Params::default();
        let (p, r) = (&mut params, &mut rng);
        let relu = Activation::Relu;
        let conv = |p: &mut Params<B>, r: &mut StdRng, name: &str, i, o, c, act| -> Result<Step> {
            Ok(Step::Conv(Conv2d::new(p, backend, r, name, i, o, 3, c, act)?, act))
        };
        let encoder = vec![
            conv(p, r, "encoder.0", 1, 16, SAME, relu)?,
            Step::Pool { ceil: false },
            conv(p, r, "encoder.1", 16, 8, SAME, relu)?,
            Step::Pool { ceil: false },
            conv(p, r, "encoder.2", 8, 8, SAME, relu)?,
            Step::Pool { ceil: true },
        ];
        let decoder = match decoder_kind {
            Decoder::Upsample => vec![
                conv(p, r, "decoder.0", 8, 8, SAME, relu)?,
                Step::Up,
                conv(p, r, "decoder.1", 8, 8, SAME, relu)?,
                Step::Up,
                conv(p, r, "decoder.2", 8, 16, VALID, relu)?,
                Step::Up,
                conv(p, r, "decoder.3", 16, 1, SAME, Activation::Sigmoid)?,
            ],
            Decoder::Transposed => {
                let up = |op| ConvParams::square(2, 1, 1, op);
                let convt = |p: &mut Params<B>, r: &mut StdRng, name: &str, i, o, c| -> Result<Step> {
                    Ok(Step::ConvT(ConvTranspose2d::new(p, backend, r, name, i, o, 3, c, relu)?, relu))
                };
                vec![
                    convt(p, r, "decoder.0", 8, 8, up(0))?,
                    convt(p, r, "decoder.1", 8, 8, up(1))?,
                    convt(p, r, "decoder.2", 8, 16, up(1))?,
                    conv(p, r, "decoder.3", 16, 1, SAME, Activation::Sigmoid)?,
                ]
            }
        };
        Ok(ConvAutoencoder { decoder_kind, params, encoder, decoder })
    }

    /// Runs `steps`; returns the last pre-activation and the output.
    fn run(p: &Bound<B>, steps: &[Step], mut x: Var) -> Result<(Var, Var)> {
        let mut pre = x;
        for step in steps {
            x = match step {
                // One fused bias + activation kernel after each convolution.
                Step::Conv(c, act) => {
                    let (z, h) = c.forward_activation(p, x, *act)?;
                    pre = z;
                    h
                }
                Step::ConvT(c, act) => {
                    let (z, h) = c.forward_activation(p, x, *act)?;
                    pre = z;
                    h
                }
                Step::Pool { ceil } => ops::max_pool2d(p.tape, x, 2, 2, 0, *ceil)?,
                Step::Up => ops::upsample2d(p.tape, x, 2)?,
            };
        }
        Ok((pre, x))
    }
}

impl<B: Backend> Model<B> for ConvAutoencoder<B> {
    fn kind(&self) -> &'static str {
        "conv"
    }

    fn params(&self) -> &Params<B> {
        &self.params
    }

    fn params_mut(&mut self) -> &mut Params<B> {
        &mut self.params
    }

    fn input_shape(&self, n: usize) -> Vec<usize> {
        vec![n, 1, SIDE, SIDE]
    }

    fn code_shape(&self, n: usize) -> Vec<usize> {
        vec![n, 8, 4, 4]
    }

    fn forward(&self, p: &Bound<B>, x: Var) -> Result<Forward> {
        let (_, code) = Self::run(p, &self.encoder, x)?;
        let (recon_pre, recon) = Self::run(p, &self.decoder, code)?;
        Ok(Forward {
            recon,
            recon_pre,
            output_activation: Activation::Sigmoid,
            code,
            code_layer: None,
            single_layer_encoder: false,
            latent: None,
        })
    }

    fn decode(&self, p: &Bound<B>, code: Var) -> Result<Var> {
        Ok(Self::run(p, &self.decoder, code)?.1)
    }

    fn describe(&self) -> String {
        format!(
            "conv 1x28x28 -> 16 -> 8 -> 8x4x4 code -> {} decoder -> 1x28x28, {} parameters",
            self.decoder_kind.name(),
            self.params.count()
        )
    }
}
