//! `autoenc train` for the autoencoders: builds the model from flags, trains it on the
//! chosen backend and writes the run directory.

use super::args::{ModelChoice, TrainArgs};
use super::backend::OnBackend;
use super::pictures;
use autoenc::backend::prelude::*;
use autoenc::data::datasets;
use autoenc::data::datasets::Dataset;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::objective::Objective;
use autoenc::models::objective::Reconstruction;
use autoenc::models::vae::VariationalAutoencoder;
use autoenc::models::Model;
use autoenc::run::{checkpoint_state, Architecture, RunWriter, SavedRun, METRICS_FILE, MODEL_FILE};
use autoenc::train;
use autoenc::Result;
use std::process::ExitCode;

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    if let Some(dir) = args.resume.clone() {
        return resume(args, &dir);
    }
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
        train_on(backend, self.args, self.data)
    }
}

fn train_on<B: Backend>(backend: &B, args: &TrainArgs, data: &Dataset) -> Result<ExitCode> {
    let objective = args.objective()?;
    let noise = args.noise()?;
    let training = args.training_spec(&objective, &noise);
    if args.model == ModelChoice::Conv {
        let model = ConvAutoencoder::new(backend, Decoder::parse(&args.decoder)?, data.height, data.width, args.seed)?;
        let arch = Architecture::Conv { decoder: model.decoder_kind.name().into() };
        let spec = args.run_spec(backend, data, training, arch);
        return train_model(backend, &model, args, data, objective, spec);
    }
    if args.model == ModelChoice::Vae {
        let config = args.vae_config(data.height, data.width)?;
        let arch = Architecture::Variational {
            encoder: config.encoder.name().into(),
            hidden: config.hidden.clone(),
            code: config.code,
        };
        let spec = args.run_spec(backend, data, training, arch);
        let model = VariationalAutoencoder::new(backend, config, args.seed)?;
        return train_model(backend, &model, args, data, objective, spec);
    }
    let dense = args.dense_config(data.dim())?;
    let regularised = objective.l1 > 0.0 || objective.beta > 0.0 || objective.contractive > 0.0 || !noise.is_none();
    if dense.code > dense.input && !regularised {
        eprintln!(
            "warning: the code ({}) is larger than the input ({}) and nothing regularises it: the model can learn the identity",
            dense.code, dense.input
        );
    }
    let arch = Architecture::Dense {
        hidden: dense.hidden.clone(),
        code: dense.code,
        activation: dense.activation.name().into(),
        code_activation: dense.code_activation.name().into(),
        output_activation: dense.output_activation.name().into(),
    };
    let spec = args.run_spec(backend, data, training, arch);
    let model = DenseAutoencoder::new(backend, dense, args.seed)?;
    train_model(backend, &model, args, data, objective, spec)
}

fn train_model<B: Backend, M: Model<B>>(
    backend: &B,
    model: &M,
    args: &TrainArgs,
    data: &Dataset,
    objective: Objective,
    spec: autoenc::run::RunSpec,
) -> Result<ExitCode> {
    let out = args.out_dir();
    eprintln!(
        "training {} on {} ({} train / {} test images) with {}",
        model.describe(),
        data.name,
        data.n_train(),
        data.n_test(),
        backend.describe()
    );
    let writer = RunWriter::create(&out, &spec)?;
    let plan = Plan { args, data, objective, check_every: args.check_every, progress: !args.no_progress };
    plan.train(backend, model, writer, None)
}

/// `train --resume DIR`: the run's own config decides the model, data and training.
pub fn resume(args: TrainArgs, dir: &std::path::Path) -> Result<ExitCode> {
    super::validate::count("--check-every", args.check_every, 1, usize::MAX)?;
    super::validate::count("--save-every", args.save_every, 1, usize::MAX)?;
    let run = SavedRun::open(dir)?;
    let t = &run.spec.training;
    let data = datasets::load(run.spec.dataset_spec.as_deref().unwrap_or("bundled"), &args.data_dir)?;
    let data = super::args::split(data, t.validation, t.limit_train, t.limit_test)?;
    if run.spec.model == "stacked" {
        return super::stacked::resume(&args, &run, &data);
    }
    args.device.run(ResumeJob { args: &args, data: &data, run: &run })
}

struct ResumeJob<'a> {
    args: &'a TrainArgs,
    data: &'a Dataset,
    run: &'a SavedRun,
}

impl OnBackend for ResumeJob<'_> {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        let (run, t) = (self.run, &self.run.spec.training);
        let model = super::runs::load_model(backend, run, self.data)?;
        let state = checkpoint_state::load(&run.dir, model.params())?;
        let epochs = t.epochs.unwrap_or(0);
        if state.epoch >= epochs {
            eprintln!("{} is complete ({} of {epochs} epochs); nothing to resume", run.dir.display(), state.epoch);
            return Ok(ExitCode::SUCCESS);
        }
        let mut objective = Objective::plain(Reconstruction::parse(&t.loss)?);
        objective.l1 = t.l1.unwrap_or(0.0);
        objective.rho = t.rho.unwrap_or(objective.rho);
        objective.beta = t.beta.unwrap_or(0.0);
        objective.contractive = t.lambda;
        if run.spec.model == "vae" {
            objective.variational = Some(std::mem::take(&mut objective.beta));
        }
        let metrics = std::fs::read_to_string(run.dir.join(METRICS_FILE))
            .map_err(|e| autoenc::Error::io(run.dir.join(METRICS_FILE), e))?;
        eprintln!("resuming {} after epoch {} of {epochs}", run.dir.display(), state.epoch);
        let writer = RunWriter::resume(&run.dir, &run.spec, metrics)?;
        let plan = Plan {
            args: self.args,
            data: self.data,
            objective,
            check_every: self.args.check_every,
            progress: !self.args.no_progress,
        };
        plan.train(backend, model.as_ref(), writer, Some(state))
    }
}

/// What a training needs besides the model: the data, objective and checkpoint policy.
struct Plan<'a> {
    args: &'a TrainArgs,
    data: &'a Dataset,
    objective: Objective,
    check_every: usize,
    progress: bool,
}

impl Plan<'_> {
    /// Trains, checkpointing every --save-every epochs and after the last; a failure
    /// leaves the run directory at its last checkpoint.
    fn train<B: Backend, M: Model<B> + ?Sized>(
        &self,
        backend: &B,
        model: &M,
        mut writer: RunWriter,
        resume: Option<train::Resume>,
    ) -> Result<ExitCode> {
        let data = self.data;
        let spec = writer.spec().clone();
        let cfg = spec.training.train_config(self.check_every, self.progress)?;
        let save_every = self.args.save_every;
        let out = writer.dir().to_path_buf();
        // The same test images (corrupted once, with the run's seed) are shown after every epoch.
        let shown = pictures::Shown::new(data, &cfg.noise, spec.training.seed);
        let result = train::train_from(
            backend,
            model,
            &self.objective,
            &data.train_x,
            &data.test_x,
            data.dim(),
            &cfg,
            resume,
            &mut |m, end| {
                pictures::after_epoch(&mut writer, backend, model, data, &shown, m)?;
                if end.epoch % save_every == 0 || end.epoch == cfg.epochs {
                    writer.save_model(backend, model.params())?;
                    checkpoint_state::save(&mut writer, backend, model.params(), end.epoch, end.optimizer)?;
                    writer.checkpoint()?;
                }
                Ok(())
            },
        );
        let history = result.map_err(|e| kept_checkpoint(e, &out))?;
        writer.finish()?;
        if let Some(e) = history.last().and_then(|m| m.elbo) {
            eprintln!(
                "wrote {} (final test negative ELBO {:.3} nats per image: reconstruction {:.3} + KL {:.3})",
                out.display(),
                e.neg_elbo,
                e.reconstruction,
                e.kl
            );
        } else if let Some(last) = history.last() {
            eprintln!(
                "wrote {} (final test_recon_loss {:.6}, squared error per image {:.3})",
                out.display(),
                last.test_loss,
                last.test_sse_per_image
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Adds to a training error what became of the run directory.
pub(super) fn kept_checkpoint(e: autoenc::Error, out: &std::path::Path) -> autoenc::Error {
    match e {
        autoenc::Error::NonFinite(msg) => {
            let kept = if out.join(MODEL_FILE).is_file() {
                format!("{} keeps its last good checkpoint (or the run it held before)", out.display())
            } else {
                format!("nothing was written to {}", out.display())
            };
            autoenc::Error::NonFinite(format!("{msg}; {kept}"))
        }
        other => other,
    }
}
