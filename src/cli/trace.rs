//! `autoenc trace`: one small batch of a freshly initialised model through the tape,
//! printed as a teaching view (every forward node, then the reverse walk with gradient
//! shapes and norms); `--dot FILE` writes the same graph for Graphviz.

use super::args::{ModelChoice, TrainArgs};
use super::backend::OnBackend;
use autoenc::autodiff::trace::{trace_dot, trace_nodes, trace_text};
use autoenc::autodiff::Tape;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::io::write_atomic;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::conv::{ConvAutoencoder, Decoder};
use autoenc::models::Model;
use autoenc::tensor::Tensor;
use autoenc::{Error, Result};
use clap::Args;
use rand::SeedableRng;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// The model and its flags, as for `autoenc train` (--model, --hidden, --code, ...).
    #[command(flatten)]
    train: TrainArgs,
    /// Images in the batch.
    #[arg(long, default_value_t = 2)]
    rows: usize,
    /// Also write the graph in Graphviz's dot language here.
    #[arg(long)]
    dot: Option<PathBuf>,
}

pub fn trace(a: TraceArgs) -> Result<ExitCode> {
    if a.train.model == ModelChoice::Stacked {
        return Err(Error::Config(
            "trace shows one autoencoder; a stacked run pretrains several (try --model ae)".into(),
        ));
    }
    if a.rows == 0 {
        return Err(Error::Config("--rows must be at least 1".into()));
    }
    let data = a.train.load_data()?;
    a.train.device.run(Job { a: &a, data: &data })
}

struct Job<'a> {
    a: &'a TraceArgs,
    data: &'a Dataset,
}

impl OnBackend for Job<'_> {
    type Output = ExitCode;
    fn run<B: Backend>(self, backend: &B) -> Result<ExitCode> {
        let t = &self.a.train;
        if t.model == ModelChoice::Conv {
            let d = self.data;
            let model = ConvAutoencoder::new(backend, Decoder::parse(&t.decoder)?, d.height, d.width, t.seed)?;
            trace_model(backend, &model, self.a, d)
        } else {
            let model = DenseAutoencoder::new(backend, t.dense_config(self.data.dim())?, t.seed)?;
            trace_model(backend, &model, self.a, self.data)
        }
    }
}

fn trace_model<B: Backend, M: Model<B>>(backend: &B, model: &M, a: &TraceArgs, data: &Dataset) -> Result<ExitCode> {
    let rows = a.rows.min(data.n_train());
    let clean = data.train_x[..rows * data.dim()].to_vec();
    let mut input = clean.clone();
    let noise = a.train.noise()?;
    noise.apply(&mut input, &mut rand::rngs::StdRng::seed_from_u64(a.train.seed));
    let objective = a.train.objective()?;

    let tape = Tape::new(backend);
    let p = model.params().bind(&tape);
    let x = Tensor::from_slice(backend, model.input_shape(rows), &input, "trace input")?;
    let target = Tensor::from_slice(backend, model.input_shape(rows), &clean, "trace target")?;
    let xv = tape.constant(&x);
    let fwd = model.forward(&p, xv)?;
    let loss = objective.evaluate(&tape, &fwd, &target)?.total;
    tape.backward(loss)?;

    let mut labels: HashMap<usize, String> =
        p.vars.iter().zip(&model.params().list).map(|(v, param)| (v.index(), param.name.clone())).collect();
    labels.insert(xv.index(), format!("input x ({rows} images{})", if noise.is_none() { "" } else { ", corrupted" }));
    labels.insert(fwd.code.index(), "code h".into());
    labels.insert(loss.index(), "loss (the objective)".into());
    let nodes = trace_nodes(&tape, &labels)?;
    println!(
        "{} on {} images of {}, objective {:?}\n",
        model.describe(),
        rows,
        data.name,
        objective.reconstruction.name()
    );
    print!("{}", trace_text(&nodes, loss.index()));
    if let Some(path) = &a.dot {
        write_atomic(path, trace_dot(&nodes).as_bytes())?;
        println!("\nwrote {} (render with: dot -Tsvg {} -o tape.svg)", path.display(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}
