//! metrics.csv and curves.png of a stacked run: one row per pretraining epoch of each
//! layer, then one per classifier epoch. curves.png is drawn from the metrics text, so a
//! resumed run's curves show every epoch, exactly as an uninterrupted run's do.

use super::pictures;
use autoenc::plots::{Panel, Series};
use autoenc::run::{RunWriter, STACKED_METRICS_HEADER};
use autoenc::train::{ClassifierEpoch, EpochMetrics};
use autoenc::Result;

/// The metrics.csv text of a stacked run.
pub struct StackedMetrics {
    text: String,
}

impl StackedMetrics {
    /// A new run's (the header), or a resumed run's rows so far (whose columns
    /// `RunWriter::resume` checked).
    pub fn new(so_far: Option<String>) -> Self {
        StackedMetrics { text: so_far.unwrap_or_else(|| format!("{STACKED_METRICS_HEADER}\n")) }
    }

    pub fn pretrain(&mut self, writer: &mut RunWriter, layer: usize, m: &EpochMetrics) -> Result<()> {
        let noisy = m.noisy_input.map(|n| format!("{:.6},{:.4}", n.loss, n.sse_per_image)).unwrap_or(",".into());
        self.text.push_str(&format!(
            "pretrain,{layer},{},{:.6},{:.6},,{:.3},{noisy}\n",
            m.epoch, m.train_loss, m.test_loss, m.seconds
        ));
        self.write(writer)
    }

    pub fn classifier(&mut self, writer: &mut RunWriter, phase: &str, m: &ClassifierEpoch) -> Result<()> {
        self.text
            .push_str(&format!("{phase},,{},{:.6},,{:.5},{:.3},,\n", m.epoch, m.train_loss, m.test_error, m.seconds));
        self.write(writer)
    }

    fn write(&self, writer: &mut RunWriter) -> Result<()> {
        writer.write_metrics_text(&self.text)?;
        pictures::write_curves(writer, &curve_panels(&self.text))
    }
}

/// The three panels of a stacked run's curves.png, from its metrics.csv text.
fn curve_panels(text: &str) -> Vec<Panel> {
    let mut pretrain: Vec<(Series, Series, Series)> = Vec::new();
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
                    Series::new(&format!("layer {l} test_noisy_recon_loss")),
                ));
            }
            pretrain[layer].0.points.push((epoch, objective));
            pretrain[layer].1.points.extend(num(4).map(|v| (epoch, v)));
            pretrain[layer].2.points.extend(num(7).map(|v| (epoch, v)));
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
        panel(
            "greedy pretraining, per layer",
            "loss",
            pretrain.into_iter().flat_map(|(a, b, c)| [a, b, c]).filter(|s| !s.points.is_empty()).collect(),
        ),
        panel("classifier loss", "cross-entropy", vec![loss]),
        panel("classifier test error", "fraction misclassified", vec![error]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use autoenc::run::check_columns;
    use std::path::Path;

    #[test]
    fn a_resumed_run_must_have_these_columns() {
        let path = Path::new("run/metrics.csv");
        let current = format!("{STACKED_METRICS_HEADER}\npretrain,0,1,0.1,0.1,,1.0,0.2,3.0\n");
        assert!(check_columns(&current, STACKED_METRICS_HEADER, path).is_ok());
        // What a stacked run wrote before the noisy-input columns.
        let old = "phase,layer,epoch,train_objective,test_recon_loss,test_error,seconds\npretrain,0,1,0.1,0.1,,1.0\n";
        let msg = check_columns(old, STACKED_METRICS_HEADER, path).unwrap_err().to_string();
        assert!(msg.contains("run/metrics.csv") && msg.contains("cannot be resumed"), "{msg}");
    }
}
