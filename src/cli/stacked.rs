//! `autoenc train --model stacked`: greedy layer-wise pretraining, then a softmax
//! classifier on the top code, fine-tuned with the stack (or alone on the frozen stack).

use super::args::TrainArgs;
use super::backend::OnBackend;
use super::pictures;
use autoenc::backend::prelude::*;
use autoenc::data::datasets::Dataset;
use autoenc::data::noise::Noise;
use autoenc::models::ae::DenseAutoencoder;
use autoenc::models::objective::{Objective, Reconstruction};
use autoenc::models::stacked::{layer_config, Classifier};
use autoenc::plots::{Panel, Series};
use autoenc::run::{Architecture, RunWriter};
use autoenc::train::{self, ClassifierEpoch, EpochMetrics, TrainConfig};
use autoenc::{Error, Result};
use std::process::ExitCode;

// train_objective is the phase's objective: the layer's reconstruction loss (plus any
// contractive penalty) while pretraining, the cross-entropy while classifying.
const HEADER: &str = "phase,layer,epoch,train_objective,test_recon_loss,test_error,seconds\n";

/// metrics.csv and curves.png for a stacked run: pretraining rows (per layer) then
/// classifier rows.
struct StackedMetrics<'a> {
    writer: &'a mut RunWriter,
    text: String,
    /// Per layer: train objective and test reconstruction loss, by epoch.
    pretrain: Vec<(Series, Series)>,
    /// The classifier's train objective and test error, by epoch.
    classifier: (Series, Series),
}

impl StackedMetrics<'_> {
    fn pretrain(&mut self, layer: usize, m: &EpochMetrics) -> Result<()> {
        self.text.push_str(&format!(
            "pretrain,{layer},{},{:.6},{:.6},,{:.3}\n",
            m.epoch, m.train_loss, m.test_loss, m.seconds
        ));
        while self.pretrain.len() <= layer {
            let l = self.pretrain.len();
            self.pretrain.push((
                Series::new(&format!("layer {l} train_objective")),
                Series::new(&format!("layer {l} test_recon_loss")),
            ));
        }
        self.pretrain[layer].0.points.push((m.epoch as f64, m.train_loss));
        self.pretrain[layer].1.points.push((m.epoch as f64, m.test_loss));
        self.write()
    }
    fn classifier(&mut self, phase: &str, m: &ClassifierEpoch) -> Result<()> {
        self.text
            .push_str(&format!("{phase},,{},{:.6},,{:.5},{:.3}\n", m.epoch, m.train_loss, m.test_error, m.seconds));
        self.classifier.0.name = format!("{phase} train_objective (cross-entropy)");
        self.classifier.0.points.push((m.epoch as f64, m.train_loss));
        self.classifier.1.points.push((m.epoch as f64, m.test_error));
        self.write()
    }
    fn write(&mut self) -> Result<()> {
        self.writer.write_metrics_text(&self.text)?;
        let panel = |title: &str, y: &str, series: Vec<Series>| Panel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y.into(),
            series,
        };
        let pre = self.pretrain.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        let panels = [
            panel("greedy pretraining, per layer", "loss", pre),
            panel("classifier loss", "cross-entropy", vec![self.classifier.0.clone()]),
            panel("classifier test error", "fraction misclassified", vec![self.classifier.1.clone()]),
        ];
        pictures::write_curves(self.writer, &panels)
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
    let mut metrics = StackedMetrics {
        writer: &mut writer,
        text: HEADER.to_string(),
        pretrain: Vec::new(),
        classifier: (Series::new("train_objective"), Series::new("test_error")),
    };
    let (_, latent_labels) = pictures::latent_sample(data);

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
        // The latent map shows the codes of the highest layer trained so far.
        let shown = &ts[..latent_labels.len() * widths[layer + 1]];
        let title = format!("test codes of layer {layer} ({} values), coloured by class", widths[layer + 1]);
        pictures::write_latent(metrics.writer, shown, latent_labels, &title)?;
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
