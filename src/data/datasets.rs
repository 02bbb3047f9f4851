//! Datasets: the bundled subsets, the full MNIST / Fashion-MNIST, a synthetic set, or any
//! folder holding the four standard IDX files.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::idx::{self, Images};
use crate::error::{Error, Result};

/// The four standard file stems; each may be stored raw or with `.gz`.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Where the Debian package `dataset-fashion-mnist` puts its files.
pub const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The dataset names [`load`] knows (besides a folder path).
pub const SPECS: &[&str] = &["bundled", "bundled-fashion", "mnist", "fashion-mnist", "synthetic"];

/// A labelled image dataset held in memory. Images are rows of `height * width` f32 in
/// [0, 1], concatenated; labels are class indices in `0..classes`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub train_x: Vec<f32>,
    pub train_y: Vec<u8>,
    pub test_x: Vec<f32>,
    pub test_y: Vec<u8>,
    pub height: usize,
    pub width: usize,
    pub classes: usize,
}

impl Dataset {
    pub fn n_train(&self) -> usize {
        self.train_y.len()
    }
    pub fn n_test(&self) -> usize {
        self.test_y.len()
    }
    /// Values per image (`height * width`).
    pub fn dim(&self) -> usize {
        self.height * self.width
    }
    /// Training image `i` (panics if out of range, like slice indexing).
    pub fn train_image(&self, i: usize) -> &[f32] {
        &self.train_x[i * self.dim()..(i + 1) * self.dim()]
    }
    /// Test image `i` (panics if out of range, like slice indexing).
    pub fn test_image(&self, i: usize) -> &[f32] {
        &self.test_x[i * self.dim()..(i + 1) * self.dim()]
    }
    /// Moves the last `n` training examples into the test slots (the test set is dropped):
    /// training on the rest and scoring on these is how a choice is made without ever
    /// looking at the test set (MNIST's usual 50,000 / 10,000 split is `hold_out(10_000)`).
    pub fn hold_out(mut self, n: usize) -> Result<Self> {
        let total = self.n_train();
        if n == 0 || n >= total {
            return Err(Error::Config(format!(
                "a validation set of {n} images needs 1..{} ({} has {total} training images)",
                total.saturating_sub(1),
                self.name
            )));
        }
        let keep = total - n;
        let dim = self.dim();
        self.test_x = self.train_x.split_off(keep * dim);
        self.test_y = self.train_y.split_off(keep);
        self.name = format!("{} (validation: last {n} training images)", self.name);
        Ok(self)
    }

    /// Keeps only the first `n_train` training and `n_test` test examples (`None` keeps all;
    /// a limit above the size keeps all).
    pub fn limit(mut self, n_train: Option<usize>, n_test: Option<usize>) -> Self {
        let dim = self.dim();
        if let Some(n) = n_train.filter(|&n| n < self.n_train()) {
            self.train_x.truncate(n * dim);
            self.train_y.truncate(n);
        }
        if let Some(n) = n_test.filter(|&n| n < self.n_test()) {
            self.test_x.truncate(n * dim);
            self.test_y.truncate(n);
        }
        self
    }
}

/// Loads a dataset by name or folder:
/// - `bundled` (or `bundled-mnist`): the MNIST subset shipped in the binary, 2,000 train + 500 test;
/// - `bundled-fashion` (or `bundled-fashion-mnist`): the same for Fashion-MNIST;
/// - `mnist`: `data_dir/mnist/`; `fashion-mnist`: `data_dir/fashion-mnist/`, else
///   `/usr/share/datasets/fashion-mnist` (both from `tools/fetch-datasets.sh`);
/// - `synthetic`: generated 28x28 strokes in 10 classes, 2,000 train + 500 test, seed 0;
/// - anything else is taken as a folder holding the four standard IDX files.
pub fn load(spec: &str, data_dir: &Path) -> Result<Dataset> {
    match spec {
        "bundled" | "bundled-mnist" => bundled_mnist(),
        "bundled-fashion" | "bundled-fashion-mnist" => bundled_fashion(),
        "synthetic" => Ok(synthetic(2000, 500, 0)),
        "mnist" => load_named("mnist", &[data_dir.join("mnist")]),
        "fashion-mnist" => load_named("fashion-mnist", &[data_dir.join("fashion-mnist"), DEBIAN_FASHION_DIR.into()]),
        _ => {
            let dir = Path::new(spec);
            if dir.is_dir() {
                load_dir(dir, spec)
            } else if dir.exists() {
                Err(Error::data(dir, "is a file; a dataset path must be a folder holding the four IDX files"))
            } else {
                Err(Error::Config(format!(
                    "unknown dataset '{spec}': expected one of {} or a folder holding \
                     {TRAIN_IMAGES}[.gz], {TRAIN_LABELS}[.gz], {TEST_IMAGES}[.gz], {TEST_LABELS}[.gz]",
                    SPECS.join(", ")
                )))
            }
        }
    }
}

/// Loads the first candidate folder that exists; otherwise says how to get the data.
fn load_named(name: &str, candidates: &[PathBuf]) -> Result<Dataset> {
    match candidates.iter().find(|d| d.is_dir()) {
        Some(dir) => load_dir(dir, name),
        None => {
            let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
            Err(Error::data(
                &candidates[0],
                format!(
                    "folder not found (looked in {}); run tools/fetch-datasets.sh [DATA_DIR] to install the \
                     full {name}, or use --dataset bundled{}",
                    looked.join(", "),
                    if name == "fashion-mnist" { "-fashion" } else { "" }
                ),
            ))
        }
    }
}

/// Loads the four standard IDX files (raw or `.gz`) from `dir`.
pub fn load_dir(dir: &Path, name: &str) -> Result<Dataset> {
    let (train, train_y) = idx::read_pair(&find_file(dir, TRAIN_IMAGES)?, &find_file(dir, TRAIN_LABELS)?)?;
    let (test, test_y) = idx::read_pair(&find_file(dir, TEST_IMAGES)?, &find_file(dir, TEST_LABELS)?)?;
    assemble(name, train, train_y, test, test_y, dir)
}

/// Finds `stem.gz` or `stem` (or the `train-images.idx3-ubyte` spelling some mirrors use).
fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    for name in [format!("{stem}.gz"), stem.to_string(), format!("{dotted}.gz"), dotted] {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(Error::data(
        dir.join(stem),
        "missing (looked for it raw and .gz); run tools/fetch-datasets.sh [DATA_DIR] to install \
         the full MNIST / Fashion-MNIST, or copy the four standard IDX files into this folder",
    ))
}

/// Checks train and test agree on the image size and builds the dataset.
fn assemble(name: &str, train: Images, train_y: Vec<u8>, test: Images, test_y: Vec<u8>, src: &Path) -> Result<Dataset> {
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(Error::data(
            src,
            format!("train images are {}x{} but test images are {}x{}", train.rows, train.cols, test.rows, test.cols),
        ));
    }
    let classes = train_y.iter().chain(&test_y).map(|&y| y as usize + 1).max().unwrap_or(0).max(2);
    check_classes(&train_y, &test_y, classes, src)?;
    Ok(Dataset {
        name: name.to_string(),
        train_x: train.pixels,
        train_y,
        test_x: test.pixels,
        test_y,
        height: train.rows,
        width: train.cols,
        classes,
    })
}

/// Labels must name classes 0..C-1, each used by some example: one stray label (200 in a
/// 10-class set) would otherwise silently make a 201-class head.
fn check_classes(train_y: &[u8], test_y: &[u8], classes: usize, src: &Path) -> Result<()> {
    let mut seen = [false; 256];
    for &y in train_y.iter().chain(test_y) {
        seen[y as usize] = true;
    }
    let missing: Vec<usize> = (0..classes).filter(|&c| !seen[c]).collect();
    if classes > 2 && !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(8).map(|c| c.to_string()).collect();
        return Err(Error::data(
            src,
            format!(
                "labels go up to {} but {} of the classes below never occur ({}{}): labels must be 0..C-1 without gaps",
                classes - 1,
                missing.len(),
                shown.join(", "),
                if missing.len() > 8 { ", ..." } else { "" }
            ),
        ));
    }
    Ok(())
}

/// The bundled subsets are compiled into the binary, so they work from any directory.
struct Embedded {
    files: [(&'static str, &'static [u8]); 4],
}

macro_rules! embed {
    ($set:literal, $file:literal) => {
        (
            concat!("data/bundled/", $set, "/", $file),
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/bundled/", $set, "/", $file)) as &[u8],
        )
    };
}

const BUNDLED_MNIST: Embedded = Embedded {
    files: [
        embed!("mnist", "train-images-idx3-ubyte.gz"),
        embed!("mnist", "train-labels-idx1-ubyte.gz"),
        embed!("mnist", "t10k-images-idx3-ubyte.gz"),
        embed!("mnist", "t10k-labels-idx1-ubyte.gz"),
    ],
};

const BUNDLED_FASHION: Embedded = Embedded {
    files: [
        embed!("fashion-mnist", "train-images-idx3-ubyte.gz"),
        embed!("fashion-mnist", "train-labels-idx1-ubyte.gz"),
        embed!("fashion-mnist", "t10k-images-idx3-ubyte.gz"),
        embed!("fashion-mnist", "t10k-labels-idx1-ubyte.gz"),
    ],
};

/// The bundled MNIST subset: 2,000 train + 500 test, 200 / 50 per class.
pub fn bundled_mnist() -> Result<Dataset> {
    load_embedded("bundled-mnist", &BUNDLED_MNIST)
}

/// The bundled Fashion-MNIST subset: 2,000 train + 500 test, 200 / 50 per class.
pub fn bundled_fashion() -> Result<Dataset> {
    load_embedded("bundled-fashion", &BUNDLED_FASHION)
}

fn load_embedded(name: &str, set: &Embedded) -> Result<Dataset> {
    let parse = |i: usize| -> Result<(PathBuf, idx::IdxArray)> {
        let (file, gz) = set.files[i];
        let path = PathBuf::from(file);
        let bytes = idx::gunzip_idx(gz, &path)?;
        let arr = idx::parse_idx(&bytes, &path)?;
        Ok((path, arr))
    };
    let (p0, a0) = parse(0)?;
    let (p1, a1) = parse(1)?;
    let (p2, a2) = parse(2)?;
    let (p3, a3) = parse(3)?;
    let (train, train_y) = (idx::images_from(a0, &p0)?, idx::labels_from(a1, &p1)?);
    let (test, test_y) = (idx::images_from(a2, &p2)?, idx::labels_from(a3, &p3)?);
    idx::check_pair(&train, &train_y, &p0, &p1)?;
    idx::check_pair(&test, &test_y, &p2, &p3)?;
    assemble(name, train, train_y, test, test_y, Path::new("data/bundled"))
}

/// A deterministic synthetic set for quick runs and tests: 28x28 anti-aliased strokes,
/// class `c` drawn at angle `c * 18` degrees, with seeded jitter in position, length,
/// thickness, angle and brightness. Labels cycle 0..10 so every class is present.
pub fn synthetic(n_train: usize, n_test: usize, seed: u64) -> Dataset {
    const SIDE: usize = 28;
    // Train and test use distinct streams so they are not copies of each other.
    let make = |n: usize, stream: u64| {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream);
        let mut x = vec![0.0f32; n * SIDE * SIDE];
        let y: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        for (img, &c) in x.chunks_exact_mut(SIDE * SIDE).zip(&y) {
            draw_stroke(img, SIDE, c, &mut rng);
        }
        (x, y)
    };
    let (train_x, train_y) = make(n_train, 1);
    let (test_x, test_y) = make(n_test, 2);
    Dataset { name: "synthetic".into(), train_x, train_y, test_x, test_y, height: SIDE, width: SIDE, classes: 10 }
}

fn draw_stroke(img: &mut [f32], side: usize, class: u8, rng: &mut StdRng) {
    let angle = class as f32 * PI / 10.0 + (rng.random::<f32>() - 0.5) * 0.15;
    let center = side as f32 / 2.0;
    let (cx, cy) = (center + rng.random_range(-3.0..3.0), center + rng.random_range(-3.0..3.0));
    let half_len = rng.random_range(7.0..11.0);
    let thickness = rng.random_range(1.2..2.4);
    let brightness = rng.random_range(0.7..1.0);
    let (dx, dy) = (angle.cos(), angle.sin());
    for r in 0..side {
        for c in 0..side {
            let (px, py) = (c as f32 + 0.5 - cx, r as f32 + 0.5 - cy);
            // Distance from the pixel centre to the segment [-half_len, half_len] along (dx, dy).
            let t = (px * dx + py * dy).clamp(-half_len, half_len);
            let dist = ((px - t * dx).powi(2) + (py - t * dy).powi(2)).sqrt();
            let v = (thickness + 0.5 - dist).clamp(0.0, 1.0);
            img[r * side + c] = v * brightness;
        }
    }
}
