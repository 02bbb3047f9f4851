//! Codes with their labels as a table: CSV (`label,z0,z1,...`, one row per image) or NumPy
//! `.npy` (float32, shape `(n, 1 + k)`, column 0 the label), chosen by the file extension.

use crate::error::{Error, Result};
use std::path::Path;

/// The bytes of `n` codes of `k` values each, with their labels, in the format `path`'s
/// extension names (`.csv` or `.npy`).
pub fn codes_table(path: &Path, codes: &[f32], labels: &[u8], k: usize) -> Result<Vec<u8>> {
    let n = labels.len();
    if codes.len() != n * k {
        return Err(Error::Shape(format!("{} code values are not {n} codes of {k}", codes.len())));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => Ok(csv(codes, labels, k).into_bytes()),
        Some("npy") => Ok(npy(codes, labels, k)),
        _ => Err(Error::Config(format!("{}: --out must end in .csv or .npy", path.display()))),
    }
}

fn csv(codes: &[f32], labels: &[u8], k: usize) -> String {
    let mut s = String::from("label");
    for j in 0..k {
        s.push_str(&format!(",z{j}"));
    }
    s.push('\n');
    for (row, &label) in codes.chunks_exact(k.max(1)).zip(labels) {
        s.push_str(&label.to_string());
        for v in row {
            // `{}` on f32 is the shortest decimal that reads back to the same value.
            s.push_str(&format!(",{v}"));
        }
        s.push('\n');
    }
    s
}

/// NPY version 1.0: magic, header length, a Python dict literal padded to 64 bytes, data.
fn npy(codes: &[f32], labels: &[u8], k: usize) -> Vec<u8> {
    let n = labels.len();
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {}), }}", k + 1);
    let unpadded = 10 + dict.len() + 1;
    let header = format!("{dict}{}\n", " ".repeat(unpadded.next_multiple_of(64) - unpadded));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for (row, &label) in codes.chunks_exact(k.max(1)).zip(labels) {
        out.extend((label as f32).to_le_bytes());
        for v in row {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_one_row_per_code() {
        let t = codes_table(Path::new("c.csv"), &[0.5, -1.0, 2.0, 0.25], &[3, 7], 2).unwrap();
        assert_eq!(String::from_utf8(t).unwrap(), "label,z0,z1\n3,0.5,-1\n7,2,0.25\n");
    }

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let t = codes_table(Path::new("c.npy"), &[0.5, -1.0], &[4], 2).unwrap();
        assert_eq!(&t[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([t[8], t[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&t[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (1, 3)"), "{header}");
        let vals: Vec<f32> =
            t[10 + hlen..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(vals, [4.0, 0.5, -1.0]);
    }

    #[test]
    fn other_extensions_are_refused() {
        let e = codes_table(Path::new("c.txt"), &[], &[], 2).unwrap_err().to_string();
        assert!(e.contains(".csv or .npy"), "{e}");
    }
}
