//! `autoenc train --model stacked`: greedy layer-wise pretraining, then a softmax
//! classifier on the top code, fine-tuned with the stack (or alone on the frozen stack).
//!
//! Every phase checkpoints like the single-phase models (every --save-every epochs and
//! after its last): model.safetensors holds the model of the phase in progress,
//! optimizer.safetensors its optimizer and the phase, pretrained.safetensors the layers
//! already pretrained. `train --resume` rebuilds the stack from them and continues where
//! the checkpoint ends; on the CPU it ends bit-identical to an uninterrupted run.

use super::args::TrainArgs;
use super::backend::OnBackend;
use super::pictures;
use super::stacked_metrics::StackedMetrics;
use super::train::kept_checkpoint;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::data::noise::Noise;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::stacked::{layer_config, Classifier};
use autoenc::optim::{Optimizer, OptimizerKind};
use autoenc::run::checkpoint_state::{self, SavedState};
use autoenc::run::stacked_state::{self, Stage};
use autoenc::run::{Architecture, RunSpec, RunWriter, SavedRun, METRICS_FILE};
use autoenc::train::{self, ClassifierEpoch, TrainConfig};
use autoenc::{Error, Result};
use std::process::ExitCode;

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let data = args.load_data()?;
    args.device.run(Job { args: &args, data: &data })
}

struct Job<'a> {
    args: &'a TrainArgs,
    data: &'a Dataset,
}

impl OnBackend for Job<'_> {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        let spec = fresh_spec(backend, self.args, self.data)?;
        let plan = Plan::from_spec(&spec, self.data, self.args)?;
        let writer = RunWriter::create(&self.args.out_dir(), &spec)?;
        plan.train(backend, writer, None)
    }
}

/// The run's description from the command line, every flag checked.
fn fresh_spec<B: Backend>(backend: &B, args: &TrainArgs, data: &Dataset) -> Result<RunSpec> {
    let widths = &args.layers;
    check_widths(widths, data)?;
    super::validate::dense_memory("--layers", widths, args.batch_size)?;
    let mut objective = Objective::plain(Reconstruction::parse(args.loss.as_deref().unwrap_or("bce"))?);
    let noise = match args.pretrain.as_str() {
        "ae" => Noise::None,
        "denoising" => Noise::parse(args.noise.as_deref().unwrap_or("masking:0.25"))?,
        "contractive" => {
            objective.contractive = args.lambda;
            Noise::None
        }
        other => {
            return Err(Error::Config(format!("unknown --pretrain '{other}' (expected ae, denoising or contractive)")))
        }
    };
    let arch = Architecture::Stacked {
        layers: widths.clone(),
        pretrain: args.pretrain.clone(),
        pretrain_epochs: args.pretrain_epochs,
        finetune_epochs: args.finetune_epochs,
        finetune_lr: args.finetune_lr.unwrap_or(args.lr),
        classifier_only: args.classifier_only,
        finetune_noise: args.finetune_noise()?.to_string(),
        finetune_optimizer: Some(args.finetune_optimizer()?.to_string()),
    };
    Ok(args.run_spec(backend, data, args.training_spec(&objective, &noise), arch))
}

fn check_widths(widths: &[usize], data: &Dataset) -> Result<()> {
    if widths.len() < 2 || widths[0] != data.dim() || widths.contains(&0) {
        return Err(Error::Config(format!(
            "--layers must start with the input size {} and list at least one positive code size, got {widths:?}",
            data.dim()
        )));
    }
    Ok(())
}

/// `train --resume DIR` of a stacked run: `run` is the run, `data` its dataset.
pub fn resume(args: &TrainArgs, run: &SavedRun, data: &Dataset) -> Result<ExitCode> {
    args.device.run(ResumeJob { args, run, data })
}

struct ResumeJob<'a> {
    args: &'a TrainArgs,
    run: &'a SavedRun,
    data: &'a Dataset,
}

impl OnBackend for ResumeJob<'_> {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        let run = self.run;
        let plan = Plan::from_spec(&run.spec, self.data, self.args)?;
        let state = SavedState::open(&run.dir)?;
        let (stage, epoch) = (Stage::of(&state)?, state.epoch()?);
        if let Stage::Pretrain { layer } = stage {
            if layer + 1 >= plan.widths.len() {
                return Err(Error::Checkpoint(format!(
                    "{}: the checkpoint is in the pretraining of layer {layer}, but the run has {} layers",
                    state.path().display(),
                    plan.widths.len() - 1
                )));
            }
        }
        let (name, epochs) = match stage {
            Stage::Pretrain { layer } => (format!("pretraining of layer {layer}"), plan.pre_cfg.epochs),
            Stage::Supervised => (plan.phase().to_string(), plan.finetune_epochs),
        };
        if stage == Stage::Supervised && epoch >= epochs {
            eprintln!("{} is complete ({name}: {epoch} of {epochs} epochs); nothing to resume", run.dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        let path = run.dir.join(METRICS_FILE);
        let metrics = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        eprintln!("resuming {} in the {name}, after epoch {epoch} of {epochs}", run.dir.display());
        let writer = RunWriter::resume(&run.dir, &run.spec, metrics.clone())?;
        plan.train(backend, writer, Some(Resumed { run, state, stage, metrics }))
    }
}

/// Where a resumed stacked run starts: its last checkpoint.
struct Resumed<'a> {
    run: &'a SavedRun,
    state: SavedState,
    stage: Stage,
    metrics: String,
}

impl Resumed<'_> {
    /// Loads the checkpoint's model into `params` and returns its optimizer state.
    fn load<B: Backend>(&self, backend: &B, params: &mut autoenc::nn::Params<B>) -> Result<train::Resume> {
        self.run.load_params(backend, params)?;
        self.state.resume(params)
    }
}

/// The pretrained stack and the top codes of the training and test sets.
type Pretrained<B> = (Vec<DenseAutoencoder<B>>, Vec<f32>, Vec<f32>);

/// A stacked training as its [`RunSpec`] describes it (the same for a fresh run and a
/// resumed one), plus the flags that only steer the loop.
struct Plan<'a> {
    data: &'a Dataset,
    widths: Vec<usize>,
    pretrain: String,
    finetune_epochs: usize,
    finetune_lr: f32,
    classifier_only: bool,
    finetune_noise: Noise,
    finetune_optimizer: OptimizerKind,
    objective: Objective,
    /// The pretraining's configuration (seeded per layer).
    pre_cfg: TrainConfig,
    save_every: usize,
}

impl<'a> Plan<'a> {
    fn from_spec(spec: &RunSpec, data: &'a Dataset, args: &TrainArgs) -> Result<Self> {
        let Architecture::Stacked {
            layers,
            pretrain,
            pretrain_epochs,
            finetune_epochs,
            finetune_lr,
            classifier_only,
            finetune_noise,
            finetune_optimizer,
        } = &spec.arch
        else {
            return Err(Error::Config(format!("model '{}' is not a stacked model", spec.model)));
        };
        check_widths(layers, data)?;
        let t = &spec.training;
        let mut objective = Objective::plain(Reconstruction::parse(&t.loss)?);
        objective.contractive = t.lambda;
        let pre_cfg = TrainConfig { epochs: *pretrain_epochs, ..args.train_config(t)? };
        let finetune_optimizer = match finetune_optimizer {
            Some(name) => super::args::finetune_optimizer_kind(name, t.momentum)?,
            None => pre_cfg.optimizer,
        };
        Ok(Plan {
            data,
            widths: layers.clone(),
            pretrain: pretrain.clone(),
            finetune_epochs: *finetune_epochs,
            finetune_lr: *finetune_lr,
            classifier_only: *classifier_only,
            finetune_noise: Noise::parse(finetune_noise)?,
            finetune_optimizer,
            objective,
            pre_cfg,
            save_every: args.save_every,
        })
    }

    /// The supervised phase's name in metrics.csv and the printed lines.
    fn phase(&self) -> &'static str {
        if self.classifier_only {
            "classifier"
        } else {
            "finetune"
        }
    }

    /// A phase of `epochs` checkpoints after `epoch`: every --save-every epochs and after its last.
    fn checkpoint_due(&self, epoch: usize, epochs: usize) -> bool {
        epoch.is_multiple_of(self.save_every) || epoch == epochs
    }

    /// Trains every phase from `resume`'s checkpoint (or from the start), checkpointing
    /// as it goes; a failure leaves the run directory at its last checkpoint.
    fn train<B: Backend>(&self, backend: &B, mut writer: RunWriter, resume: Option<Resumed>) -> Result<ExitCode> {
        let out = writer.dir().to_path_buf();
        let result = self.phases(backend, &mut writer, resume.as_ref());
        let (history, phase) = result.map_err(|e| kept_checkpoint(e, &out))?;
        writer.finish()?;
        if let Some(last) = history.last() {
            eprintln!(
                "wrote {}: test error {:.2}% (accuracy {:.2}%) after {} {phase} epochs",
                out.display(),
                100.0 * last.test_error,
                100.0 * (1.0 - last.test_error),
                last.epoch
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    fn phases<B: Backend>(
        &self,
        backend: &B,
        writer: &mut RunWriter,
        resume: Option<&Resumed>,
    ) -> Result<(Vec<ClassifierEpoch>, &'static str)> {
        let mut metrics = StackedMetrics::new(resume.map(|r| r.metrics.clone()));
        let (stack, xs, ts) = self.pretrain_stack(backend, writer, &mut metrics, resume)?;
        let history = self.supervise(backend, writer, &mut metrics, resume, &stack, (&xs, &ts))?;
        Ok((history, self.phase()))
    }

    /// Greedy pretraining: each AE learns to reconstruct the codes of the one below. The
    /// layers finished before `resume`'s checkpoint come back from pretrained.safetensors,
    /// the layer in progress from its checkpoint. Returns the stack and the top codes of
    /// the training and test sets.
    fn pretrain_stack<B: Backend>(
        &self,
        backend: &B,
        writer: &mut RunWriter,
        metrics: &mut StackedMetrics,
        resume: Option<&Resumed>,
    ) -> Result<Pretrained<B>> {
        let (data, widths) = (self.data, &self.widths);
        let start = resume.map(|r| r.stage).unwrap_or(Stage::Pretrain { layer: 0 });
        let pretrained = match (resume, start) {
            (Some(r), Stage::Supervised) | (Some(r), Stage::Pretrain { layer: 1.. }) => {
                Some(stacked_state::open_pretrained(&r.run.dir)?)
            }
            _ => None,
        };
        let (_, latent_labels) = pictures::latent_sample(data);
        let (mut xs, mut ts) = (data.train_x.clone(), data.test_x.clone());
        let mut stack: Vec<DenseAutoencoder<B>> = Vec::new();
        for layer in 0..widths.len() - 1 {
            let seed = self.pre_cfg.seed + layer as u64;
            let mut ae = DenseAutoencoder::new(backend, layer_config(widths[layer], widths[layer + 1]), seed)?;
            let finished_before = match start {
                Stage::Pretrain { layer: l } => layer < l,
                Stage::Supervised => true,
            };
            if finished_before {
                let ck = pretrained.as_ref().ok_or_else(|| Error::Checkpoint("pretrained layers not loaded".into()))?;
                stacked_state::load_layer(ck, backend, layer, &mut ae.params)?;
            } else {
                let from = match resume {
                    Some(r) if start == (Stage::Pretrain { layer }) => Some(r.load(backend, &mut ae.params)?),
                    _ => None,
                };
                let resumed = from.as_ref().map(|r| format!(", resumed after epoch {}", r.epoch)).unwrap_or_default();
                eprintln!("pretraining layer {layer}: {} ({}{resumed})", ae.describe_short(), self.pretrain);
                let cfg = TrainConfig { seed, ..self.pre_cfg.clone() };
                let meta = Stage::Pretrain { layer }.meta();
                train::train_from(
                    backend,
                    &ae,
                    &self.objective,
                    &xs,
                    &ts,
                    widths[layer],
                    &cfg,
                    from,
                    &mut |m, end| {
                        metrics.pretrain(writer, layer, m)?;
                        if self.checkpoint_due(end.epoch, cfg.epochs) {
                            writer.save_model(backend, &ae.params)?;
                            checkpoint_state::save_with(writer, backend, &ae.params, end.epoch, end.optimizer, &meta)?;
                            writer.checkpoint()?;
                        }
                        Ok(())
                    },
                )?;
            }
            xs = train::encode(backend, &ae, &xs, widths[layer])?;
            ts = train::encode(backend, &ae, &ts, widths[layer])?;
            stack.push(ae);
            if !finished_before {
                // The latent map shows the codes of the highest layer trained so far.
                let shown = &ts[..latent_labels.len() * widths[layer + 1]];
                let title = format!("test codes of layer {layer} ({} values), coloured by class", widths[layer + 1]);
                pictures::write_latent(writer, shown, latent_labels, &title)?;
                let params: Vec<_> = stack.iter().map(|ae| &ae.params).collect();
                stacked_state::save_pretrained(writer, backend, &params)?;
            }
        }
        Ok((stack, xs, ts))
    }

    /// The supervised phase on the pretrained `stack` (whose top codes are `codes`), from
    /// `resume`'s checkpoint if it is in this phase; the classifier is staged as the model.
    fn supervise<B: Backend>(
        &self,
        backend: &B,
        writer: &mut RunWriter,
        metrics: &mut StackedMetrics,
        resume: Option<&Resumed>,
        stack: &[DenseAutoencoder<B>],
        codes: (&[f32], &[f32]),
    ) -> Result<Vec<ClassifierEpoch>> {
        let data = self.data;
        let fine_cfg = TrainConfig {
            epochs: self.finetune_epochs,
            lr: self.finetune_lr,
            noise: self.finetune_noise,
            optimizer: self.finetune_optimizer,
            ..self.pre_cfg.clone()
        };
        let phase = self.phase();
        let seed = self.pre_cfg.seed;
        let (mut clf, train_x, test_x) = if self.classifier_only {
            // The stack stays frozen: its codes are computed once and only the head learns.
            let top = *self.widths.last().unwrap_or(&1);
            (Classifier::from_pretrained(backend, &[], top, data.classes, seed)?, codes.0, codes.1)
        } else {
            let clf = Classifier::from_pretrained(backend, stack, data.dim(), data.classes, seed)?;
            (clf, &data.train_x[..], &data.test_x[..])
        };
        let from = match resume {
            Some(r) if r.stage == Stage::Supervised => Some(r.load(backend, &mut clf.params)?),
            _ => None,
        };
        let train = (train_x, &data.train_y[..]);
        let test = (test_x, &data.test_y[..]);
        let meta = Stage::Supervised.meta();
        let history =
            train::train_classifier_from(backend, &clf, train, test, phase, &fine_cfg, from, &mut |m, end| {
                metrics.classifier(writer, phase, m)?;
                if self.checkpoint_due(end.epoch, fine_cfg.epochs) {
                    writer.save_model(backend, &clf.params)?;
                    checkpoint_state::save_with(writer, backend, &clf.params, end.epoch, end.optimizer, &meta)?;
                    writer.checkpoint()?;
                }
                Ok(())
            })?;
        writer.save_model(backend, &clf.params)?;
        if fine_cfg.epochs == 0 {
            // No supervised epoch checkpointed: record the phase as done (an optimizer that
            // never stepped), so that --resume finds a complete run.
            let optimizer =
                Optimizer::new(backend, &clf.params, fine_cfg.optimizer, fine_cfg.lr, fine_cfg.weight_decay)?;
            checkpoint_state::save_with(writer, backend, &clf.params, 0, &optimizer, &meta)?;
        }
        Ok(history)
    }
}
