//! `autoenc train` for the autoencoders: builds the model from flags, trains it on the
//! chosen backend and writes the run directory.

use super::args::{ModelChoice, TrainArgs};
use super::backend::OnBackend;
use super::pictures;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::objective::Objective;
use autoenc::models::Model;
use autoenc::run::{Architecture, RunWriter};
use autoenc::train;
use autoenc::Result;
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
    let cfg = args.train_config(&spec.training)?;
    eprintln!(
        "training {} on {} ({} train / {} test images) with {}",
        model.describe(),
        data.name,
        data.n_train(),
        data.n_test(),
        backend.describe()
    );
    let mut writer = RunWriter::create(&out, &spec)?;
    // The same test images (corrupted once, with the run's seed) are shown after every epoch.
    let shown = pictures::Shown::new(data, &cfg.noise, args.seed);
    let mut so_far = Vec::new();
    let history = train::train(backend, model, &objective, &data.train_x, &data.test_x, data.dim(), &cfg, &mut |m| {
        pictures::after_epoch(&mut writer, &mut so_far, backend, model, data, &shown, m)
    })?;
    writer.save_model(backend, model.params())?;
    if let Some(last) = history.last() {
        eprintln!(
            "wrote {} (final test_recon_loss {:.6}, squared error per image {:.3})",
            out.display(),
            last.test_loss,
            last.test_sse_per_image
        );
    }
    Ok(ExitCode::SUCCESS)
}
