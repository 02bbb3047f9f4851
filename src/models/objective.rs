//! The training objective: reconstruction loss against the clean input plus the
//! regularisers of the sparse and contractive models, or the variational autoencoder's
//! negative ELBO.

use super::Forward;
use crate::autodiff::{ops, Tape, Var};
use crate::backend::{Activation, Backend, Loss};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reconstruction {
    /// Squared error (mean over pixels).
    Mse,
    /// Bit-probability cross-entropy (inputs in [0,1] read as probabilities).
    Bce,
}

impl Reconstruction {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mse" | "squared" => Ok(Reconstruction::Mse),
            "bce" | "cross-entropy" | "xent" => Ok(Reconstruction::Bce),
            other => Err(Error::Config(format!("unknown loss '{other}' (expected mse or bce)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Reconstruction::Mse => "mse",
            Reconstruction::Bce => "bce",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    pub reconstruction: Reconstruction,
    /// L1 activity penalty weight on the code (0 = off).
    pub l1: f32,
    /// KL sparsity: target mean activation rho and weight beta (beta 0 = off).
    pub rho: f32,
    pub beta: f32,
    /// Contractive penalty weight lambda (0 = off).
    pub contractive: f32,
    /// The variational autoencoder's negative ELBO with this weight beta on its KL term:
    /// the reconstruction loss summed over pixels (per image, as the VAE papers report
    /// it) + beta * KL(q(z|x) || N(0, I)). None for the other models.
    pub variational: Option<f32>,
}

impl Objective {
    pub fn plain(reconstruction: Reconstruction) -> Self {
        Objective { reconstruction, l1: 0.0, rho: 0.05, beta: 0.0, contractive: 0.0, variational: None }
    }
}

/// The scalar vars of one evaluated objective.
pub struct Terms {
    pub total: Var,
    /// The reconstruction loss as the objective counts it (summed over pixels for the VAE).
    pub reconstruction: Var,
    /// The VAE's KL(q(z|x) || N(0, I)), a batch mean, before its weight beta.
    pub kl: Option<Var>,
}

/// The VAE's terms: the reconstruction loss summed over the pixels of each image and the
/// closed-form Gaussian KL, both batch means. The loss kernels average over pixels too,
/// so the sum is that mean times the pixels per image.
pub fn elbo_terms<B: Backend>(
    t: &Tape<B>,
    fwd: &Forward,
    target: &Tensor<B>,
    kind: Reconstruction,
) -> Result<(Var, Var)> {
    let Some(latent) = fwd.latent else {
        return Err(Error::Config(
            "the variational objective needs a model with a Gaussian latent (--model vae)".into(),
        ));
    };
    let pixels = target.shape.cols();
    let rec = ops::scale(t, reconstruction_loss(t, fwd, target, kind)?, pixels as f32)?;
    Ok((rec, ops::gaussian_kl(t, latent.mu, latent.logvar)?))
}

/// The reconstruction loss of `fwd` against `target`. With a sigmoid output and BCE it
/// uses the logits (BCE-with-logits): the same value, without log(0) and its vanishing
/// gradient when a sigmoid saturates.
pub fn reconstruction_loss<B: Backend>(
    t: &Tape<B>,
    fwd: &Forward,
    target: &Tensor<B>,
    kind: Reconstruction,
) -> Result<Var> {
    match kind {
        Reconstruction::Mse => ops::loss(t, fwd.recon, target, Loss::Mse),
        Reconstruction::Bce if fwd.output_activation == Activation::Sigmoid => {
            ops::loss(t, fwd.recon_pre, target, Loss::BceWithLogits)
        }
        Reconstruction::Bce => ops::loss(t, fwd.recon, target, Loss::Bce),
    }
}

impl Objective {
    pub fn evaluate<B: Backend>(&self, t: &Tape<B>, fwd: &Forward, target: &Tensor<B>) -> Result<Terms> {
        if let Some(beta) = self.variational {
            let (rec, kl) = elbo_terms(t, fwd, target, self.reconstruction)?;
            let total = if beta == 0.0 { rec } else { ops::add(t, rec, ops::scale(t, kl, beta)?)? };
            return Ok(Terms { total, reconstruction: rec, kl: Some(kl) });
        }
        let rec = reconstruction_loss(t, fwd, target, self.reconstruction)?;
        let mut total = rec;
        if self.l1 > 0.0 {
            let l1 = ops::l1_penalty(t, fwd.code)?;
            total = ops::add(t, total, ops::scale(t, l1, self.l1)?)?;
        }
        if self.beta > 0.0 {
            let rho_hat = ops::mean_rows(t, fwd.code)?;
            let kl = ops::kl_sparsity(t, rho_hat, self.rho)?;
            total = ops::add(t, total, ops::scale(t, kl, self.beta)?)?;
        }
        if self.contractive > 0.0 {
            let Some((z, w, act)) = fwd.code_layer else {
                return Err(Error::Config("the contractive penalty needs a dense code layer".into()));
            };
            let pen = ops::contractive_penalty(t, z, w, act)?;
            total = ops::add(t, total, ops::scale(t, pen, self.contractive)?)?;
        }
        Ok(Terms { total, reconstruction: rec, kl: None })
    }
}
