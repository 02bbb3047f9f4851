//! `autoenc reproduce`: experiments from the literature, each a small recipe (data, model,
//! schedule, metric, the published or reference figure and its source) that trains through
//! the engine and writes a markdown table beside its figures: ours, the reference, the
//! difference, wall time and machine.

mod denoising;
mod hinton2006;
mod keras_blog;
mod pca_linear;
mod report;
mod rifai2011;
mod train_runs;
mod vincent2010;

use super::backend::{BackendArgs, OnBackend};
use autoenc::backend::Backend;
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::noise::Noise;
use autoenc::optim::OptimizerKind;
use autoenc::train::TrainConfig;
use autoenc::{Error, Result};
use clap::Args;
use report::Report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug, Clone)]
pub struct ReproduceArgs {
    /// The experiment to run (`--list` names them).
    pub name: Option<String>,
    /// List the experiments and exit.
    #[arg(long)]
    pub list: bool,
    /// The recipe on the bundled subset, in well under two minutes on 2 cores (what the
    /// tests run); its figures are not the paper's setting.
    #[arg(long)]
    pub quick: bool,
    /// Where `mnist` and `fashion-mnist` live (tools/fetch-datasets.sh fills it).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Output directory (default: a new runs/reproduce-NAME[-quick]-N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these runs of a recipe made of train runs, by folder name, comma separated
    /// (e.g. `keras-blog --only simple-32-units,deep-128-64-32`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// One experiment of `--list`.
struct Recipe {
    name: &'static str,
    what: &'static str,
    source: &'static str,
}

const RECIPES: &[Recipe] = &[
    Recipe {
        name: "pca-linear",
        what: "PCA-k against the linear autoencoder, k in {2, 10, 32, 64}, MNIST: test squared error per image \
           (ratio <= 1.005) and the principal angles between the two subspaces",
        source: "Goodfellow, Bengio & Courville, Deep Learning (2016), section 14.1: a linear autoencoder \
             trained with mean squared error learns the principal subspace",
    },
    Recipe {
        name: "hinton2006",
        what: "the deep autoencoder 784-1000-500-250-30 (linear code) on MNIST: test squared error per image \
           against the published 3.00 (and PCA-30's 13.87)",
        source: "Hinton & Salakhutdinov, Reducing the dimensionality of data with neural networks, Science 313 \
                 (2006) 504-507, Fig. 2B caption: \"The average squared errors for the last three rows are 3.00, \
                 8.01, and 13.87\" (autoencoder, logistic PCA, PCA; 30-D codes, MNIST test images)",
    },
    Recipe {
        name: "keras-blog",
        what: "the simple (32-unit), sparse (L1 on the code), deep (128-64-32), conv and denoising conv models \
               of the Keras blog on MNIST, the post's epochs: test BCE beside the post's losses",
        source: "F. Chollet, Building Autoencoders in Keras, blog.keras.io, 14 May 2016, the revision with Adam \
                 (simple ~0.09, sparse test 0.10, deep ~0.08, conv 0.094; no figure for the denoising model)",
    },
    Recipe {
        name: "vincent2010",
        what: "stacked denoising (SdA-3) and plain (SAE-3) autoencoders 784-1000-1000-1000, greedy pretraining \
               then fine-tuning, MNIST test error against the published 1.28% and 1.40%",
        source: "Vincent, Larochelle, Lajoie, Bengio & Manzagol, Stacked Denoising Autoencoders, JMLR 11 \
                 (2010), Table 3 (MNIST: SdA-3 1.28% at 25% masking, SAE-3 1.40%, DBN-3 1.24%)",
    },
    Recipe {
        name: "rifai2011",
        what: "one contractive layer 784-1000 pretrained, then fine-tuned: MNIST test error against the \
               published 1.14%",
        source: "Rifai, Vincent, Muller, Glorot & Bengio, Contractive Auto-Encoders, ICML 2011, Table 1 \
                 (MNIST test error: CAE 1.14%, DAE-g 1.18%, RBM 1.30%, AE 1.78%)",
    },
    Recipe {
        name: "denoising",
        what: "denoising AEs with masking (0.25) and Gaussian (0.5) noise on MNIST: the reconstruction of \
               corrupted test images scored against the clean ones",
        source: "Vincent et al. (2010), section 4 (the noise types); the figure is the engine's own reference",
    },
];

/// The recipes made of `autoenc train` runs.
fn train_recipe(name: &str) -> Option<&'static train_runs::TrainRecipe> {
    match name {
        "keras-blog" => Some(&keras_blog::RECIPE),
        "vincent2010" => Some(&vincent2010::RECIPE),
        "rifai2011" => Some(&rifai2011::RECIPE),
        "denoising" => Some(&denoising::RECIPE),
        _ => None,
    }
}

/// What a recipe is given.
pub struct Context<'a> {
    pub quick: bool,
    pub data_dir: &'a Path,
    pub seed: u64,
}

impl Context<'_> {
    /// Full MNIST, or the bundled subset for `--quick`; both splits must be non-empty.
    pub fn mnist(&self) -> Result<Dataset> {
        let data = datasets::load(if self.quick { "bundled" } else { "mnist" }, self.data_dir)?;
        if data.n_train() == 0 || data.n_test() == 0 {
            return Err(Error::Config(format!("dataset '{}' needs training and test images", data.name)));
        }
        Ok(data)
    }

    /// An Adam schedule on clean inputs, without the progress bar (a recipe prints its own lines).
    pub fn adam(&self, epochs: usize, batch_size: usize, lr: f32, lr_decay: f32, weight_decay: f32) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size,
            lr,
            lr_decay,
            optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
            weight_decay,
            seed: self.seed,
            noise: Noise::None,
            check_every: 20,
            progress: false,
        }
    }
}

struct Job<'a> {
    name: &'a str,
    ctx: Context<'a>,
}

impl OnBackend for Job<'_> {
    type Output = Report;
    fn run<B: Backend>(self, backend: &B) -> Result<Report> {
        match self.name {
            "pca-linear" => pca_linear::run(backend, &self.ctx),
            "hinton2006" => hinton2006::run(backend, &self.ctx),
            other => Err(unknown(other)),
        }
    }
}

fn unknown(name: &str) -> Error {
    let names: Vec<&str> = RECIPES.iter().map(|r| r.name).collect();
    Error::Config(format!("unknown experiment '{name}' (known: {})", names.join(", ")))
}

pub fn reproduce(a: ReproduceArgs) -> Result<ExitCode> {
    if a.list || a.name.is_none() {
        for r in RECIPES {
            println!("{:<12} {}\n{:<12} source: {}", r.name, r.what, "", r.source);
        }
        if a.name.is_none() && !a.list {
            return Err(Error::Config("name an experiment: autoenc reproduce NAME [--quick]".into()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = a.name.as_deref().expect("checked above");
    let recipe = RECIPES.iter().find(|r| r.name == name).ok_or_else(|| unknown(name))?;
    // --only is checked before anything is written.
    let train_runs = match train_recipe(recipe.name) {
        Some(r) => Some((r, train_runs::selected(r, &a.only)?)),
        None if !a.only.is_empty() => {
            return Err(Error::Config(format!("--only selects runs of a recipe made of train runs; {name} has none")))
        }
        None => None,
    };
    let out = out_dir(&a, recipe.name)?;
    let ctx = Context { quick: a.quick, data_dir: &a.data_dir, seed: a.seed };
    let started = std::time::Instant::now();
    let mut report = match train_runs {
        Some((r, runs)) => train_runs::run(r, &runs, &ctx, &a.backend, &out)?,
        None => a.backend.run(Job { name: recipe.name, ctx })?,
    };
    report.seconds = started.elapsed().as_secs_f64();
    report.source = recipe.source.to_string();
    report.command = std::env::args().collect::<Vec<_>>().join(" ");
    report.write(&out)?;
    println!("{}", report.markdown());
    println!("wrote {}", out.join(report::RESULTS_FILE).display());
    Ok(ExitCode::SUCCESS)
}

/// `--out`, which must not hold results already, else the first free runs/reproduce-NAME-N.
fn out_dir(a: &ReproduceArgs, name: &str) -> Result<PathBuf> {
    if let Some(dir) = &a.out {
        if dir.join(report::RESULTS_FILE).exists() {
            return Err(Error::Config(format!(
                "{} already holds {}; choose another --out",
                dir.display(),
                report::RESULTS_FILE
            )));
        }
        return Ok(dir.clone());
    }
    let stem = if a.quick { format!("reproduce-{name}-quick") } else { format!("reproduce-{name}") };
    Ok((1..).map(|i| PathBuf::from("runs").join(format!("{stem}-{i}"))).find(|d| !d.exists()).expect("free index"))
}
