//! PNG grids of grayscale images (inputs, reconstructions, interpolations).
//!
//! Layout: grid row `r` shows the images concatenated in `rows[r]`, left to right, each
//! `h x w` values in [0, 1] (clamped; NaN shows black), magnified `scale` times by pixel
//! repetition. Cells are separated (and framed) by 1-pixel gray lines; a row with fewer
//! than `images_per_row` images leaves its remaining cells gray.
//!
//! Typical use: `write_grid(path, &[originals, reconstructions], 10, 28, 28, 2)` gives a
//! two-row "input above output" strip.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::error::{Error, Result};
use crate::io::write_atomic;

/// Value of separator lines and empty cells: mid-gray shows against black and white digits.
const SEPARATOR: u8 = 128;

/// An 8-bit grayscale image, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Lays out the grid (see the module docs). Errors when a row holds more than
/// `images_per_row` images or a length that is not a multiple of `h * w`, or a size is 0.
pub fn grid_image(rows: &[Vec<f32>], images_per_row: usize, h: usize, w: usize, scale: usize) -> Result<GrayImage> {
    if images_per_row == 0 || h == 0 || w == 0 || scale == 0 || rows.is_empty() {
        return Err(Error::Shape(format!(
            "image grid: {} rows, {images_per_row} images per row, {h}x{w} images, scale {scale}: all must be >= 1",
            rows.len()
        )));
    }
    let dim = h * w;
    for (r, row) in rows.iter().enumerate() {
        if row.len() % dim != 0 || row.len() / dim > images_per_row {
            return Err(Error::Shape(format!(
                "image grid: row {r} has {} values, not at most {images_per_row} images of {h}x{w}",
                row.len()
            )));
        }
    }
    let (cell_h, cell_w) = (h * scale, w * scale);
    let width = images_per_row * (cell_w + 1) + 1;
    let height = rows.len() * (cell_h + 1) + 1;
    let mut pixels = vec![SEPARATOR; width * height];
    for (r, row) in rows.iter().enumerate() {
        for (k, img) in row.chunks_exact(dim).enumerate() {
            let (top, left) = (1 + r * (cell_h + 1), 1 + k * (cell_w + 1));
            for y in 0..cell_h {
                let src = &img[(y / scale) * w..(y / scale + 1) * w];
                let dst = &mut pixels[(top + y) * width + left..][..cell_w];
                for (x, p) in dst.iter_mut().enumerate() {
                    *p = to_byte(src[x / scale]);
                }
            }
        }
    }
    Ok(GrayImage { width, height, pixels })
}

/// Encodes a grayscale image as PNG bytes.
pub fn encode_png(img: &GrayImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&img.pixels, img.width as u32, img.height as u32, ExtendedColorType::L8)
        .map_err(|e| Error::Shape(format!("PNG encoding of a {}x{} image: {e}", img.width, img.height)))?;
    Ok(out)
}

/// Writes the grid as a grayscale PNG, atomically (temp file in the same folder + rename).
pub fn write_grid(
    path: &Path,
    rows: &[Vec<f32>],
    images_per_row: usize,
    h: usize,
    w: usize,
    scale: usize,
) -> Result<()> {
    let img = grid_image(rows, images_per_row, h, w, scale)?;
    write_atomic(path, &encode_png(&img)?)
}

/// Writes `images` (concatenated `h x w` images) as a grid `images_per_row` wide, filling
/// rows in order: the flat-list form of [`write_grid`].
pub fn write_tiled(path: &Path, images: &[f32], images_per_row: usize, h: usize, w: usize, scale: usize) -> Result<()> {
    let row_len = images_per_row.max(1) * h * w;
    if row_len == 0 {
        return Err(Error::Shape(format!("image grid: {h}x{w} images must not be empty")));
    }
    let rows: Vec<Vec<f32>> = images.chunks(row_len).map(<[f32]>::to_vec).collect();
    write_grid(path, &rows, images_per_row, h, w, scale)
}

/// [0, 1] float to the nearest byte, clamped; NaN maps to 0.
pub fn to_byte(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}
