//! `autoenc train`'s flags and what they mean: the model, its objective and corruption,
//! and the [`RunSpec`] describing the run. Shared by the autoencoder and stacked trainers.

use super::backend::BackendArgs;
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::noise::Noise;
use autoenc::models::ae::DenseConfig;
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::vae::{Encoder, VaeConfig};
use autoenc::optim::OptimizerKind;
use autoenc::run::{Architecture, RunSpec, TrainingSpec};
use autoenc::train::TrainConfig;
use autoenc::{Error, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelChoice {
    /// Fully connected autoencoder (under- or overcomplete).
    Ae,
    /// No activations anywhere: reaches PCA's reconstruction error.
    Linear,
    /// Dense AE with an L1 activity (--l1) and/or KL sparsity (--beta, --rho) penalty on the code.
    Sparse,
    /// Dense AE trained on corrupted inputs (--noise) against the clean ones.
    Denoising,
    /// One-layer encoder with the closed-form contractive penalty (--lambda).
    Contractive,
    /// Convolutional autoencoder for 28x28 images (--decoder upsample|transposed).
    Conv,
    /// Greedy layer-wise pretrained stack (--layers, --pretrain) with a softmax classifier.
    Stacked,
    /// Variational AE: Gaussian latent of --code, --encoder dense|conv, loss = BCE summed
    /// per image + --beta * KL (the negative ELBO).
    Vae,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value = "ae")]
    pub model: ModelChoice,
    /// bundled | bundled-fashion | mnist | fashion-mnist | synthetic | a folder of IDX files.
    #[arg(long, default_value = "bundled")]
    pub dataset: String,
    /// Where `mnist` and `fashion-mnist` live (tools/fetch-datasets.sh fills it).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub device: BackendArgs,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Multiply the learning rate by this after every epoch.
    #[arg(long, default_value_t = 1.0)]
    pub lr_decay: f32,
    /// adam | sgd
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// mse | bce (default: bce, mse for the linear model).
    #[arg(long)]
    pub loss: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run directory (default: a new runs/<model>-N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint (its config.json decides the model,
    /// data and training; the other model and training flags are ignored).
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// Checkpoint the run every N epochs (and after the last).
    #[arg(long, default_value_t = 1)]
    pub save_every: usize,
    /// Encoder of the vae model: dense (--hidden) or conv (two stride-2 convolutions, then --hidden).
    #[arg(long, default_value = "dense")]
    pub encoder: String,
    /// Decoder of the conv model: upsample (nearest + conv) or transposed (strided conv_transpose2d).
    #[arg(long, default_value = "upsample")]
    pub decoder: String,
    /// Stacked: layer widths from the input up, e.g. 784,500,250.
    #[arg(long, value_delimiter = ',', default_value = "784,256,64")]
    pub layers: Vec<usize>,
    /// Stacked: how each layer is pretrained: ae | denoising | contractive.
    #[arg(long, default_value = "denoising")]
    pub pretrain: String,
    /// Stacked: epochs of pretraining per layer.
    #[arg(long, default_value_t = 3)]
    pub pretrain_epochs: usize,
    /// Stacked: epochs of supervised training of the classifier (20: on 2,000 MNIST images,
    /// 5 epochs leave the classifier at 15.6% validation error, 20 at 10.2%; docs/RESULTS.md).
    #[arg(long, default_value_t = 20)]
    pub finetune_epochs: usize,
    /// Stacked: learning rate of the supervised phase (default: --lr; a tenth of it left the
    /// classifier at 45% validation error after 5 epochs on 2,000 images; docs/RESULTS.md).
    #[arg(long)]
    pub finetune_lr: Option<f32>,
    /// Stacked: the supervised phase's optimizer, adam | sgd (default: --optimizer; SGD uses
    /// --momentum).
    #[arg(long)]
    pub finetune_optimizer: Option<String>,
    /// Stacked: train only the softmax head on the frozen stack's codes.
    #[arg(long)]
    pub classifier_only: bool,
    /// Stacked: corrupt the images the supervised phase trains on (as --noise: masking:V,
    /// gaussian:SIGMA, salt-pepper:P), a regulariser; the test images stay clean.
    #[arg(long, default_value = "none")]
    pub finetune_noise: String,
    /// Hidden layer sizes between input and code, comma separated (decoder mirrors them); 0 for none.
    #[arg(long, value_delimiter = ',', default_values_t = [256])]
    pub hidden: Vec<usize>,
    /// Code size (larger than the input = overcomplete).
    #[arg(long, default_value_t = 32)]
    pub code: usize,
    /// Hidden activation: relu | sigmoid | tanh | leaky_relu | identity.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Code activation (default: sigmoid for sparse and contractive, else as --activation).
    #[arg(long)]
    pub code_activation: Option<String>,
    /// Input corruption: none | masking:V | gaussian:SIGMA | salt-pepper:P (denoising default masking:0.25).
    #[arg(long)]
    pub noise: Option<String>,
    /// L1 activity penalty weight (sparse).
    #[arg(long, default_value_t = 0.0)]
    pub l1: f32,
    /// KL sparsity target mean activation (sparse).
    #[arg(long, default_value_t = 0.05)]
    pub rho: f32,
    /// KL weight: sparse (KL sparsity, default 3 when --l1 is not given) or vae (KL(q(z|x) || N(0,I)), default 1).
    #[arg(long)]
    pub beta: Option<f32>,
    /// Contractive penalty weight. The reconstruction loss is a mean over pixels, so this is
    /// ~1/784 of the same lambda on a per-image sum; 1e-3 takes the mean ||J_f(x)||_F of a
    /// 784-128 sigmoid encoder on MNIST from 7.0 to 2.7 (docs/RESULTS.md).
    #[arg(long, default_value_t = 1e-3)]
    pub lambda: f32,
    /// Hold out the last N training images and score every epoch on them instead of the
    /// test set (the `test_` columns then hold validation figures): how to tune without
    /// touching the test set. `--limit-train` limits the rest, `--limit-test` the held-out.
    #[arg(long)]
    pub validation: Option<usize>,
    /// Use only the first N training examples.
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Use only the first N test examples.
    #[arg(long)]
    pub limit_test: Option<usize>,
    /// Read the loss back every N steps.
    #[arg(long, default_value_t = 20)]
    pub check_every: usize,
    /// Plain lines instead of a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// The optimizer `--finetune-optimizer NAME` names, as a fresh run checks it and a resumed
/// run reads it back from config.json.
pub fn finetune_optimizer_kind(name: &str, momentum: f32) -> Result<OptimizerKind> {
    OptimizerKind::parse(name, momentum).map_err(|e| Error::Config(format!("--finetune-optimizer: {e}")))
}

/// `--validation`, then `--limit-train` / `--limit-test`: the examples a run trains and
/// scores on (the same for `train` and `train --resume`).
pub fn split(
    data: Dataset,
    validation: Option<usize>,
    limit_train: Option<usize>,
    limit_test: Option<usize>,
) -> Result<Dataset> {
    let data = match validation {
        Some(n) => data.hold_out(n)?,
        None => data,
    };
    Ok(data.limit(limit_train, limit_test))
}

pub fn parse_activation(s: &str) -> Result<Activation> {
    Activation::parse(s)
        .ok_or_else(|| Error::Config(format!("unknown activation '{s}' (relu, sigmoid, tanh, leaky_relu, identity)")))
}

impl TrainArgs {
    pub fn model_name(&self) -> &'static str {
        match self.model {
            ModelChoice::Ae => "ae",
            ModelChoice::Linear => "linear",
            ModelChoice::Sparse => "sparse",
            ModelChoice::Denoising => "denoising",
            ModelChoice::Contractive => "contractive",
            ModelChoice::Conv => "conv",
            ModelChoice::Stacked => "stacked",
            ModelChoice::Vae => "vae",
        }
    }

    /// `--hidden`, where 0 means no hidden layer.
    fn hidden_layers(&self) -> Vec<usize> {
        self.hidden.iter().copied().filter(|&h| h != 0).collect()
    }

    pub fn dense_config(&self, input: usize) -> Result<DenseConfig> {
        if self.code == 0 {
            return Err(Error::Config("--code must be at least 1".into()));
        }
        let widths: Vec<usize> = std::iter::once(input).chain(self.hidden_layers()).chain([self.code]).collect();
        super::validate::dense_memory("--hidden/--code", &widths, self.batch_size)?;
        Ok(match self.model {
            // Stacked linear maps add nothing: the default hidden layer is dropped unless asked for.
            ModelChoice::Linear => DenseConfig {
                hidden: if self.hidden == [256] { Vec::new() } else { self.hidden_layers() },
                ..DenseConfig::linear(input, self.code)
            },
            ModelChoice::Contractive => DenseConfig {
                input,
                hidden: Vec::new(),
                code: self.code,
                activation: Activation::Sigmoid,
                code_activation: parse_activation(self.code_activation.as_deref().unwrap_or("sigmoid"))?,
                output_activation: Activation::Sigmoid,
            },
            _ => {
                let act = parse_activation(&self.activation)?;
                let default_code = if self.model == ModelChoice::Sparse { "sigmoid" } else { &self.activation };
                DenseConfig {
                    input,
                    hidden: self.hidden_layers(),
                    code: self.code,
                    activation: act,
                    code_activation: parse_activation(self.code_activation.as_deref().unwrap_or(default_code))?,
                    output_activation: Activation::Sigmoid,
                }
            }
        })
    }

    /// The variational autoencoder of these flags for `height` x `width` images.
    pub fn vae_config(&self, height: usize, width: usize) -> Result<VaeConfig> {
        let widths: Vec<usize> =
            std::iter::once(height * width).chain(self.hidden_layers()).chain([self.code]).collect();
        super::validate::dense_memory("--hidden/--code", &widths, self.batch_size)?;
        Ok(VaeConfig {
            height,
            width,
            encoder: Encoder::parse(&self.encoder)?,
            hidden: self.hidden_layers(),
            code: self.code,
        })
    }

    pub fn objective(&self) -> Result<Objective> {
        let default_loss = if self.model == ModelChoice::Linear { "mse" } else { "bce" };
        let mut obj = Objective::plain(Reconstruction::parse(self.loss.as_deref().unwrap_or(default_loss))?);
        match self.model {
            ModelChoice::Sparse => {
                obj.l1 = self.l1;
                obj.rho = self.rho;
                obj.beta = self.beta.unwrap_or(if self.l1 > 0.0 { 0.0 } else { 3.0 });
                if !(self.rho > 0.0 && self.rho < 1.0) {
                    return Err(Error::Config(format!("--rho must be in (0, 1), got {}", self.rho)));
                }
            }
            ModelChoice::Contractive => obj.contractive = self.lambda,
            ModelChoice::Vae => {
                if obj.reconstruction != Reconstruction::Bce {
                    return Err(Error::Config(
                        "--model vae decodes Bernoulli pixels: its loss is bce (the negative ELBO in nats)".into(),
                    ));
                }
                obj.variational = Some(self.beta.unwrap_or(1.0));
            }
            _ => {
                obj.l1 = self.l1;
            }
        }
        Ok(obj)
    }

    pub fn noise(&self) -> Result<Noise> {
        let default = if self.model == ModelChoice::Denoising { "masking:0.25" } else { "none" };
        Noise::parse(self.noise.as_deref().unwrap_or(default))
    }

    /// `--finetune-noise` (stacked), which corrupts images: a classifier trained on the
    /// frozen stack's codes (`--classifier-only`) has none to corrupt.
    pub fn finetune_noise(&self) -> Result<Noise> {
        let noise = Noise::parse(&self.finetune_noise).map_err(|e| Error::Config(format!("--finetune-noise: {e}")))?;
        if self.classifier_only && !noise.is_none() {
            return Err(Error::Config(
                "--finetune-noise corrupts the images the whole stack is fine-tuned on; with --classifier-only \
                 the head trains on the frozen stack's codes instead"
                    .into(),
            ));
        }
        Ok(noise)
    }

    /// `--finetune-optimizer` (stacked), checked when given: the supervised phase's optimizer, by
    /// default the pretraining's `--optimizer`.
    pub fn finetune_optimizer(&self) -> Result<&str> {
        match &self.finetune_optimizer {
            Some(name) => {
                finetune_optimizer_kind(name, self.momentum)?;
                Ok(name)
            }
            // --optimizer has its own check, with its own name in the message.
            None => Ok(&self.optimizer),
        }
    }

    /// The run directory: --out, else the first runs/<model>-N that does not exist.
    pub fn out_dir(&self) -> PathBuf {
        match &self.out {
            Some(dir) => dir.clone(),
            None => (1..)
                .map(|i| PathBuf::from("runs").join(format!("{}-{i}", self.model_name())))
                .find(|d| !d.exists())
                .expect("some index is free"),
        }
    }

    /// Checks every flag and loads the (limited) dataset, which must have training and
    /// test examples.
    pub fn load_data(&self) -> Result<Dataset> {
        super::validate::train_flags(self)?;
        self.objective()?;
        self.noise()?;
        self.finetune_noise()?;
        self.finetune_optimizer()?;
        let data = datasets::load(&self.dataset, &self.data_dir)?;
        let data = split(data, self.validation, self.limit_train, self.limit_test)?;
        for (n, which) in [(data.n_train(), "training"), (data.n_test(), "test")] {
            if n == 0 {
                return Err(Error::Config(format!("the {which} set of {} is empty", data.name)));
            }
        }
        Ok(data)
    }

    /// How the model trains, as the run records it. A stacked run records its pretraining
    /// (no `epochs`, no sparsity weights: its phases count their own epochs).
    pub fn training_spec(&self, objective: &Objective, noise: &Noise) -> TrainingSpec {
        let stacked = self.model == ModelChoice::Stacked;
        let per_model = |v: f32| (!stacked).then_some(v);
        TrainingSpec {
            epochs: (!stacked).then_some(self.epochs),
            batch_size: self.batch_size,
            lr: self.lr,
            lr_decay: self.lr_decay,
            optimizer: self.optimizer.clone(),
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            loss: objective.reconstruction.name().into(),
            seed: self.seed,
            noise: noise.to_string(),
            l1: per_model(objective.l1),
            rho: per_model(objective.rho),
            beta: per_model(objective.variational.unwrap_or(objective.beta)),
            lambda: objective.contractive,
            validation: self.validation,
            limit_train: self.limit_train,
            limit_test: self.limit_test,
        }
    }

    /// The run's description: this command line's model and training on `backend` and `data`.
    pub fn run_spec<B: Backend>(
        &self,
        backend: &B,
        data: &Dataset,
        training: TrainingSpec,
        arch: Architecture,
    ) -> RunSpec {
        RunSpec {
            model: self.model_name().into(),
            dataset: data.name.clone(),
            dataset_spec: Some(self.dataset.clone()),
            backend: backend.name().into(),
            device: backend.describe(),
            training,
            arch,
        }
    }

    /// The loop's configuration for `training` (plus the flags that only steer the loop).
    pub fn train_config(&self, training: &TrainingSpec) -> Result<TrainConfig> {
        training.train_config(self.check_every, !self.no_progress)
    }
}
