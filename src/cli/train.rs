//! `autoenc train`: builds the model from flags, trains it on the chosen backend and
//! writes the run directory.

use super::BackendChoice;
use autoenc::backend::gpu::GpuBackend;
use autoenc::backend::prelude::*;
use autoenc::backend::Activation;
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::noise::Noise;
use autoenc::models::ae::{DenseAutoencoder, DenseConfig};
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::Model;
use autoenc::optim::OptimizerKind;
use autoenc::run::RunWriter;
use autoenc::train::{self, TrainConfig};
use autoenc::{CpuBackend, Error, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    /// GPU adapter name substring (also AUTOENC_ADAPTER).
    #[arg(long)]
    pub adapter: Option<String>,
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
    /// Run directory (default runs/<model>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Decoder of the conv model: upsample (nearest + conv) or transposed (strided conv_transpose2d).
    #[arg(long, default_value = "upsample")]
    pub decoder: String,
    /// Stacked: layer widths from the input up, e.g. 784,500,250.
    #[arg(long, value_delimiter = ',', default_values_t = [784, 256, 64])]
    pub layers: Vec<usize>,
    /// Stacked: how each layer is pretrained: ae | denoising | contractive.
    #[arg(long, default_value = "denoising")]
    pub pretrain: String,
    /// Stacked: epochs of pretraining per layer.
    #[arg(long, default_value_t = 3)]
    pub pretrain_epochs: usize,
    /// Stacked: epochs of supervised training of the classifier.
    #[arg(long, default_value_t = 5)]
    pub finetune_epochs: usize,
    /// Stacked: learning rate of the supervised phase (default: --lr / 10, gentler on the pretrained stack).
    #[arg(long)]
    pub finetune_lr: Option<f32>,
    /// Stacked: train only the softmax head on the frozen stack's codes.
    #[arg(long)]
    pub classifier_only: bool,
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
    /// KL sparsity weight (sparse; default 3 when --l1 is not given).
    #[arg(long)]
    pub beta: Option<f32>,
    /// Contractive penalty weight. The reconstruction loss is a mean over pixels, so this is
    /// ~1/784 of the same lambda on a per-image sum; 1e-3 takes the mean ||J_f(x)||_F of a
    /// 784-128 sigmoid encoder on MNIST from 7.0 to 2.7 (docs/RESULTS.md).
    #[arg(long, default_value_t = 1e-3)]
    pub lambda: f32,
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

fn parse_activation(s: &str) -> Result<Activation> {
    Activation::parse(s)
        .ok_or_else(|| Error::Config(format!("unknown activation '{s}' (relu, sigmoid, tanh, leaky_relu, identity)")))
}

impl TrainArgs {
    fn model_name(&self) -> &'static str {
        match self.model {
            ModelChoice::Ae => "ae",
            ModelChoice::Linear => "linear",
            ModelChoice::Sparse => "sparse",
            ModelChoice::Denoising => "denoising",
            ModelChoice::Contractive => "contractive",
            ModelChoice::Conv => "conv",
            ModelChoice::Stacked => "stacked",
        }
    }

    /// `--hidden`, where 0 means no hidden layer.
    fn hidden_layers(&self) -> Vec<usize> {
        self.hidden.iter().copied().filter(|&h| h != 0).collect()
    }

    fn dense_config(&self, input: usize) -> Result<DenseConfig> {
        if self.code == 0 {
            return Err(Error::Config("--code must be at least 1".into()));
        }
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

    fn objective(&self) -> Result<Objective> {
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
            _ => {
                obj.l1 = self.l1;
            }
        }
        Ok(obj)
    }

    fn noise(&self) -> Result<Noise> {
        let default = if self.model == ModelChoice::Denoising { "masking:0.25" } else { "none" };
        Noise::parse(self.noise.as_deref().unwrap_or(default))
    }
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    if args.batch_size == 0 {
        return Err(Error::Config("--batch-size must be at least 1".into()));
    }
    if args.epochs == 0 {
        return Err(Error::Config("--epochs must be at least 1".into()));
    }
    let data = datasets::load(&args.dataset, &args.data_dir)?.limit(args.limit_train, args.limit_test);
    match args.backend {
        BackendChoice::Cpu => train_on(&CpuBackend::new(), &args, &data),
        BackendChoice::Gpu => train_on(&GpuBackend::new(args.adapter.as_deref())?, &args, &data),
    }
}

fn train_on<B: Backend>(backend: &B, args: &TrainArgs, data: &Dataset) -> Result<ExitCode> {
    let objective = args.objective()?;
    let noise = args.noise()?;
    let mut config = serde_json::json!({
        "model": args.model_name(),
        "dataset": data.name,
        "dataset_spec": args.dataset,
        "backend": backend.name(),
        "device": backend.describe(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "lr_decay": args.lr_decay,
        "optimizer": args.optimizer,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "loss": objective.reconstruction.name(),
        "seed": args.seed,
        "noise": noise.to_string(),
        "l1": objective.l1,
        "rho": objective.rho,
        "beta": objective.beta,
        "lambda": objective.contractive,
    });
    if args.model == ModelChoice::Stacked {
        let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(args.model_name()));
        return super::stacked::run(backend, args, data, &out);
    }
    if args.model == ModelChoice::Conv {
        let model = ConvAutoencoder::new(backend, Decoder::parse(&args.decoder)?, data.height, data.width, args.seed)?;
        config["decoder"] = model.decoder_kind.name().into();
        return train_model(backend, &model, args, data, objective, noise, config);
    }
    let dense = args.dense_config(data.dim())?;
    let regularised = objective.l1 > 0.0 || objective.beta > 0.0 || objective.contractive > 0.0 || !noise.is_none();
    if dense.code > dense.input && !regularised {
        eprintln!(
            "warning: the code ({}) is larger than the input ({}) and nothing regularises it: the model can learn the identity",
            dense.code, dense.input
        );
    }
    config["hidden"] = serde_json::json!(dense.hidden);
    config["code"] = dense.code.into();
    config["activation"] = dense.activation.name().into();
    config["code_activation"] = dense.code_activation.name().into();
    config["output_activation"] = dense.output_activation.name().into();
    let model = DenseAutoencoder::new(backend, dense, args.seed)?;
    train_model(backend, &model, args, data, objective, noise, config)
}

fn train_model<B: Backend, M: Model<B>>(
    backend: &B,
    model: &M,
    args: &TrainArgs,
    data: &Dataset,
    objective: Objective,
    noise: Noise,
    config: serde_json::Value,
) -> Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(args.model_name()));
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        lr_decay: args.lr_decay,
        optimizer: OptimizerKind::parse(&args.optimizer, args.momentum)?,
        weight_decay: args.weight_decay,
        seed: args.seed,
        noise,
        check_every: args.check_every,
        progress: !args.no_progress,
    };
    eprintln!(
        "training {} on {} ({} train / {} test images) with {}",
        model.describe(),
        data.name,
        data.n_train(),
        data.n_test(),
        backend.describe()
    );
    let mut writer = RunWriter::create(&out, args.model_name(), &config)?;
    let history = train::train(backend, model, &objective, &data.train_x, &data.test_x, data.dim(), &cfg, &mut |m| {
        writer.append_metrics(m)
    })?;
    writer.save_model(backend, model.params())?;
    let shown = data.n_test().min(10);
    let originals = &data.test_x[..shown * data.dim()];
    let mut corrupted = originals.to_vec();
    cfg.noise.apply(&mut corrupted, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(args.seed));
    let recon = train::reconstruct(backend, model, &corrupted, data.dim())?;
    writer.save_reconstructions(originals, &corrupted, &recon, !cfg.noise.is_none(), data.height, data.width)?;
    if let Some(last) = history.last() {
        eprintln!(
            "wrote {} (final test loss {:.6}, squared error per image {:.3})",
            out.display(),
            last.test_loss,
            last.test_sse_per_image
        );
    }
    Ok(ExitCode::SUCCESS)
}
