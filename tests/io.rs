//! IO layer: checkpoints, atomic writes, PNG grids.

use std::path::PathBuf;

use autoenc::io::checkpoint::{self, temp_path_for, Checkpoint};
use autoenc::io::images::{grid_image, write_grid, write_tiled};
use autoenc::io::write_atomic;
use autoenc::Error;

/// A fresh, empty folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("autoenc-io-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn checkpoint_round_trip() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("model.safetensors");
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 3.0).collect();
    let b = vec![f32::MIN_POSITIVE, -0.0, 1e30];
    checkpoint::save(
        &path,
        &[("enc.w", &[3, 4], &w), ("enc.b", &[3], &b), ("scalar", &[], &[7.0])],
        &[("model", "mlp")],
    )
    .unwrap();
    assert_eq!(dir.entries(), vec!["model.safetensors"]);

    let ckpt = checkpoint::load(&path).unwrap();
    assert_eq!(ckpt.get("enc.w").unwrap().shape, vec![3, 4]);
    assert_eq!(ckpt.get("enc.w").unwrap().data, w);
    assert_eq!(ckpt.get_shaped("enc.b", &[3]).unwrap(), &b[..]);
    assert_eq!(ckpt.get_shaped("scalar", &[]).unwrap(), &[7.0]);
    assert_eq!(ckpt.meta("model"), Some("mlp"));
    assert_eq!(ckpt.source(), Some(path.as_path()));
    // Lookup errors name the file, and the tensors it has / the shape it holds.
    let msg = ckpt.get("dec.w").unwrap_err().to_string();
    assert!(msg.contains("model.safetensors") && msg.contains("enc.b, enc.w, scalar"), "{msg}");
    let msg = ckpt.get_shaped("enc.w", &[4, 3]).unwrap_err().to_string();
    assert!(msg.contains("model.safetensors") && msg.contains("[3, 4]"), "{msg}");

    // Saving again through the struct gives the same bytes back.
    let again = dir.join("again.safetensors");
    ckpt.save(&again).unwrap();
    assert_eq!(Checkpoint::load(&again).unwrap(), ckpt);

    let mut bad = Checkpoint::new();
    assert!(matches!(bad.insert("x", &[2, 2], vec![0.0; 3]), Err(Error::Shape(_))));
}

#[test]
fn checkpoint_errors_name_the_file() {
    let dir = TempDir::new("ckpt-errors");
    let missing = dir.join("missing.safetensors");
    let msg = Checkpoint::load(&missing).unwrap_err().to_string();
    assert!(msg.contains("missing.safetensors"), "{msg}");

    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"this is not a safetensors file at all").unwrap();
    let err = Checkpoint::load(&corrupt).unwrap_err();
    assert!(matches!(err, Error::Checkpoint(_)) && err.to_string().contains("corrupt.safetensors"), "{err}");

    // A valid file cut short is corrupt too.
    let good = dir.join("good.safetensors");
    checkpoint::save(&good, &[("w", &[100], &[1.0; 100])], &[]).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    assert!(Checkpoint::load(&cut).unwrap_err().to_string().contains("cut.safetensors"));

    // An f16 tensor is refused with its dtype named.
    let f16 = dir.join("f16.safetensors");
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![2], &[0u8; 4]).unwrap();
    std::fs::write(&f16, safetensors::serialize([("h", view)], None).unwrap()).unwrap();
    let msg = Checkpoint::load(&f16).unwrap_err().to_string();
    assert!(msg.contains("f16.safetensors") && msg.contains("F16"), "{msg}");
}

#[test]
fn atomic_write_replaces_and_leaves_no_temp_file() {
    let dir = TempDir::new("atomic");
    let path = dir.join("metrics.csv");
    write_atomic(&path, b"epoch,loss\n").unwrap();
    write_atomic(&path, b"epoch,loss\n1,0.5\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"epoch,loss\n1,0.5\n");
    assert_eq!(dir.entries(), vec!["metrics.csv"]);
    assert!(!temp_path_for(&path).exists());

    // A folder that does not exist: an Io error naming the path, and nothing left behind.
    let bad = dir.join("no-such-dir").join("config.json");
    let err = write_atomic(&bad, b"{}").unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("config.json"), "{err}");
    assert_eq!(dir.entries(), vec!["metrics.csv"]);
}

#[test]
fn png_grid_has_the_right_size_and_pixels() {
    let dir = TempDir::new("png");
    let (h, w, scale) = (3, 2, 2);
    // Row 0: two images (all 0 then all 1); row 1: one image with out-of-range values.
    let row0: Vec<f32> = [vec![0.0; 6], vec![1.0; 6]].concat();
    let row1 = vec![-1.0, 2.0, f32::NAN, 0.5, 0.5, 0.5];
    let path = dir.join("grid.png");
    write_grid(&path, &[row0.clone(), row1.clone()], 2, h, w, scale).unwrap();
    assert_eq!(dir.entries(), vec!["grid.png"]);

    let png = image::open(&path).unwrap().to_luma8();
    let (width, height) = (2 * (w * scale + 1) + 1, 2 * (h * scale + 1) + 1);
    assert_eq!((png.width() as usize, png.height() as usize), (width, height));
    assert_eq!(png.get_pixel(0, 0).0[0], 128); // frame
    assert_eq!(png.get_pixel(1, 1).0[0], 0); // first image, black
    assert_eq!(png.get_pixel(1 + w as u32 * 2 + 1, 1).0[0], 255); // second image, white
    assert_eq!(png.get_pixel(1, 1 + h as u32 * 2 + 1).0[0], 0); // clamped -1
    assert_eq!(png.get_pixel(3, 8).0[0], 255); // clamped 2.0 (pixel (0,1) scaled x2)
    assert_eq!(png.get_pixel(1, 10).0[0], 0); // NaN shows black
    assert_eq!(png.get_pixel(7, 8).0[0], 128); // row 1 has no second image: empty cell

    let img = grid_image(&[row0, row1], 2, h, w, scale).unwrap();
    assert_eq!(img.pixels, png.into_raw());

    let tiled = dir.join("tiled.png");
    write_tiled(&tiled, &[0.5; 5 * 6], 2, h, w, 1).unwrap();
    let t = image::open(&tiled).unwrap().to_luma8();
    assert_eq!((t.width(), t.height()), (2 * 3 + 1, 3 * 4 + 1));

    assert!(write_grid(&dir.join("bad.png"), &[vec![0.0; 7]], 2, h, w, 1).is_err());
    assert!(write_grid(&dir.join("bad.png"), &[vec![0.0; 18]], 2, h, w, 1).is_err());
    assert!(write_grid(&dir.join("bad.png"), &[vec![0.0; 6]], 2, h, w, 0).is_err());
    assert!(!dir.join("bad.png").exists());
}

/// config.json as the first runs wrote it (f32 values widened to f64 by hand-built JSON,
/// stacked runs without momentum or dataset_spec) still parses, into the right family.
#[test]
fn run_specs_written_before_the_serde_type_still_parse() {
    use autoenc::run::{Architecture, RunSpec};
    let dense = r#"{"activation":"relu","backend":"cpu","batch_size":64,"beta":0.0,"code":32,
        "code_activation":"relu","dataset":"bundled-mnist","dataset_spec":"bundled","device":"cpu",
        "epochs":2,"hidden":[256],"l1":0.0,"lambda":0.0,"loss":"bce","lr":0.0010000000474974513,
        "lr_decay":1.0,"model":"ae","momentum":0.8999999761581421,"noise":"none","optimizer":"adam",
        "output_activation":"sigmoid","rho":0.05000000074505806,"seed":1,"weight_decay":0.0}"#;
    let spec = RunSpec::from_json(dense, "dense").unwrap();
    assert_eq!((spec.training.lr, spec.training.momentum, spec.training.epochs), (1e-3, 0.9, Some(2)));
    assert!(matches!(&spec.arch, Architecture::Dense { hidden, code: 32, .. } if hidden == &[256]));
    let stacked = r#"{"backend":"cpu","batch_size":64,"classifier_only":false,"dataset":"bundled-mnist",
        "device":"cpu","finetune_epochs":5,"finetune_lr":0.00010000000474974513,"lambda":0.0,
        "layers":[784,256,64],"loss":"bce","lr":0.0010000000474974513,"lr_decay":1.0,"model":"stacked",
        "noise":"masking:0.25","optimizer":"adam","pretrain":"denoising","pretrain_epochs":3,"seed":1}"#;
    let spec = RunSpec::from_json(stacked, "stacked").unwrap();
    assert_eq!((spec.training.momentum, spec.training.weight_decay, spec.dataset_spec), (0.9, 0.0, None));
    assert!(
        matches!(spec.arch, Architecture::Stacked { pretrain_epochs: 3, finetune_lr, .. } if finetune_lr == 1e-3f32 / 10.0)
    );
    // Fields recorded later read as what those runs did: clean fine-tuning inputs, and the
    // pretraining's optimizer (None) for the supervised phase.
    assert!(matches!(&spec.arch, Architecture::Stacked { finetune_noise, finetune_optimizer: None, .. }
        if finetune_noise == "none"));
    let conv = r#"{"backend":"cpu","batch_size":64,"dataset":"d","device":"cpu","epochs":1,"lr":0.001,
        "lr_decay":1.0,"loss":"bce","model":"conv","noise":"none","optimizer":"adam","seed":0}"#;
    let spec = RunSpec::from_json(conv, "conv").unwrap();
    assert_eq!(spec.arch, Architecture::Conv { decoder: "upsample".into() });
    // What a spec writes, it reads back unchanged.
    assert_eq!(RunSpec::from_json(&spec.to_json().unwrap(), "round trip").unwrap(), spec);
    assert!(RunSpec::from_json("{}", "empty.json").unwrap_err().to_string().contains("empty.json"));
}
