//! Fully connected autoencoders: plain (under- or overcomplete), linear (no activations:
//! spans the PCA subspace), and the dense base of the sparse, denoising and contractive
//! models (which differ only in their objective and input corruption).

use super::{Forward, Model};
use crate::autodiff::Var;
use crate::backend::{Activation, Backend};
use crate::error::{Error, Result};
use crate::nn::{Bound, Linear, Params};
use rand::rngs::StdRng;
use rand::SeedableRng;

#[derive(Clone, Debug, PartialEq)]
pub struct DenseConfig {
    pub input: usize,
    /// Hidden layer sizes between the input and the code (the decoder mirrors them).
    pub hidden: Vec<usize>,
    pub code: usize,
    pub activation: Activation,
    pub code_activation: Activation,
    pub output_activation: Activation,
}

impl DenseConfig {
    /// The linear autoencoder: one code layer, no activations anywhere.
    pub fn linear(input: usize, code: usize) -> Self {
        DenseConfig {
            input,
            hidden: Vec::new(),
            code,
            activation: Activation::Identity,
            code_activation: Activation::Identity,
            output_activation: Activation::Identity,
        }
    }

    /// Layer widths from input to code.
    pub fn encoder_widths(&self) -> Vec<usize> {
        let mut w = vec![self.input];
        w.extend(&self.hidden);
        w.push(self.code);
        w
    }
}

pub struct DenseAutoencoder<B: Backend> {
    pub config: DenseConfig,
    pub params: Params<B>,
    encoder: Vec<(Linear, Activation)>,
    decoder: Vec<(Linear, Activation)>,
}

impl<B: Backend> DenseAutoencoder<B> {
    pub fn new(backend: &B, config: DenseConfig, seed: u64) -> Result<Self> {
        if config.input == 0 || config.code == 0 || config.hidden.contains(&0) {
            return Err(Error::Config(format!("layer sizes must be positive: {:?}", config.encoder_widths())));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Params::default();
        let widths = config.encoder_widths();
        let depth = widths.len() - 1;
        let mut encoder = Vec::new();
        for i in 0..depth {
            let act = if i + 1 == depth { config.code_activation } else { config.activation };
            let layer =
                Linear::new(&mut params, backend, &mut rng, &format!("encoder.{i}"), widths[i], widths[i + 1], act)?;
            encoder.push((layer, act));
        }
        let mut decoder = Vec::new();
        for i in 0..depth {
            let (from, to) = (widths[depth - i], widths[depth - i - 1]);
            let act = if i + 1 == depth { config.output_activation } else { config.activation };
            let layer = Linear::new(&mut params, backend, &mut rng, &format!("decoder.{i}"), from, to, act)?;
            decoder.push((layer, act));
        }
        Ok(DenseAutoencoder { config, params, encoder, decoder })
    }

    /// Dense layers (the encoder's, then the decoder's), for tools that inspect weights.
    pub fn encoder_layers(&self) -> impl Iterator<Item = &Linear> {
        self.encoder.iter().map(|(l, _)| l)
    }

    /// The widths, e.g. "784-500-784".
    pub fn describe_short(&self) -> String {
        let mut w = self.config.encoder_widths();
        let mut back = w.clone();
        back.reverse();
        w.extend(&back[1..]);
        w.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("-")
    }

    /// Applies `layers`; returns the last pre-activation and the output. An activated
    /// layer is one matmul and one fused bias + activation kernel (`z` stays on the tape
    /// for the code layer's contractive penalty and the output's logits).
    fn run(p: &Bound<B>, layers: &[(Linear, Activation)], mut x: Var) -> Result<(Var, Var)> {
        let mut z = x;
        for (layer, act) in layers {
            (z, x) = if *act == Activation::Identity {
                let z = layer.forward(p, x)?;
                (z, z)
            } else {
                layer.forward_activation(p, x, *act)?
            };
        }
        Ok((z, x))
    }
}

impl<B: Backend> Model<B> for DenseAutoencoder<B> {
    fn kind(&self) -> &'static str {
        "dense"
    }

    fn params(&self) -> &Params<B> {
        &self.params
    }

    fn params_mut(&mut self) -> &mut Params<B> {
        &mut self.params
    }

    fn input_shape(&self, n: usize) -> Vec<usize> {
        vec![n, self.config.input]
    }

    fn code_shape(&self, n: usize) -> Vec<usize> {
        vec![n, self.config.code]
    }

    fn forward(&self, p: &Bound<B>, x: Var) -> Result<Forward> {
        let (code_pre, code) = Self::run(p, &self.encoder, x)?;
        let (recon_pre, recon) = Self::run(p, &self.decoder, code)?;
        let (last, code_act) = self.encoder.last().expect("at least one layer");
        Ok(Forward {
            recon,
            recon_pre,
            output_activation: self.config.output_activation,
            code,
            code_layer: Some((code_pre, p.var(last.w), *code_act)),
            single_layer_encoder: self.encoder.len() == 1,
            latent: None,
        })
    }

    fn decode(&self, p: &Bound<B>, code: Var) -> Result<Var> {
        Ok(Self::run(p, &self.decoder, code)?.1)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let widths: Vec<String> = c.encoder_widths().iter().map(|w| w.to_string()).collect();
        let mut dec = c.encoder_widths();
        dec.reverse();
        let dec: Vec<String> = dec[1..].iter().map(|w| w.to_string()).collect();
        format!(
            "dense {} -> {} ({} hidden, {} code, {} output), {} parameters",
            widths.join("-"),
            dec.join("-"),
            c.activation.name(),
            c.code_activation.name(),
            c.output_activation.name(),
            self.params.count()
        )
    }
}
