//! Any bytes through the IDX parser and the image/label readers: an error, never a panic.
#![no_main]
use autoenc::data::idx;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.idx");
    if let Ok(arr) = idx::parse_idx(data, path) {
        let _ = idx::images_from(arr.clone(), path);
        let _ = idx::labels_from(arr, path);
    }
});
