//! The autoencoder family. Every model implements [`Model`]: a forward pass on a tape that
//! exposes its reconstruction and its code; [`objective::Objective`] turns that into the
//! loss (reconstruction + regularisers). Models know no trainer: the loop in src/train/
//! drives them.

pub mod ae;
pub mod conv;
pub mod objective;
pub mod pca;
pub mod stacked;
pub mod vae;

use crate::autodiff::Var;
use crate::backend::{Activation, Backend};
use crate::error::Result;
use crate::nn::{Bound, Params};

/// What a forward pass exposes to the objective and to the tools.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    /// The reconstruction, after the output activation.
    pub recon: Var,
    /// The reconstruction before the output activation (logits when it is sigmoid).
    pub recon_pre: Var,
    pub output_activation: Activation,
    /// The code h.
    pub code: Var,
    /// For a dense code layer: its pre-activation z, its weight W and activation f
    /// (what the closed-form contractive penalty needs).
    pub code_layer: Option<(Var, Var, Activation)>,
    /// True when `code_layer` is the whole encoder, so its Jacobian is `J_f(x)`.
    pub single_layer_encoder: bool,
    /// For a variational model: the posterior q(z|x) = N(mu, exp(logvar)) (`code` is mu).
    pub latent: Option<Latent>,
}

/// The diagonal Gaussian posterior of a variational encoder, one row per example.
#[derive(Clone, Copy, Debug)]
pub struct Latent {
    pub mu: Var,
    pub logvar: Var,
}

/// Which standard normal draws a sampled forward pass uses: draws `offset..` of the
/// counter-based stream `seed` (the same numbers on every backend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub seed: u64,
    pub offset: u64,
}

pub trait Model<B: Backend> {
    /// "ae", "conv", ...
    fn kind(&self) -> &'static str;
    fn params(&self) -> &Params<B>;
    fn params_mut(&mut self) -> &mut Params<B>;
    /// The shape of an input batch of `n` examples.
    fn input_shape(&self, n: usize) -> Vec<usize>;
    /// The shape of the codes of `n` examples.
    fn code_shape(&self, n: usize) -> Vec<usize>;
    fn forward(&self, p: &Bound<B>, x: Var) -> Result<Forward>;
    /// The forward pass with the latent sampled, z = mu + sigma * eps with eps from `draw`
    /// (variational models; the others have nothing to sample and run [`Model::forward`]).
    /// [`Model::forward`] of a variational model decodes the mean, for reconstructions,
    /// codes and interpolations.
    fn forward_sampled(&self, p: &Bound<B>, x: Var, _draw: Draw) -> Result<Forward> {
        self.forward(p, x)
    }
    /// Reconstruction (after the output activation) from a code.
    fn decode(&self, p: &Bound<B>, code: Var) -> Result<Var>;
    /// One line describing the architecture.
    fn describe(&self) -> String;
}
