//! The variational autoencoder (Kingma & Welling, 2014), as PyTorch's example and the
//! Keras blog build it: an encoder that outputs the mean and log-variance of a diagonal
//! Gaussian q(z|x), a code sampled as z = mu + exp(logvar / 2) * eps with eps ~ N(0, I),
//! and a decoder that turns z into Bernoulli logits for the pixels.
//!
//! Encoder, dense: input -> `hidden` (ReLU) -> two linear heads, mu and logvar, of size
//! `code`. Encoder, conv: Conv(16, 3x3, stride 2)+ReLU, Conv(32, 3x3, stride 2)+ReLU
//! (28 -> 14 -> 7), flattened, then the dense part. Decoder (both): code -> the hidden
//! widths reversed (ReLU) -> input, sigmoid output (the loss uses its logits).
//!
//! Every dense layer (encoder, heads and decoder) is initialised as PyTorch's `nn.Linear`
//! (weights and biases from U(+-1/sqrt(fan_in))), the reference recipe's init. With He or
//! Xavier init and zero biases in the hidden and decoder layers, the 784-400-20 recipe
//! ended about half a nat worse than PyTorch's; with it, the two agree (docs/RESULTS.md).
//!
//! The objective (src/models/objective.rs) is the negative ELBO: the reconstruction
//! cross-entropy summed over pixels plus beta * KL(q(z|x) || N(0, I)), per image.

use super::{Draw, Forward, Latent, Model};
use crate::autodiff::ops::{self, ConvParams};
use crate::autodiff::Var;
use crate::backend::{Activation, Backend};
use crate::error::{Error, Result};
use crate::nn::{Bound, Conv2d, Linear, Params};
use rand::rngs::StdRng;
use rand::SeedableRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoder {
    Dense,
    Conv,
}

impl Encoder {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(Encoder::Dense),
            "conv" => Ok(Encoder::Conv),
            other => Err(Error::Config(format!("unknown encoder '{other}' (expected dense or conv)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Encoder::Dense => "dense",
            Encoder::Conv => "conv",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VaeConfig {
    pub height: usize,
    pub width: usize,
    pub encoder: Encoder,
    /// Dense hidden widths between the (flattened) features and the code.
    pub hidden: Vec<usize>,
    /// The latent size.
    pub code: usize,
}

impl VaeConfig {
    pub fn input(&self) -> usize {
        self.height * self.width
    }
}

/// Stride-2 "same" convolutions: each halves the side, rounding up.
const DOWN: ConvParams = ConvParams::square(2, 1, 1, 0);
const CONV_CHANNELS: [usize; 2] = [16, 32];

fn halved(side: usize) -> usize {
    side.div_ceil(2)
}

pub struct VariationalAutoencoder<B: Backend> {
    pub config: VaeConfig,
    pub params: Params<B>,
    convs: Vec<Conv2d>,
    /// Flattened conv features (the input itself for the dense encoder).
    features: usize,
    hidden: Vec<Linear>,
    mu: Linear,
    logvar: Linear,
    decoder: Vec<(Linear, Activation)>,
}

impl<B: Backend> VariationalAutoencoder<B> {
    pub fn new(backend: &B, config: VaeConfig, seed: u64) -> Result<Self> {
        if config.input() == 0 || config.code == 0 || config.hidden.contains(&0) {
            return Err(Error::Config(format!(
                "layer sizes must be positive: input {}, hidden {:?}, code {}",
                config.input(),
                config.hidden,
                config.code
            )));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Params::default();
        let relu = Activation::Relu;
        let mut convs = Vec::new();
        let mut features = config.input();
        if config.encoder == Encoder::Conv {
            let (mut channels, mut h, mut w) = (1, config.height, config.width);
            for (i, &out) in CONV_CHANNELS.iter().enumerate() {
                convs.push(Conv2d::new(
                    &mut params,
                    backend,
                    &mut rng,
                    &format!("encoder.conv{i}"),
                    channels,
                    out,
                    3,
                    DOWN,
                    relu,
                )?);
                (channels, h, w) = (out, halved(h), halved(w));
            }
            features = channels * h * w;
        }
        let mut widths = vec![features];
        widths.extend(&config.hidden);
        let mut hidden = Vec::new();
        for i in 0..config.hidden.len() {
            hidden.push(Linear::fan_in_uniform(
                &mut params,
                backend,
                &mut rng,
                &format!("encoder.{i}"),
                widths[i],
                widths[i + 1],
            )?);
        }
        let last = *widths.last().expect("features");
        let mu = Linear::fan_in_uniform(&mut params, backend, &mut rng, "encoder.mu", last, config.code)?;
        let logvar = Linear::fan_in_uniform(&mut params, backend, &mut rng, "encoder.logvar", last, config.code)?;
        // The decoder mirrors the dense widths and ends at the pixels.
        let mut back: Vec<usize> = std::iter::once(config.code).chain(config.hidden.iter().rev().copied()).collect();
        back.push(config.input());
        let mut decoder = Vec::new();
        for i in 0..back.len() - 1 {
            let act = if i + 2 == back.len() { Activation::Sigmoid } else { relu };
            decoder.push((
                Linear::fan_in_uniform(&mut params, backend, &mut rng, &format!("decoder.{i}"), back[i], back[i + 1])?,
                act,
            ));
        }
        Ok(VariationalAutoencoder { config, params, convs, features, hidden, mu, logvar, decoder })
    }

    /// mu and logvar of q(z|x).
    fn encode(&self, p: &Bound<B>, mut x: Var) -> Result<Latent> {
        for conv in &self.convs {
            x = conv.forward_activation(p, x, Activation::Relu)?.1;
        }
        let rows = p.tape.value(x).shape.rows();
        x = ops::reshape(p.tape, x, [rows, self.features].as_slice())?;
        for layer in &self.hidden {
            x = layer.forward_activation(p, x, Activation::Relu)?.1;
        }
        Ok(Latent { mu: self.mu.forward(p, x)?, logvar: self.logvar.forward(p, x)? })
    }

    /// The logits and the image of code `z`, shaped as the input.
    fn decode_parts(&self, p: &Bound<B>, mut z: Var) -> Result<(Var, Var)> {
        let mut pre = z;
        for (layer, act) in &self.decoder {
            (pre, z) = layer.forward_activation(p, z, *act)?;
        }
        let rows = p.tape.value(z).shape.rows();
        let shape = self.input_shape(rows);
        Ok((ops::reshape(p.tape, pre, shape.as_slice())?, ops::reshape(p.tape, z, shape.as_slice())?))
    }

    fn forward_from(&self, p: &Bound<B>, latent: Latent, z: Var) -> Result<Forward> {
        let (recon_pre, recon) = self.decode_parts(p, z)?;
        Ok(Forward {
            recon,
            recon_pre,
            output_activation: Activation::Sigmoid,
            code: latent.mu,
            code_layer: None,
            single_layer_encoder: false,
            latent: Some(latent),
        })
    }
}

impl<B: Backend> Model<B> for VariationalAutoencoder<B> {
    fn kind(&self) -> &'static str {
        "vae"
    }

    fn params(&self) -> &Params<B> {
        &self.params
    }

    fn params_mut(&mut self) -> &mut Params<B> {
        &mut self.params
    }

    fn input_shape(&self, n: usize) -> Vec<usize> {
        match self.config.encoder {
            Encoder::Dense => vec![n, self.config.input()],
            Encoder::Conv => vec![n, 1, self.config.height, self.config.width],
        }
    }

    fn code_shape(&self, n: usize) -> Vec<usize> {
        vec![n, self.config.code]
    }

    /// Decodes the mean: the deterministic reconstruction.
    fn forward(&self, p: &Bound<B>, x: Var) -> Result<Forward> {
        let latent = self.encode(p, x)?;
        self.forward_from(p, latent, latent.mu)
    }

    fn forward_sampled(&self, p: &Bound<B>, x: Var, draw: Draw) -> Result<Forward> {
        let latent = self.encode(p, x)?;
        let shape = p.tape.value(latent.mu).shape.clone();
        let eps = ops::normal(p.tape.backend(), shape, draw.seed, draw.offset)?;
        let z = ops::reparameterize(p.tape, latent.mu, latent.logvar, &eps)?;
        self.forward_from(p, latent, z)
    }

    fn decode(&self, p: &Bound<B>, code: Var) -> Result<Var> {
        Ok(self.decode_parts(p, code)?.1)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let hidden: Vec<String> = c.hidden.iter().map(|w| w.to_string()).collect();
        let enc = match c.encoder {
            Encoder::Dense => format!("{}", c.input()),
            Encoder::Conv => format!("1x{}x{} -> conv 16 -> conv 32 -> {}", c.height, c.width, self.features),
        };
        let mid = if hidden.is_empty() { String::new() } else { format!("-{}", hidden.join("-")) };
        format!(
            "variational {enc}{mid} -> mu, logvar of {} -> decoder {}{} -> {} (relu, sigmoid output), {} parameters",
            c.code,
            c.code,
            c.hidden.iter().rev().map(|w| format!("-{w}")).collect::<String>(),
            c.input(),
            self.params.count()
        )
    }
}
