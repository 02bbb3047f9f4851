//! `autoenc train --model stacked`: greedy layer-wise pretraining, then a softmax
//! classifier on the top code, fine-tuned with the stack (or alone on the frozen stack).

use super::args::TrainArgs;
use super::backend::OnBackend;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::data::noise::Noise;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::stacked::{layer_config, Classifier};
use autoenc::run::{Architecture, RunWriter};
use autoenc::train::{self, ClassifierEpoch, EpochMetrics, TrainConfig};
use autoenc::{Error, Result};
use std::process::ExitCode;

const HEADER: &str = "phase,layer,epoch,train_loss,test_loss,test_error,seconds\n";

/// metrics.csv for a stacked run: pretraining rows (per layer) then classifier rows.
struct StackedMetrics<'a> {
    writer: &'a mut RunWriter,
    text: String,
}

impl StackedMetrics<'_> {
    fn pretrain(&mut self, layer: usize, m: &EpochMetrics) -> Result<()> {
        self.text.push_str(&format!(
            "pretrain,{layer},{},{:.6},{:.6},,{:.3}\n",
            m.epoch, m.train_loss, m.test_loss, m.seconds
        ));
        self.writer.write_metrics_text(&self.text)
    }
    fn classifier(&mut self, phase: &str, m: &ClassifierEpoch) -> Result<()> {
        self.text
            .push_str(&format!("{phase},,{},{:.6},,{:.5},{:.3}\n", m.epoch, m.train_loss, m.test_error, m.seconds));
        self.writer.write_metrics_text(&self.text)
    }
}

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
        train_stacked(backend, self.args, self.data)
    }
}

fn train_stacked<B: Backend>(backend: &B, args: &TrainArgs, data: &Dataset) -> Result<ExitCode> {
    let widths = &args.layers;
    if widths.len() < 2 || widths[0] != data.dim() || widths.contains(&0) {
        return Err(Error::Config(format!(
            "--layers must start with the input size {} and list at least one positive code size, got {widths:?}",
            data.dim()
        )));
    }
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
    let finetune_lr = args.finetune_lr.unwrap_or(args.lr / 10.0);
    let arch = Architecture::Stacked {
        layers: widths.clone(),
        pretrain: args.pretrain.clone(),
        pretrain_epochs: args.pretrain_epochs,
        finetune_epochs: args.finetune_epochs,
        finetune_lr,
        classifier_only: args.classifier_only,
    };
    let spec = args.run_spec(backend, data, args.training_spec(&objective, &noise), arch);
    let pre_cfg = TrainConfig { epochs: args.pretrain_epochs, ..args.train_config(&spec.training)? };
    let out = args.out_dir();
    let mut writer = RunWriter::create(&out, &spec)?;
    let mut metrics = StackedMetrics { writer: &mut writer, text: HEADER.to_string() };

    // Greedy: each AE learns to reconstruct the codes of the one below.
    let (mut xs, mut ts) = (data.train_x.clone(), data.test_x.clone());
    let mut stack = Vec::new();
    for layer in 0..widths.len() - 1 {
        let ae =
            DenseAutoencoder::new(backend, layer_config(widths[layer], widths[layer + 1]), args.seed + layer as u64)?;
        eprintln!("pretraining layer {layer}: {} ({})", ae.describe_short(), args.pretrain);
        let cfg = TrainConfig { seed: args.seed + layer as u64, ..pre_cfg.clone() };
        train::train(backend, &ae, &objective, &xs, &ts, widths[layer], &cfg, &mut |m| metrics.pretrain(layer, m))?;
        xs = train::encode(backend, &ae, &xs, widths[layer])?;
        ts = train::encode(backend, &ae, &ts, widths[layer])?;
        stack.push(ae);
    }

    let fine_cfg = TrainConfig { epochs: args.finetune_epochs, lr: finetune_lr, noise: Noise::None, ..pre_cfg.clone() };
    let (clf, phase, train_x, test_x) = if args.classifier_only {
        // The stack stays frozen: its codes are computed once and only the head learns.
        (
            Classifier::from_pretrained(backend, &[], *widths.last().unwrap_or(&1), data.classes, args.seed)?,
            "classifier",
            &xs,
            &ts,
        )
    } else {
        (
            Classifier::from_pretrained(backend, &stack, data.dim(), data.classes, args.seed)?,
            "finetune",
            &data.train_x,
            &data.test_x,
        )
    };
    let train = (&train_x[..], &data.train_y[..]);
    let test = (&test_x[..], &data.test_y[..]);
    let history =
        train::train_classifier(backend, &clf, train, test, phase, &fine_cfg, &mut |m| metrics.classifier(phase, m))?;
    writer.save_model(backend, &clf.params)?;
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
