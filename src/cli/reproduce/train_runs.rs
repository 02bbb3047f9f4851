//! Recipes made of `autoenc train` runs. Each run is the command line a user would type
//! (its full form and its `--quick` form on the bundled subset), trained into its own
//! folder of the reproduction's directory; the figure is read back from that run's
//! metrics.csv, so the table says exactly what the run directory holds.

use super::report::Report;
use super::Context;
use crate::cli::backend::{BackendArgs, BackendChoice};
use autoenc::run::{SavedRun, METRICS_FILE};
use autoenc::{Error, Result};
use std::path::Path;

/// One run of a recipe.
pub struct TrainRun {
    pub label: &'static str,
    /// `autoenc train` flags of the paper's setting, as typed (no --out, --seed, --backend:
    /// the reproduction adds them).
    pub flags: &'static str,
    /// A smaller version on the bundled subset, in seconds.
    pub quick: &'static str,
    pub metric: Metric,
    /// The published figure this run is compared with (lower is better), if there is one,
    /// written as the source prints it ("1.40", "0.094"): the table shows it so.
    pub published: Option<&'static str>,
}

impl TrainRun {
    fn published_value(&self) -> Option<f64> {
        self.published.map(|p| p.parse().unwrap_or_else(|_| panic!("{}: published figure '{p}'", self.label)))
    }
}

/// The figure a run reports.
#[derive(Clone, Copy, Debug)]
pub enum Metric {
    /// A column of metrics.csv's last row (a reconstruction model's).
    Last(&'static str),
    /// A stacked run's test error after its last classifier epoch, in percent.
    StackedTestErrorPercent,
}

/// A recipe: its table's words and its runs.
pub struct TrainRecipe {
    pub title: &'static str,
    pub setting: &'static str,
    /// What the figure is, for the table's header ("test error (%)").
    pub figure: &'static str,
    pub runs: &'static [TrainRun],
    pub notes: &'static [&'static str],
}

/// The runs `only` names by folder name (every run when it is empty); an unknown name is an
/// error that lists the known ones.
pub fn selected<'r>(recipe: &'r TrainRecipe, only: &[String]) -> Result<Vec<&'r TrainRun>> {
    let known: Vec<String> = recipe.runs.iter().map(|r| slug(r.label)).collect();
    if let Some(bad) = only.iter().find(|o| !known.contains(o)) {
        return Err(Error::Config(format!("--only: this recipe has no run '{bad}' (its runs: {})", known.join(", "))));
    }
    Ok(recipe.runs.iter().filter(|r| only.is_empty() || only.contains(&slug(r.label))).collect())
}

/// Trains `runs` (of `recipe`, from [`selected`]) into `out` and makes their table.
pub fn run(
    recipe: &TrainRecipe,
    runs: &[&TrainRun],
    ctx: &Context,
    backend: &BackendArgs,
    out: &Path,
) -> Result<Report> {
    let mut setting = if ctx.quick {
        format!(
            "Quick: the bundled subset and short schedules (the commands below). The full setting: {}",
            recipe.setting
        )
    } else {
        recipe.setting.into()
    };
    if runs.len() < recipe.runs.len() {
        setting.push_str(&format!(" Only {} of the recipe's {} runs (`--only`).", runs.len(), recipe.runs.len()));
    }
    let published = runs.iter().any(|r| r.published.is_some());
    let mut report = Report {
        title: recipe.title.into(),
        setting,
        columns: ["run", &format!("published {}", recipe.figure), "ours", "difference", "seconds", "command"]
            .map(String::from)
            .to_vec(),
        // Without a published figure the table is a reference, not a goal.
        goal: if published { "ours at or below every published figure".into() } else { String::new() },
        goal_met: true,
        notes: recipe.notes.iter().map(|n| n.to_string()).collect(),
        ..Report::default()
    };
    for &r in runs {
        let dir = out.join(slug(r.label));
        let argv = command(r, ctx, backend, &dir);
        eprintln!("{}: autoenc {}", r.label, argv[1..].join(" "));
        let started = std::time::Instant::now();
        crate::cli::run_train_command(&argv)?;
        let seconds = started.elapsed().as_secs_f64();
        let ours = read_figure(&dir, r.metric)?;
        let published = r.published_value();
        let met = published.is_none_or(|p| ours <= p);
        report.goal_met &= met;
        // Losses under 1 (BCE per pixel, 0.0916) need a fourth decimal to be read against 0.09.
        let decimals = if ours.abs() < 1.0 { 4 } else { 3 };
        let ours_text = if met { format!("{ours:.decimals$}") } else { format!("**{ours:.decimals$}**") };
        report.rows.push(vec![
            r.label.into(),
            r.published.unwrap_or("-").into(),
            ours_text,
            published.map(|p| format!("{:+.decimals$}", ours - p)).unwrap_or("-".into()),
            format!("{seconds:.0}"),
            format!("`autoenc {}`", argv[1..].join(" ")),
        ]);
        if report.machine.is_empty() {
            report.machine = SavedRun::open(&dir)?.spec.device;
        }
    }
    Ok(report)
}

/// The run's `autoenc train` command line.
fn command(r: &TrainRun, ctx: &Context, backend: &BackendArgs, dir: &Path) -> Vec<String> {
    let mut argv: Vec<String> = ["autoenc", "train"].map(String::from).to_vec();
    argv.extend((if ctx.quick { r.quick } else { r.flags }).split_whitespace().map(String::from));
    let device = match backend.backend {
        BackendChoice::Cpu => "cpu",
        BackendChoice::Gpu => "gpu",
    };
    for (flag, value) in [
        ("--seed", ctx.seed.to_string()),
        ("--backend", device.to_string()),
        ("--data-dir", ctx.data_dir.display().to_string()),
        ("--out", dir.display().to_string()),
    ] {
        argv.extend([flag.to_string(), value]);
    }
    if let Some(a) = &backend.adapter {
        argv.extend(["--adapter".to_string(), a.clone()]);
    }
    argv.push("--no-progress".into());
    argv
}

/// A run's folder name: its label in lower case, runs of other characters as one '-'.
fn slug(label: &str) -> String {
    let mut s = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

/// The figure `metric` from the run in `dir`.
fn read_figure(dir: &Path, metric: Metric) -> Result<f64> {
    let path = dir.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    // A stacked run's figure is in its classifier rows, after the pretraining rows.
    let (column, classifier_only) = match metric {
        Metric::Last(c) => (c, false),
        Metric::StackedTestErrorPercent => ("test_error", true),
    };
    let at = header
        .iter()
        .position(|h| *h == column)
        .ok_or_else(|| Error::data(&path, format!("has no column '{column}' (columns: {})", header.join(","))))?;
    let last = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| !classifier_only || f[0] != "pretrain")
        .last();
    let value = last.and_then(|f| f.get(at).and_then(|v| v.parse::<f64>().ok()));
    let value = value.ok_or_else(|| Error::data(&path, format!("has no row with a '{column}' figure")))?;
    Ok(match metric {
        Metric::Last(_) => value,
        Metric::StackedTestErrorPercent => 100.0 * value,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_become_folder_names() {
        assert_eq!(super::slug("SdA-3 (masking 25%)"), "sda-3-masking-25");
        assert_eq!(super::slug("simple, 32 units"), "simple-32-units");
    }

    #[test]
    fn every_published_figure_is_a_number() {
        for name in ["keras-blog", "vincent2010", "rifai2011", "denoising"] {
            let recipe = super::super::train_recipe(name).expect("a train recipe");
            for run in recipe.runs {
                let value = run.published_value();
                assert_eq!(value.is_some(), run.published.is_some(), "{name}: {}", run.label);
                assert!(value.is_none_or(|v| v.is_finite() && v > 0.0), "{name}: {}", run.label);
            }
        }
    }
}
