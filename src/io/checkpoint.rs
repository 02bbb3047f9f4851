//! Checkpoints: named f32 tensors with shapes, plus string metadata, in the safetensors
//! format, and the atomic file write every output of a run goes through.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never
/// a partial one: write `<name>.<pid>.tmp` in the same folder, fsync, rename over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.file_name().is_none() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path")));
    }
    let tmp = temp_path_for(path);
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    // Make the rename itself durable (best effort: not every platform can open a folder).
    #[cfg(unix)]
    if let Some(dir) = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// One tensor: its shape and `shape.iter().product()` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Named f32 tensors plus string metadata (e.g. the model config as JSON). Names are kept
/// sorted, which is also the order safetensors stores them in.
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, TensorData>,
    pub metadata: BTreeMap<String, String>,
    /// The file it was loaded from, named in lookup errors.
    source: Option<PathBuf>,
}

/// Equal content; where each was loaded from does not matter.
impl PartialEq for Checkpoint {
    fn eq(&self, other: &Self) -> bool {
        self.tensors == other.tensors && self.metadata == other.metadata
    }
}

impl Checkpoint {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a tensor; errors if `data.len()` does not match `shape`.
    pub fn insert(&mut self, name: impl Into<String>, shape: &[usize], data: Vec<f32>) -> Result<()> {
        let name = name.into();
        let count: usize = shape.iter().product();
        if count != data.len() {
            return Err(Error::Shape(format!(
                "tensor '{name}': shape {shape:?} needs {count} values, got {}",
                data.len()
            )));
        }
        self.tensors.insert(name, TensorData { shape: shape.to_vec(), data });
        Ok(())
    }

    /// Sets a metadata entry.
    pub fn set_meta(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// The file this checkpoint was loaded from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// "path: " when loaded from a file, so lookup errors name it.
    fn origin(&self) -> String {
        self.source.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
    }

    /// A tensor by name; the error names the file and lists the tensors present.
    pub fn get(&self, name: &str) -> Result<&TensorData> {
        self.tensors.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
            Error::Checkpoint(format!("{}no tensor '{name}' (has: {})", self.origin(), names.join(", ")))
        })
    }

    /// A tensor by name, checking its shape.
    pub fn get_shaped(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let t = self.get(name)?;
        if t.shape != shape {
            return Err(Error::Checkpoint(format!(
                "{}tensor '{name}' has shape {:?}, expected {shape:?}",
                self.origin(),
                t.shape
            )));
        }
        Ok(&t.data)
    }

    /// A metadata entry by key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The safetensors bytes of this checkpoint.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        // safetensors stores little-endian; to_le_bytes keeps this right on any host.
        let raw: Vec<(&str, &[usize], Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(name, t)| (name.as_str(), &t.shape[..], t.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let views = raw
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.to_vec(), bytes)
                    .map(|v| (*name, v))
                    .map_err(|e| Error::Checkpoint(format!("tensor '{name}': {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let meta: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        safetensors::tensor::serialize(views, Some(meta)).map_err(|e| Error::Checkpoint(format!("serialize: {e}")))
    }

    /// Parses safetensors bytes; `path` names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let corrupt = |e: &dyn std::fmt::Display| {
            Error::Checkpoint(format!("{}: not a valid safetensors file ({e})", path.display()))
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(&e))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| corrupt(&e))?;
        let mut ckpt = Checkpoint { source: Some(path.to_path_buf()), ..Checkpoint::new() };
        if let Some(meta) = header.metadata() {
            ckpt.metadata = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        for (name, view) in st.iter() {
            if view.dtype() != Dtype::F32 {
                return Err(Error::Checkpoint(format!(
                    "{}: tensor '{name}' has dtype {:?}, expected F32",
                    path.display(),
                    view.dtype()
                )));
            }
            let data = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            ckpt.tensors.insert(name.to_string(), TensorData { shape: view.shape().to_vec(), data });
        }
        Ok(ckpt)
    }

    /// Writes the checkpoint atomically (see [`write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a checkpoint; errors name the file (missing, corrupt, non-f32 tensor).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}

/// Saves `(name, shape, values)` tensors and metadata to `path` (atomic).
pub fn save(path: &Path, tensors: &[(&str, &[usize], &[f32])], metadata: &[(&str, &str)]) -> Result<()> {
    let mut ckpt = Checkpoint::new();
    for &(name, shape, data) in tensors {
        ckpt.insert(name, shape, data.to_vec())?;
    }
    for &(k, v) in metadata {
        ckpt.set_meta(k, v);
    }
    ckpt.save(path)
}

/// Loads a checkpoint (same as [`Checkpoint::load`]).
pub fn load(path: &Path) -> Result<Checkpoint> {
    Checkpoint::load(path)
}

/// The temp-file path [`write_atomic`] uses for `path` in this process. The pid keeps two
/// processes writing the same file from sharing a temp file.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}
