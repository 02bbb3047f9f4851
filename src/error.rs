//! One error type for the engine. Messages name the file, the shape or the limit.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A file could not be read or written.
    Io { path: PathBuf, source: std::io::Error },
    /// A data file exists but its content is wrong (bad magic, truncated, mismatched counts).
    Data { path: PathBuf, msg: String },
    /// Tensor shapes that do not fit together.
    Shape(String),
    /// A bad command-line value or model configuration.
    Config(String),
    /// The GPU: no adapter, a limit exceeded, a device error.
    Gpu(String),
    /// Training diverged (NaN or infinite loss).
    NonFinite(String),
    /// A checkpoint or run directory that cannot be used.
    Checkpoint(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn data(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Data { path: path.into(), msg: msg.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Data { path, msg } => write!(f, "{}: {msg}", path.display()),
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::Config(m) => write!(f, "{m}"),
            Error::Gpu(m) => write!(f, "gpu: {m}"),
            Error::NonFinite(m) => write!(f, "training diverged: {m}"),
            Error::Checkpoint(m) => write!(f, "checkpoint: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Returns `Err(Error::Shape(..))` unless the condition holds.
#[macro_export]
macro_rules! ensure_shape {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::error::Error::Shape(format!($($fmt)+)));
        }
    };
}
