//! What the loop shows while it runs: the progress bar (on a terminal) and the line
//! printed after each epoch.

use super::config::TrainConfig;
use super::reconstruction::EpochMetrics;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::io::IsTerminal;

/// A bar over one epoch's steps, or None when `cfg.progress` is off or stderr is no terminal.
pub fn progress_bar(cfg: &TrainConfig, steps: usize) -> Option<ProgressBar> {
    if !cfg.progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(steps as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps ({per_sec_rounded}, eta {eta})")
        // indicatif's own {per_sec} prints four decimals ("128.2127/s").
        .map(|s| {
            s.progress_chars("=> ").with_key("per_sec_rounded", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} steps/s", state.per_sec());
            })
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// Prints `line` above the bar, or on stderr when there is none.
pub fn print_line(bar: Option<&ProgressBar>, line: &str) {
    match bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    }
}

/// A rate with one decimal, or three significant digits below 1 (a batch-1024 conv step
/// on lavapipe takes seconds; "0.0 steps/s" said nothing).
fn rate(per_sec: f64) -> String {
    if per_sec >= 1.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.3}")
    }
}

/// The line printed after each reconstruction epoch. `train_objective` is what the
/// optimizer minimised (the reconstruction loss on the possibly corrupted inputs plus any
/// sparsity or contractive penalty); `test_recon_loss` is the reconstruction loss alone
/// on the clean test images; a run with noise adds the same figures from corrupted test
/// inputs (against the clean images).
pub fn epoch_line(m: &EpochMetrics) -> String {
    let mut s = format!(
        "epoch {:>3}  train_objective {:.6}  test_recon_loss {:.6}  test_sse/img {:.3}  {:.1}s  {} steps/s",
        m.epoch,
        m.train_loss,
        m.test_loss,
        m.test_sse_per_image,
        m.seconds,
        rate(m.steps_per_sec)
    );
    if let Some(e) = m.elbo {
        s.push_str(&format!("  test_neg_elbo {:.3} (recon {:.3} + KL {:.3})", e.neg_elbo, e.reconstruction, e.kl));
    }
    if let Some(d) = m.noisy_input {
        s.push_str(&format!("  noisy-input test_recon_loss {:.6}  test_sse/img {:.3}", d.loss, d.sse_per_image));
    }
    if let Some(d) = m.dispatches_per_step {
        s.push_str(&format!("  {d:.0} dispatches/step"));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn slow_rates_keep_their_digits() {
        assert_eq!(super::rate(31.66), "31.7");
        assert_eq!(super::rate(1.0), "1.0");
        assert_eq!(super::rate(0.112), "0.112");
        assert_eq!(super::rate(0.0), "0.000");
    }
}
