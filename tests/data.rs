//! Data layer: IDX reading/writing and its errors, datasets, noise, shuffling, batching.

use std::path::{Path, PathBuf};

use autoenc::data::batches::{gather_labels, gather_rows, num_batches, one_hot, shuffled_indices, Batches};
use autoenc::data::datasets::{self, Dataset};
use autoenc::data::idx;
use autoenc::data::Noise;
use autoenc::Error;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A fresh, empty folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("autoenc-data-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The error message, which must name `path`'s file.
fn err_naming(result: Result<impl std::fmt::Debug, Error>, path: &Path) -> String {
    let msg = result.expect_err("expected an error").to_string();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "error '{msg}' does not name {name}");
    msg
}

fn sample_pixels(n: usize, rows: usize, cols: usize) -> Vec<u8> {
    (0..n * rows * cols).map(|i| (i * 37 % 256) as u8).collect()
}

#[test]
fn idx_round_trip_raw_and_gzip() {
    let dir = TempDir::new("roundtrip");
    let pixels = sample_pixels(3, 4, 5);
    let labels = vec![7u8, 0, 9];
    for gzip in [false, true] {
        let (xp, yp) = (dir.join(&format!("x{gzip}")), dir.join(&format!("y{gzip}")));
        idx::write_images(&xp, 3, 4, 5, &pixels, gzip).unwrap();
        idx::write_labels(&yp, &labels, gzip).unwrap();
        let raw = std::fs::read(&xp).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), gzip);
        let (x, y) = idx::read_pair(&xp, &yp).unwrap();
        assert_eq!((x.n, x.rows, x.cols), (3, 4, 5));
        assert_eq!(y, labels);
        let back: Vec<u8> = x.pixels.iter().map(|v| (v * 255.0).round() as u8).collect();
        assert_eq!(back, pixels);
        assert!(x.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(idx::read_idx(&yp).unwrap().dims, vec![3]);
    }
}

#[test]
fn gzip_is_detected_by_magic_not_name() {
    let dir = TempDir::new("gzname");
    // A gzipped file without .gz and a raw file named .gz both read.
    let (gz, raw) = (dir.join("images-no-ext"), dir.join("raw.gz"));
    idx::write_images(&gz, 1, 2, 2, &[0, 85, 170, 255], true).unwrap();
    idx::write_images(&raw, 1, 2, 2, &[0, 85, 170, 255], false).unwrap();
    assert_eq!(idx::read_images(&gz).unwrap(), idx::read_images(&raw).unwrap());
    assert_eq!(idx::read_images(&gz).unwrap().pixels, vec![0.0, 85.0 / 255.0, 170.0 / 255.0, 1.0]);
}

#[test]
fn idx_errors_name_the_file() {
    let dir = TempDir::new("errors");

    let missing = dir.join("nope-images");
    err_naming(idx::read_images(&missing), &missing);

    let bad_magic = dir.join("bad-magic");
    std::fs::write(&bad_magic, [0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]).unwrap();
    assert!(err_naming(idx::read_images(&bad_magic), &bad_magic).contains("magic"));

    let bad_type = dir.join("bad-type");
    std::fs::write(&bad_type, [0, 0, 0x0d, 0x01, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    err_naming(idx::read_labels(&bad_type), &bad_type);

    // Header promises 2 x 3 x 3 = 18 bytes; only 10 follow. Also gzipped.
    let mut bytes = idx::encode_idx(&[2, 3, 3], &[1; 18]).unwrap();
    bytes.truncate(bytes.len() - 8);
    let truncated = dir.join("truncated");
    std::fs::write(&truncated, &bytes).unwrap();
    assert!(err_naming(idx::read_images(&truncated), &truncated).contains("truncated"));
    let short_header = dir.join("short-header");
    std::fs::write(&short_header, [0, 0, 8, 3, 0, 0]).unwrap();
    assert!(err_naming(idx::read_images(&short_header), &short_header).contains("truncated"));
    let truncated_gz = dir.join("truncated-gz");
    idx::write_images(&truncated_gz, 2, 3, 3, &[1; 18], true).unwrap();
    let gz = std::fs::read(&truncated_gz).unwrap();
    std::fs::write(&truncated_gz, &gz[..gz.len() / 2]).unwrap();
    err_naming(idx::read_images(&truncated_gz), &truncated_gz);

    let wrong_dims = dir.join("labels-as-images");
    idx::write_labels(&wrong_dims, &[1, 2, 3], false).unwrap();
    assert!(err_naming(idx::read_images(&wrong_dims), &wrong_dims).contains("dimensions"));
    let images_as_labels = dir.join("images-as-labels");
    idx::write_images(&images_as_labels, 1, 2, 2, &[0; 4], false).unwrap();
    err_naming(idx::read_labels(&images_as_labels), &images_as_labels);

    let (xp, yp) = (dir.join("x3"), dir.join("y2"));
    idx::write_images(&xp, 3, 2, 2, &[0; 12], false).unwrap();
    idx::write_labels(&yp, &[1, 2], false).unwrap();
    let msg = err_naming(idx::read_pair(&xp, &yp), &yp);
    assert!(msg.contains("mismatch") && msg.contains("x3"), "{msg}");

    let trailing = dir.join("trailing");
    let mut bytes = idx::encode_idx(&[2], &[1, 2]).unwrap();
    bytes.push(0);
    std::fs::write(&trailing, &bytes).unwrap();
    err_naming(idx::read_labels(&trailing), &trailing);
}

/// Writes the four standard files for a tiny dataset into `dir`.
fn write_standard(dir: &Path, gzip: bool, n_train_labels: usize) {
    let gz = if gzip { ".gz" } else { "" };
    idx::write_images(&dir.join(format!("train-images-idx3-ubyte{gz}")), 4, 3, 2, &sample_pixels(4, 3, 2), gzip)
        .unwrap();
    idx::write_labels(&dir.join(format!("train-labels-idx1-ubyte{gz}")), &[0, 1, 2, 3][..n_train_labels], gzip)
        .unwrap();
    idx::write_images(&dir.join(format!("t10k-images-idx3-ubyte{gz}")), 2, 3, 2, &sample_pixels(2, 3, 2), gzip)
        .unwrap();
    idx::write_labels(&dir.join(format!("t10k-labels-idx1-ubyte{gz}")), &[4, 1], gzip).unwrap();
}

#[test]
fn folder_datasets_load_and_report_missing_files() {
    for gzip in [false, true] {
        let dir = TempDir::new(&format!("folder{gzip}"));
        write_standard(&dir.0, gzip, 4);
        let spec = dir.0.to_str().unwrap();
        let d = datasets::load(spec, Path::new("unused")).unwrap();
        assert_eq!((d.n_train(), d.n_test(), d.height, d.width, d.dim(), d.classes), (4, 2, 3, 2, 6, 5));
        assert_eq!(d.train_image(1).len(), 6);
        let limited = d.limit(Some(3), Some(10));
        assert_eq!((limited.n_train(), limited.n_test(), limited.train_x.len()), (3, 2, 18));

        std::fs::remove_file(dir.join(&format!("t10k-labels-idx1-ubyte{}", if gzip { ".gz" } else { "" }))).unwrap();
        let msg = datasets::load(spec, Path::new("unused")).unwrap_err().to_string();
        assert!(msg.contains("t10k-labels-idx1-ubyte") && msg.contains("fetch-datasets.sh"), "{msg}");
    }
    let dir = TempDir::new("folder-mismatch");
    write_standard(&dir.0, true, 3);
    let msg = datasets::load(dir.0.to_str().unwrap(), Path::new("unused")).unwrap_err().to_string();
    assert!(msg.contains("train-labels-idx1-ubyte") && msg.contains("mismatch"), "{msg}");
}

#[test]
fn named_sets_missing_say_how_to_fetch() {
    let dir = TempDir::new("nodata");
    let msg = datasets::load("mnist", &dir.0).unwrap_err().to_string();
    assert!(msg.contains("mnist") && msg.contains("tools/fetch-datasets.sh"), "{msg}");
    let err = datasets::load("no-such-dataset", &dir.0).unwrap_err();
    assert!(matches!(err, Error::Config(_)) && err.to_string().contains("bundled"), "{err}");
}

fn check_bundled(d: &Dataset) {
    assert_eq!((d.n_train(), d.n_test(), d.height, d.width, d.classes), (2000, 500, 28, 28, 10));
    assert_eq!((d.train_x.len(), d.test_x.len()), (2000 * 784, 500 * 784));
    assert!(d.train_x.iter().chain(&d.test_x).all(|v| (0.0..=1.0).contains(v)));
    // Real images use the full range.
    assert_eq!(d.train_x.iter().cloned().fold(0.0, f32::max), 1.0);
    for c in 0..10u8 {
        assert_eq!(d.train_y.iter().filter(|&&y| y == c).count(), 200);
        assert_eq!(d.test_y.iter().filter(|&&y| y == c).count(), 50);
    }
}

#[test]
fn bundled_datasets_load() {
    let mnist = datasets::load("bundled", Path::new("unused")).unwrap();
    check_bundled(&mnist);
    // The first MNIST training labels are 5 0 4 1 9 2 1 3 1 4.
    assert_eq!(&mnist.train_y[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let fashion = datasets::load("bundled-fashion", Path::new("unused")).unwrap();
    check_bundled(&fashion);
    assert_ne!(mnist.train_x[..784], fashion.train_x[..784]);
}

#[test]
fn synthetic_is_deterministic_and_in_range() {
    let a = datasets::load("synthetic", Path::new("unused")).unwrap();
    let b = datasets::synthetic(2000, 500, 0);
    assert_eq!(a, b);
    assert_eq!((a.n_train(), a.n_test(), a.dim(), a.classes), (2000, 500, 784, 10));
    assert!(a.train_x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_ne!(datasets::synthetic(20, 5, 1).train_x, datasets::synthetic(20, 5, 2).train_x);
    // Every image has ink, and not everywhere.
    for i in 0..a.n_train() {
        let ink: f32 = a.train_image(i).iter().sum();
        assert!(ink > 10.0 && ink < 300.0, "image {i} ink {ink}");
    }
}

#[test]
fn noise_parse() {
    assert_eq!(Noise::parse("none").unwrap(), Noise::None);
    assert_eq!(Noise::parse("masking:0.25").unwrap(), Noise::Masking(0.25));
    assert_eq!(Noise::parse("gaussian:0.5").unwrap(), Noise::Gaussian(0.5));
    assert_eq!(Noise::parse("salt-pepper:0.1").unwrap(), Noise::SaltPepper(0.1));
    for n in [Noise::None, Noise::Masking(0.3), Noise::Gaussian(0.5), Noise::SaltPepper(0.05)] {
        assert_eq!(Noise::parse(&n.to_string()).unwrap(), n);
    }
    for bad in [
        "",
        "masking",
        "masking:",
        "masking:x",
        "masking:1.5",
        "masking:-0.1",
        "gaussian:-1",
        "gaussian:inf",
        "blur:0.1",
        "salt-pepper:nan",
    ] {
        assert!(matches!(Noise::parse(bad), Err(Error::Config(_))), "{bad:?} parsed");
    }
}

#[test]
fn noise_statistics_and_seeding() {
    let n = 100_000;
    let mut rng = StdRng::seed_from_u64(1);

    let mut x = vec![1.0f32; n];
    Noise::Masking(0.25).apply(&mut x, &mut rng);
    let masked = x.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((masked - 0.25).abs() < 0.01, "masked fraction {masked}");
    assert!(x.iter().all(|&v| v == 0.0 || v == 1.0));

    let mut x = vec![0.5f32; n];
    Noise::SaltPepper(0.2).apply(&mut x, &mut rng);
    let salt = x.iter().filter(|&&v| v == 1.0).count() as f64 / n as f64;
    let pepper = x.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((salt - 0.1).abs() < 0.01 && (pepper - 0.1).abs() < 0.01, "salt {salt} pepper {pepper}");

    // Unclipped statistics of the Gaussian: mean 0.5, std sigma (mid-range, sigma small).
    let mut x = vec![0.5f32; n + 1]; // odd length exercises the unpaired last value
    Noise::Gaussian(0.1).apply(&mut x, &mut rng);
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
    let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    assert!((mean - 0.5).abs() < 0.002 && (std - 0.1).abs() < 0.002, "mean {mean} std {std}");
    assert_ne!(x[n], 0.5);

    let mut x = vec![0.0f32; n];
    Noise::Gaussian(0.5).apply(&mut x, &mut rng);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    let clipped = x.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((clipped - 0.5).abs() < 0.01, "clipped {clipped}");

    let mut x = vec![0.3f32; 10];
    Noise::None.apply(&mut x, &mut rng);
    assert_eq!(x, vec![0.3; 10]);

    for noise in [Noise::Masking(0.5), Noise::Gaussian(0.5), Noise::SaltPepper(0.5)] {
        let clean = vec![0.5f32; 1000];
        let a = noise.applied(&clean, &mut StdRng::seed_from_u64(7));
        let b = noise.applied(&clean, &mut StdRng::seed_from_u64(7));
        let c = noise.applied(&clean, &mut StdRng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

#[test]
fn shuffling_is_a_seeded_permutation() {
    let p = shuffled_indices(1000, 42, 3);
    let mut sorted = p.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_eq!(p, shuffled_indices(1000, 42, 3));
    assert_ne!(p, shuffled_indices(1000, 42, 4));
    assert_ne!(p, shuffled_indices(1000, 43, 3));
    assert_ne!(p, sorted);
    assert!(shuffled_indices(0, 1, 1).is_empty());
    assert_eq!(shuffled_indices(1, 1, 1), vec![0]);
}

#[test]
fn batches_keep_or_drop_the_last_partial_batch() {
    let order: Vec<usize> = (0..10).collect();
    let kept: Vec<&[usize]> = Batches::new(&order, 4, false).unwrap().collect();
    assert_eq!(kept, vec![&[0, 1, 2, 3][..], &[4, 5, 6, 7], &[8, 9]]);
    let dropped = Batches::new(&order, 4, true).unwrap();
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped.flatten().count(), 8);
    assert_eq!(Batches::new(&order, 5, true).unwrap().count(), 2);
    assert_eq!(Batches::new(&order, 20, true).unwrap().count(), 0);
    assert_eq!(Batches::new(&order, 20, false).unwrap().count(), 1);
    assert_eq!((num_batches(10, 4, false), num_batches(10, 4, true), num_batches(0, 4, false)), (3, 2, 0));
    assert!(matches!(Batches::new(&order, 0, false), Err(Error::Config(_))));
}

#[test]
fn gather_and_one_hot() {
    let src: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 4 rows of 3
    assert_eq!(gather_rows(&src, 3, &[2, 0]), vec![6.0, 7.0, 8.0, 0.0, 1.0, 2.0]);
    assert!(gather_rows(&src, 3, &[]).is_empty());
    assert_eq!(gather_labels(&[5, 6, 7], &[2, 2, 0]), vec![7, 7, 5]);
    assert_eq!(one_hot(&[1, 0], 3).unwrap(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    assert!(one_hot(&[3], 3).is_err());
}

#[test]
fn hold_out_moves_the_last_training_images_into_the_test_slots() {
    let d = datasets::bundled_mnist().unwrap();
    let (n, dim) = (d.n_train(), d.dim());
    let last = d.train_image(n - 1).to_vec();
    let first_held = d.train_image(n - 300).to_vec();
    let label = d.train_y[n - 300];
    let v = d.clone().hold_out(300).unwrap();
    assert_eq!((v.n_train(), v.n_test(), v.train_x.len(), v.test_x.len()), (n - 300, 300, (n - 300) * dim, 300 * dim));
    assert_eq!(v.train_image(0), d.train_image(0));
    assert_eq!((v.test_image(0), v.test_y[0]), (&first_held[..], label));
    assert_eq!(v.test_image(299), &last[..]);
    assert!(v.name.contains("validation"), "{}", v.name);
    // --limit-train then limits what is left, --limit-test the held-out images.
    let limited = v.limit(Some(100), Some(50));
    assert_eq!((limited.n_train(), limited.n_test()), (100, 50));
    for bad in [0, n, n + 1] {
        let msg = d.clone().hold_out(bad).unwrap_err().to_string();
        assert!(msg.contains("validation") && msg.contains(&bad.to_string()), "{msg}");
    }
}
