//! IDX files, the MNIST / Fashion-MNIST format: a 4-byte magic (two zero bytes, a type
//! code, the number of dimensions), one big-endian u32 per dimension, then the values.
//! We read and write the unsigned-byte type (0x08) only, which is all these datasets use.
//! Files may be raw or gzipped; gzip is detected by its magic bytes, not by the name.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::error::{Error, Result};
use crate::io::images::to_byte;

/// Magic of an unsigned-byte image file with 3 dims (n, rows, cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of an unsigned-byte label file with 1 dim (n).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
const TYPE_U8: u8 = 0x08;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A decoded unsigned-byte IDX array: its dimensions and its values in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Images from an IDX file, scaled to [0, 1] (byte / 255), `n * rows * cols` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<f32>,
}

/// Reads a whole file, un-gzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    crate::limits::check(&format!("reading {}", path.display()), Some(size as u128))?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    gunzip_idx(&bytes, path)
}

/// What a gzip stream may decompress to beyond the size its IDX header promises (so the
/// parser, not the decoder, reports a few trailing bytes).
pub const GZIP_SLACK: usize = 64 << 10;

/// Decompresses a gzipped IDX file, reading only as far as its header promises (plus
/// [`GZIP_SLACK`]): a small file of zeros cannot inflate to gigabytes.
pub fn gunzip_idx(gz: &[u8], path: &Path) -> Result<Vec<u8>> {
    let corrupt = |e: std::io::Error| Error::data(path, format!("corrupt gzip stream: {e}"));
    let mut decoder = MultiGzDecoder::new(gz);
    let mut out = Vec::new();
    (&mut decoder).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 || out[0] != 0 || out[1] != 0 {
        return Ok(out); // not an IDX header: parse_idx names the problem
    }
    let header_len = 4 + 4 * out[3] as usize;
    (&mut decoder).take(header_len as u64 - 4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < header_len {
        return Ok(out);
    }
    let promised = out[4..header_len]
        .chunks_exact(4)
        .try_fold(1u128, |acc, c| acc.checked_mul(u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u128))
        .and_then(|count| count.checked_add(header_len as u128));
    crate::limits::check(&format!("{} (as its IDX header promises)", path.display()), promised)?;
    let promised = promised.unwrap_or(u128::MAX) as usize;
    let limit = promised.saturating_add(GZIP_SLACK);
    out.reserve(promised.min(gz.len().saturating_mul(16)).saturating_sub(out.len()));
    (&mut decoder).take((limit - out.len()) as u64 + 1).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() > limit {
        return Err(Error::data(
            path,
            format!(
                "the gzip stream decompresses to more than the {promised} bytes its IDX header promises \
                 (+{GZIP_SLACK} slack); refusing to read further"
            ),
        ));
    }
    Ok(out)
}

/// Parses IDX bytes; `path` only names the source in error messages.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(Error::data(path, format!("truncated: {} bytes, too short for an IDX header", bytes.len())));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::data(path, format!("bad magic 0x{magic:08x}: not an IDX file (expected 0x000008NN)")));
    }
    if bytes[2] != TYPE_U8 {
        return Err(Error::data(
            path,
            format!("bad magic 0x{magic:08x}: element type 0x{:02x} is not unsigned byte (0x08)", bytes[2]),
        ));
    }
    let ndims = bytes[3] as usize;
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(Error::data(
            path,
            format!(
                "truncated: header promises {ndims} dimensions ({header_len} bytes), file has {} bytes",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> =
        bytes[4..header_len].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    // checked: a corrupt header could promise more than usize holds.
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::data(path, format!("dimensions {dims:?} overflow")))?;
    let body = &bytes[header_len..];
    if body.len() < count {
        return Err(Error::data(
            path,
            format!("truncated: header promises {dims:?} = {count} bytes of data, file has {}", body.len()),
        ));
    }
    if body.len() > count {
        return Err(Error::data(
            path,
            format!("{} unexpected trailing bytes after the {dims:?} = {count} data bytes", body.len() - count),
        ));
    }
    Ok(IdxArray { dims, data: body.to_vec() })
}

/// Reads any unsigned-byte IDX file, raw or gzipped.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    parse_idx(&read_maybe_gz(path)?, path)
}

/// Reads an image file (3 dims: n, rows, cols) and scales it to [0, 1].
pub fn read_images(path: &Path) -> Result<Images> {
    images_from(read_idx(path)?, path)
}

/// Reads a label file (1 dim: n).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    labels_from(read_idx(path)?, path)
}

/// Reads an image file and its label file, checking that their counts agree.
pub fn read_pair(images: &Path, labels: &Path) -> Result<(Images, Vec<u8>)> {
    let x = read_images(images)?;
    let y = read_labels(labels)?;
    check_pair(&x, &y, images, labels)?;
    Ok((x, y))
}

/// Interprets a parsed IDX array as images; `path` names the source in errors.
pub fn images_from(arr: IdxArray, path: &Path) -> Result<Images> {
    if arr.dims.len() != 3 {
        return Err(Error::data(
            path,
            format!("wrong dimensions: an image file needs 3 dims (n, rows, cols), found {:?}", arr.dims),
        ));
    }
    let (n, rows, cols) = (arr.dims[0], arr.dims[1], arr.dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::data(path, format!("wrong dimensions: empty images {rows}x{cols}")));
    }
    crate::limits::check(&format!("the images of {}", path.display()), crate::limits::f32s(arr.data.len() as u128))?;
    let pixels = arr.data.iter().map(|&b| b as f32 / 255.0).collect();
    Ok(Images { n, rows, cols, pixels })
}

/// Interprets a parsed IDX array as labels; `path` names the source in errors.
pub fn labels_from(arr: IdxArray, path: &Path) -> Result<Vec<u8>> {
    if arr.dims.len() != 1 {
        return Err(Error::data(path, format!("wrong dimensions: a label file needs 1 dim (n), found {:?}", arr.dims)));
    }
    Ok(arr.data)
}

/// Errors unless there is exactly one label per image.
pub fn check_pair(x: &Images, y: &[u8], images: &Path, labels: &Path) -> Result<()> {
    if x.n != y.len() {
        return Err(Error::data(
            labels,
            format!("count mismatch: {} labels but {} images in {}", y.len(), x.n, images.display()),
        ));
    }
    Ok(())
}

/// Encodes an unsigned-byte IDX array (header + data), uncompressed.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let count: usize = dims.iter().product();
    if dims.len() > 255 || dims.iter().any(|&d| d > u32::MAX as usize) || count != data.len() {
        return Err(Error::Shape(format!("IDX dims {dims:?} do not describe {} bytes", data.len())));
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, TYPE_U8, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Writes an unsigned-byte IDX file, gzipped when `gzip` is true. Written atomically.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let raw = encode_idx(dims, data)?;
    let bytes = if gzip {
        let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
        enc.write_all(&raw).and_then(|_| enc.finish()).map_err(|e| Error::io(path, e))?
    } else {
        raw
    };
    crate::io::write_atomic(path, &bytes)
}

/// Writes images given as bytes (`n * rows * cols`).
pub fn write_images(path: &Path, n: usize, rows: usize, cols: usize, pixels: &[u8], gzip: bool) -> Result<()> {
    write_idx(path, &[n, rows, cols], pixels, gzip)
}

/// Writes images given as floats in [0, 1] (clamped, rounded to the nearest byte).
pub fn write_images_f32(path: &Path, n: usize, rows: usize, cols: usize, pixels: &[f32], gzip: bool) -> Result<()> {
    let bytes: Vec<u8> = pixels.iter().map(|&v| to_byte(v)).collect();
    write_images(path, n, rows, cols, &bytes, gzip)
}

/// Writes a label file.
pub fn write_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<()> {
    write_idx(path, &[labels.len()], labels, gzip)
}
