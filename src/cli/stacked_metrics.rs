//! metrics.csv and curves.png of a stacked run: one row per pretraining epoch of each
//! layer, then one per classifier epoch. curves.png is drawn from the metrics text, so a
//! resumed run's curves show every epoch, exactly as an uninterrupted run's do.

use super::pictures;
use autoenc::plots::{Panel, Series};
use autoenc::run::RunWriter;
use autoenc::train::{ClassifierEpoch, EpochMetrics};
use autoenc::Result;

// train_objective is the phase's objective: the layer's reconstruction loss (plus any
// contractive penalty) while pretraining, the cross-entropy while classifying.
const HEADER: &str = "phase,layer,epoch,train_objective,test_recon_loss,test_error,seconds\n";

/// The metrics.csv text of a stacked run.
pub struct StackedMetrics {
    text: String,
}

impl StackedMetrics {
    /// A new run's (the header), or a resumed run's rows so far.
    pub fn new(so_far: Option<String>) -> Self {
        StackedMetrics { text: so_far.unwrap_or_else(|| HEADER.into()) }
    }

    pub fn pretrain(&mut self, writer: &mut RunWriter, layer: usize, m: &EpochMetrics) -> Result<()> {
        self.text.push_str(&format!(
            "pretrain,{layer},{},{:.6},{:.6},,{:.3}\n",
            m.epoch, m.train_loss, m.test_loss, m.seconds
        ));
        self.write(writer)
    }

    pub fn classifier(&mut self, writer: &mut RunWriter, phase: &str, m: &ClassifierEpoch) -> Result<()> {
        self.text
            .push_str(&format!("{phase},,{},{:.6},,{:.5},{:.3}\n", m.epoch, m.train_loss, m.test_error, m.seconds));
        self.write(writer)
    }

    fn write(&self, writer: &mut RunWriter) -> Result<()> {
        writer.write_metrics_text(&self.text)?;
        pictures::write_curves(writer, &curve_panels(&self.text))
    }
}

/// The three panels of a stacked run's curves.png, from its metrics.csv text.
fn curve_panels(text: &str) -> Vec<Panel> {
    let mut pretrain: Vec<(Series, Series)> = Vec::new();
    let (mut loss, mut error) = (Series::new("train_objective"), Series::new("test_error"));
    for row in text.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        let (Some(epoch), Some(objective)) = (num(2), num(3)) else { continue };
        if f[0] == "pretrain" {
            let Ok(layer) = f[1].parse::<usize>() else { continue };
            while pretrain.len() <= layer {
                let l = pretrain.len();
                pretrain.push((
                    Series::new(&format!("layer {l} train_objective")),
                    Series::new(&format!("layer {l} test_recon_loss")),
                ));
            }
            pretrain[layer].0.points.push((epoch, objective));
            pretrain[layer].1.points.extend(num(4).map(|v| (epoch, v)));
        } else {
            loss.name = format!("{} train_objective (cross-entropy)", f[0]);
            loss.points.push((epoch, objective));
            error.points.extend(num(5).map(|v| (epoch, v)));
        }
    }
    let panel = |title: &str, y: &str, series: Vec<Series>| Panel {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y.into(),
        series,
    };
    vec![
        panel("greedy pretraining, per layer", "loss", pretrain.into_iter().flat_map(|(a, b)| [a, b]).collect()),
        panel("classifier loss", "cross-entropy", vec![loss]),
        panel("classifier test error", "fraction misclassified", vec![error]),
    ]
}
