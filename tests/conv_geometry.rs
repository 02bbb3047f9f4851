//! Conv geometries with an empty output (a kernel larger than the padded input, stride 0,
//! dilation 0, padding that swallows a transposed conv's output) are shape errors naming
//! the op and its sizes, on either axis, never a panic or a zero-sized kernel call.

use autoenc::autodiff::ops::{self, ConvParams};
use autoenc::autodiff::Tape;
use autoenc::{CpuBackend, Error, Tensor};

fn tensor(b: &CpuBackend, dims: &[usize]) -> Tensor<CpuBackend> {
    let n = dims.iter().product();
    Tensor::from_slice(b, dims.to_vec(), &vec![0.5; n], "test values").unwrap()
}

/// conv2d of a `[1, 2, 5, 7]` image with a `[3, 2, kh, kw]` kernel: the error text.
fn conv2d_error(kernel: (usize, usize), p: ConvParams) -> Option<String> {
    let b = CpuBackend::new();
    let t = Tape::new(&b);
    let x = t.constant(&tensor(&b, &[1, 2, 5, 7]));
    let w = t.param(&tensor(&b, &[3, 2, kernel.0, kernel.1]));
    let bias = t.param(&tensor(&b, &[3]));
    match ops::conv2d(&t, x, w, bias, p) {
        Ok(_) => None,
        Err(Error::Shape(m)) => Some(m),
        Err(e) => panic!("not a shape error: {e}"),
    }
}

fn conv_transpose2d_error(kernel: (usize, usize), p: ConvParams) -> Option<String> {
    let b = CpuBackend::new();
    let t = Tape::new(&b);
    let x = t.constant(&tensor(&b, &[1, 2, 3, 4]));
    let w = t.param(&tensor(&b, &[2, 3, kernel.0, kernel.1]));
    let bias = t.param(&tensor(&b, &[3]));
    match ops::conv_transpose2d(&t, x, w, bias, p) {
        Ok(_) => None,
        Err(Error::Shape(m)) => Some(m),
        Err(e) => panic!("not a shape error: {e}"),
    }
}

#[test]
fn conv2d_rejects_every_empty_geometry_by_name() {
    let same = ConvParams::square(1, 1, 1, 0);
    assert_eq!(conv2d_error((3, 3), same), None);
    let cases = [
        ((8, 3), same, "exceeds padded input height"), // 8 > 5 + 2
        ((3, 10), same, "exceeds padded input width"), // 10 > 7 + 2
        ((3, 3), ConvParams { stride: (1, 0), ..same }, "at least 1"),
        ((3, 3), ConvParams { stride: (0, 1), ..same }, "at least 1"),
        ((3, 3), ConvParams { dilation: (0, 1), ..same }, "at least 1"),
        ((3, 3), ConvParams { dilation: (1, 5), padding: (1, 0), ..same }, "exceeds padded input width"),
        ((6, 3), ConvParams { padding: (0, 1), ..same }, "exceeds padded input height"),
    ];
    for (kernel, p, want) in cases {
        let m = conv2d_error(kernel, p).unwrap_or_else(|| panic!("{kernel:?} {p:?} was accepted"));
        assert!(m.starts_with("conv2d: x [1x2x5x7] W [3x2x"), "{m}");
        assert!(m.contains(want), "{kernel:?} {p:?}: {m}");
    }
    // Padding on one axis makes room on that axis only.
    assert_eq!(conv2d_error((6, 3), ConvParams { padding: (1, 0), ..same }), None);
}

#[test]
fn conv_transpose2d_rejects_every_empty_geometry_by_name() {
    let up = ConvParams::square(2, 1, 1, 1);
    assert_eq!(conv_transpose2d_error((3, 3), up), None);
    let cases = [
        ((3, 3), ConvParams { stride: (0, 2), ..up }, "at least 1"),
        ((3, 3), ConvParams { stride: (2, 0), output_padding: (1, 0), ..up }, "at least 1"),
        ((3, 3), ConvParams { dilation: (1, 0), ..up }, "at least 1"),
        ((3, 3), ConvParams { output_padding: (1, 2), ..up }, "output_padding"),
        // OW = (4-1)*1 + 1 + 0 + 1 - 2*3 = -1.
        ((1, 2), ConvParams { stride: (1, 1), padding: (0, 3), output_padding: (0, 0), ..up }, "empty output"),
        ((3, 0), up, "at least 1"),
    ];
    for (kernel, p, want) in cases {
        let m = conv_transpose2d_error(kernel, p).unwrap_or_else(|| panic!("{kernel:?} {p:?} was accepted"));
        assert!(m.starts_with("conv_transpose2d: "), "{m}");
        assert!(m.contains(want), "{kernel:?} {p:?}: {m}");
    }
}
