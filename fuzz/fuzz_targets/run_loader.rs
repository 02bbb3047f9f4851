//! The run loader on a (config.json, model.safetensors) pair cut from the input: the
//! first two bytes say where the config ends.
#![no_main]
use autoenc::run::SavedRun;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    let (config, model) = data[2..].split_at(split);
    let Ok(config) = std::str::from_utf8(config) else { return };
    let _ = SavedRun::from_parts(Path::new("fuzz-run"), config, model);
});
