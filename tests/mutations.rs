//! Thousands of seeded mutations of each file format the engine reads (IDX raw and
//! gzipped, config.json, model.safetensors) through the real readers: each must give an
//! answer or an error naming the file, never a panic. The stable-toolchain companion of
//! the cargo-fuzz targets in fuzz/.

use autoenc::data::idx;
use autoenc::io::checkpoint::Checkpoint;
use autoenc::run::SavedRun;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;

const MUTATIONS: usize = 3000;

/// One random edit: flip a bit, set a byte, truncate, insert, duplicate or delete a span.
fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let len = v.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..len) };
        match rng.random_range(0..6) {
            0 if len > 0 => v[at] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => v[at] = [0u8, 0xff, 0x7f, 0x80, 1][rng.random_range(0..5)],
            2 => v.truncate(at),
            3 => {
                let bytes: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                v.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let end = (at + rng.random_range(1..64)).min(len);
                let span = v[at..end].to_vec();
                v.splice(at..at, span);
            }
            _ if len > 0 => {
                let end = (at + rng.random_range(1..64)).min(len);
                v.drain(at..end);
            }
            _ => v.push(rng.random()),
        }
    }
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn sample_idx() -> Vec<u8> {
    let pixels: Vec<u8> = (0..6 * 28 * 28).map(|i| (i * 7 % 256) as u8).collect();
    idx::encode_idx(&[6, 28, 28], &pixels).unwrap()
}

fn assert_names(err: &autoenc::Error, name: &str) {
    let msg = err.to_string();
    assert!(msg.contains(name) || msg.contains("memory budget"), "error does not name {name}: {msg}");
}

#[test]
fn mutated_raw_idx_files_give_errors_not_panics() {
    let (path, good) = (Path::new("mutated.idx"), sample_idx());
    let mut rng = StdRng::seed_from_u64(1);
    let mut errors = 0;
    for _ in 0..MUTATIONS {
        match idx::parse_idx(&mutate(&mut rng, &good), path) {
            Ok(arr) => {
                let _ = idx::images_from(arr.clone(), path);
                let _ = idx::labels_from(arr, path);
            }
            Err(e) => {
                assert_names(&e, "mutated.idx");
                errors += 1;
            }
        }
    }
    assert!(errors > MUTATIONS / 2, "only {errors} of {MUTATIONS} mutations were refused");
}

#[test]
fn mutated_gzip_idx_files_give_errors_not_panics() {
    let path = Path::new("mutated.idx.gz");
    let good = gzip(&sample_idx());
    let mut rng = StdRng::seed_from_u64(2);
    for i in 0..MUTATIONS {
        // Half mutate the compressed stream, half gzip a mutated IDX file.
        let bytes = if i % 2 == 0 { mutate(&mut rng, &good) } else { gzip(&mutate(&mut rng, &sample_idx())) };
        match idx::gunzip_idx(&bytes, path).and_then(|raw| idx::parse_idx(&raw, path)) {
            Ok(arr) => assert_eq!(arr.data.len(), arr.dims.iter().product::<usize>()),
            Err(e) => assert_names(&e, "mutated.idx.gz"),
        }
    }
}

#[test]
fn a_gzip_bomb_is_refused_at_the_size_its_header_promises() {
    let mut raw = idx::encode_idx(&[1, 28, 28], &[0; 784]).unwrap();
    raw.extend(std::iter::repeat_n(0u8, 50 << 20)); // 50 MB of zeros after the promised 784
    let err = idx::gunzip_idx(&gzip(&raw), Path::new("bomb.gz")).unwrap_err().to_string();
    assert!(err.contains("bomb.gz") && err.contains("promises"), "{err}");
}

fn sample_run() -> (String, Vec<u8>) {
    let config = r#"{"model":"ae","dataset":"bundled-mnist","dataset_spec":"bundled","backend":"cpu","device":"cpu","epochs":1,"batch_size":64,"lr":0.001,"lr_decay":1.0,"optimizer":"adam","momentum":0.9,"weight_decay":0.0,"loss":"bce","seed":0,"noise":"none","l1":0.0,"rho":0.05,"beta":0.0,"lambda":0.0,"hidden":[4],"code":2,"activation":"relu","code_activation":"relu","output_activation":"sigmoid"}"#;
    let spec = autoenc::run::RunSpec::from_json(config, "config.json").unwrap();
    let mut ck = Checkpoint::new();
    ck.insert("enc0.w", &[4, 3], (0..12).map(|i| i as f32 * 0.1).collect()).unwrap();
    ck.insert("enc0.b", &[4], vec![0.5; 4]).unwrap();
    ck.set_meta("config", serde_json::to_string(&spec).unwrap());
    (config.to_string(), ck.to_bytes().unwrap())
}

#[test]
fn mutated_run_files_give_errors_not_panics() {
    let (config, model) = sample_run();
    let dir = Path::new("mutated-run");
    SavedRun::from_parts(dir, &config, &model).expect("the unmutated run loads");
    let mut rng = StdRng::seed_from_u64(3);
    let mut errors = 0;
    for i in 0..MUTATIONS {
        let (c, m) = match i % 3 {
            0 => (String::from_utf8_lossy(&mutate(&mut rng, config.as_bytes())).into_owned(), model.clone()),
            1 => (config.clone(), mutate(&mut rng, &model)),
            _ => (String::from_utf8_lossy(&mutate(&mut rng, config.as_bytes())).into_owned(), mutate(&mut rng, &model)),
        };
        match SavedRun::from_parts(dir, &c, &m) {
            Ok(run) => assert!(run.checkpoint.tensors.values().all(|t| t.data.iter().all(|v| v.is_finite()))),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("config.json") || msg.contains("model.safetensors"), "{msg}");
                errors += 1;
            }
        }
    }
    assert!(errors > MUTATIONS / 2, "only {errors} of {MUTATIONS} mutations were refused");
}

#[test]
fn config_fields_out_of_range_are_refused() {
    let (config, model) = sample_run();
    let dir = Path::new("bad-config");
    for (from, to, needle) in [
        (r#""model":"ae""#, r#""model":"banana""#, "unknown model 'banana'"),
        (r#""hidden":[4]"#, r#""hidden":[-5,4]"#, "model 'ae' needs its own keys"),
        (r#""hidden":[4]"#, r#""hidden":[1000000000]"#, "layer size 1000000000"),
        (r#""lr":0.001"#, r#""lr":-1"#, "lr must be"),
        (r#""batch_size":64"#, r#""batch_size":0"#, "batch_size"),
    ] {
        let bad = config.replace(from, to);
        assert_ne!(bad, config);
        let err = SavedRun::from_parts(dir, &bad, &model).err().unwrap_or_else(|| panic!("{to} accepted")).to_string();
        assert!(err.contains(needle) && err.contains("config.json"), "{to}: {err}");
    }
    let mut ck = Checkpoint::new();
    ck.insert("enc0.w", &[2], vec![1.0, f32::NAN]).unwrap();
    let err = SavedRun::from_parts(dir, &config, &ck.to_bytes().unwrap()).err().expect("NaN accepted").to_string();
    assert!(err.contains("NaN") && err.contains("enc0.w"), "{err}");
}
