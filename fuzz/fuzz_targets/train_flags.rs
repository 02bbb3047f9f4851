//! `autoenc train`'s structured flags (--noise, --layers, --hidden, --max-memory and the
//! numbers) through the real command-line parser and every check run before training.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/cli/mod.rs"]
#[allow(dead_code)]
mod cli;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Fields split on NUL: noise, layers, hidden, then any other flags and values.
    let mut fields = text.split('\0');
    let mut argv: Vec<String> = vec!["autoenc".into(), "train".into()];
    for flag in ["--noise", "--layers", "--hidden"] {
        if let Some(v) = fields.next() {
            argv.push(format!("{flag}={v}"));
        }
    }
    argv.extend(fields.map(str::to_string));
    let _ = cli::check_train_flags(&argv);
});
