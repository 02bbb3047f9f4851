//! `autoenc serve`: a local web page to train a model and watch it learn. The page
//! (`serve_page.html`, embedded: no network needed) picks a model and dataset and starts
//! a run; the run is an ordinary `autoenc train` into `--runs-dir`, and the page shows
//! that directory's metrics.csv, curves.png, reconstructions.png and latent.png as they
//! are rewritten after each epoch, plus a slider that decodes blends of two test codes.

use super::args::TrainArgs;
use super::runs::load_model;
use super::Cli;
use autoenc::data::datasets;
use autoenc::io::images::{encode_png, grid_image};
use autoenc::run::SavedRun;
use autoenc::{train, CpuBackend, Error, Result};
use clap::{Args, Parser};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use tiny_http::{Header, Method, Request, Response, Server};

const PAGE: &str = include_str!("serve_page.html");
/// The models the page offers: every autoencoder (a stacked run has no decoder to show).
const MODELS: [&str; 6] = ["ae", "linear", "sparse", "denoising", "contractive", "conv"];
const DATASETS: [&str; 5] = ["bundled", "bundled-fashion", "synthetic", "mnist", "fashion-mnist"];
const MAX_EPOCHS: usize = 100;
/// The files of a run the page may fetch.
const RUN_FILES: [&str; 5] = ["curves.png", "latent.png", "reconstructions.png", "metrics.csv", "config.json"];

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; the default keeps the page on this machine.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where the runs started from the page are written, one folder each.
    #[arg(long, default_value = "runs/serve")]
    runs_dir: PathBuf,
    /// Where `mnist` and `fashion-mnist` live.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

/// The run the page started last: its folder name and how it is going.
#[derive(Clone, Debug, Default)]
struct Job {
    run: String,
    epochs: usize,
    state: &'static str,
    error: String,
}

pub fn serve(a: ServeArgs) -> Result<ExitCode> {
    let addr = format!("{}:{}", a.host, a.port);
    let server = Server::http(&addr).map_err(|e| {
        Error::Config(format!("cannot listen on {addr}: {e} (is the port taken? choose another with --port)"))
    })?;
    let bound = server.server_addr().to_ip().map(|s| s.to_string()).unwrap_or(addr);
    println!("serving on http://{bound}/ (runs go to {}); Ctrl-C stops", a.runs_dir.display());
    let job = Arc::new(Mutex::new(Job::default()));
    for request in server.incoming_requests() {
        let response = route(&a, &job, &request);
        let _ = match response {
            Ok(r) => request.respond(r),
            Err(e) => request.respond(text(400, &format!("{e}"))),
        };
    }
    Ok(ExitCode::SUCCESS)
}

type Reply = Response<Cursor<Vec<u8>>>;

fn with_type(r: Reply, mime: &str) -> Reply {
    let header = Header::from_bytes("Content-Type", mime).expect("static header");
    r.with_header(header).with_header(Header::from_bytes("Cache-Control", "no-store").expect("static header"))
}

fn text(code: u16, body: &str) -> Reply {
    with_type(Response::from_string(body).with_status_code(code), "text/plain; charset=utf-8")
}

fn json(value: serde_json::Value) -> Reply {
    with_type(Response::from_string(value.to_string()), "application/json")
}

/// The query string's value for `key`.
fn query<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let q = url.split_once('?')?.1;
    q.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn number<T: std::str::FromStr>(url: &str, key: &str) -> Result<T> {
    let v = query(url, key).ok_or_else(|| Error::Config(format!("missing '{key}'")))?;
    v.parse().map_err(|_| Error::Config(format!("'{key}' must be a number, got '{v}'")))
}

/// A run folder name from the page: only names this server made ("model-N").
fn run_dir(a: &ServeArgs, name: &str) -> Result<PathBuf> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(Error::Config(format!("'{name}' is not a run of this server")));
    }
    Ok(a.runs_dir.join(name))
}

fn route(a: &ServeArgs, job: &Arc<Mutex<Job>>, r: &Request) -> Result<Reply> {
    let url = r.url().to_string();
    let path = url.split('?').next().unwrap_or("");
    match (r.method(), path) {
        (Method::Get, "/") => Ok(with_type(Response::from_string(PAGE), "text/html; charset=utf-8")),
        (Method::Get, "/api/options") => Ok(json(serde_json::json!({ "models": MODELS, "datasets": DATASETS }))),
        (Method::Post, "/api/train") => start(a, job, &url),
        (Method::Get, "/api/status") => status(a, job),
        (Method::Get, "/api/interpolate") => interpolate(a, &url),
        (Method::Get, p) if p.starts_with("/runs/") => {
            let (name, file) = p["/runs/".len()..].split_once('/').unwrap_or(("", ""));
            if !RUN_FILES.contains(&file) {
                return Ok(text(404, "no such file"));
            }
            match std::fs::read(run_dir(a, name)?.join(file)) {
                Ok(bytes) => {
                    let mime = if file.ends_with(".png") { "image/png" } else { "text/plain; charset=utf-8" };
                    Ok(with_type(Response::from_data(bytes), mime))
                }
                Err(_) => Ok(text(404, "not written yet")),
            }
        }
        _ => Ok(text(404, "not found")),
    }
}

/// Starts `autoenc train` for the page's choice in a thread, unless one is running.
fn start(a: &ServeArgs, job: &Arc<Mutex<Job>>, url: &str) -> Result<Reply> {
    let model = query(url, "model").unwrap_or("ae");
    let dataset = query(url, "dataset").unwrap_or("bundled");
    let epochs: usize = number(url, "epochs")?;
    if !MODELS.contains(&model) || !DATASETS.contains(&dataset) {
        return Err(Error::Config(format!("unknown model '{model}' or dataset '{dataset}'")));
    }
    if !(1..=MAX_EPOCHS).contains(&epochs) {
        return Err(Error::Config(format!("epochs must be in 1..={MAX_EPOCHS}, got {epochs}")));
    }
    let mut j = job.lock().expect("job lock");
    if j.state == "running" {
        return Err(Error::Config(format!("{} is still training", j.run)));
    }
    let name = (1..).map(|n| format!("{model}-{n}")).find(|n| !a.runs_dir.join(n).exists()).expect("a free name");
    let out = a.runs_dir.join(&name);
    let argv = ["autoenc", "train", "--model", model, "--dataset", dataset, "--epochs", &epochs.to_string()];
    let rest = ["--data-dir", &a.data_dir.display().to_string(), "--out", &out.display().to_string(), "--no-progress"];
    let args = train_args(&[&argv[..], &rest[..]].concat())?;
    *j = Job { run: name.clone(), epochs, state: "running", error: String::new() };
    let job = Arc::clone(job);
    std::thread::spawn(move || {
        let result = super::train::run(args);
        let mut j = job.lock().expect("job lock");
        match result {
            Ok(_) => j.state = "done",
            Err(e) => (j.state, j.error) = ("failed", e.to_string()),
        }
    });
    Ok(json(serde_json::json!({ "run": name })))
}

/// `autoenc train`'s arguments from an argument list, as the command line would parse them.
fn train_args(argv: &[&str]) -> Result<TrainArgs> {
    let cli = Cli::try_parse_from(argv).map_err(|e| Error::Config(e.to_string()))?;
    cli.train_args().ok_or_else(|| Error::Config("not a train command".into()))
}

/// The current run: state, and the rows of its metrics.csv so far.
fn status(a: &ServeArgs, job: &Arc<Mutex<Job>>) -> Result<Reply> {
    let j = job.lock().expect("job lock").clone();
    let rows: Vec<Vec<String>> = if j.run.is_empty() {
        Vec::new()
    } else {
        let text = std::fs::read_to_string(run_dir(a, &j.run)?.join("metrics.csv")).unwrap_or_default();
        text.lines().map(|l| l.split(',').map(String::from).collect()).collect()
    };
    Ok(json(serde_json::json!({
        "run": j.run, "state": if j.state.is_empty() { "idle" } else { j.state }, "error": j.error,
        "epochs": j.epochs, "done_epochs": rows.len().saturating_sub(1), "metrics": rows,
    })))
}

/// Decodes `alpha * z(from) + (1 - alpha) * z(to)` with a finished run, on the CPU:
/// a PNG of the first image, the decoded blend and the second image.
fn interpolate(a: &ServeArgs, url: &str) -> Result<Reply> {
    let dir = run_dir(a, query(url, "run").unwrap_or(""))?;
    let (from, to, alpha): (usize, usize, f32) = (number(url, "from")?, number(url, "to")?, number(url, "alpha")?);
    let png = blend(&dir, &a.data_dir, from, to, alpha.clamp(0.0, 1.0))?;
    Ok(with_type(Response::from_data(png), "image/png"))
}

fn blend(dir: &Path, data_dir: &Path, from: usize, to: usize, alpha: f32) -> Result<Vec<u8>> {
    let run = SavedRun::open(dir)?;
    let data = datasets::load(run.spec.dataset_spec.as_deref().unwrap_or("bundled"), data_dir)?;
    if from.max(to) >= data.n_test() {
        return Err(Error::Config(format!("test images go up to {}", data.n_test().saturating_sub(1))));
    }
    let backend = CpuBackend::new();
    let model = load_model(&backend, &run, &data)?;
    let pair = [data.test_image(from), data.test_image(to)].concat();
    let codes = train::encode(&backend, model.as_ref(), &pair, data.dim())?;
    let (z1, z2) = codes.split_at(codes.len() / 2);
    let z: Vec<f32> = z1.iter().zip(z2).map(|(&p, &q)| alpha * p + (1.0 - alpha) * q).collect();
    let decoded = train::decode(&backend, model.as_ref(), &z, 1)?;
    let row = [data.test_image(from), &decoded[..], data.test_image(to)].concat();
    encode_png(&grid_image(&[row], 3, data.height, data.width, 4)?)
}
