//! Gzip streams (the input, prefixed with the gzip magic, and the input gzipped) through
//! the bounded decompressor and the IDX parser.
#![no_main]
use autoenc::data::idx;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.idx.gz");
    let mut raw = vec![0x1f, 0x8b];
    raw.extend_from_slice(data);
    if let Ok(bytes) = idx::gunzip_idx(&raw, path) {
        let _ = idx::parse_idx(&bytes, path);
    }
    if let Ok(bytes) = idx::gunzip_idx(data, path) {
        let _ = idx::parse_idx(&bytes, path);
    }
});
