//! Bias add, bias gradient, sums and elementwise arithmetic.

/// `out[o,c,i] = x[o,c,i] + bias[c]` over `[outer, channels, inner]`.
pub fn bias_add(x: &[f32], bias: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize) {
    let _ = (x, bias, out, outer, channels, inner);
    todo!()
}

/// `out[c] (+)= sum_{o,i} dy[o,c,i]`.
pub fn bias_grad(dy: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize, accumulate: bool) {
    let _ = (dy, out, outer, channels, inner, accumulate);
    todo!()
}

/// Sum of all elements.
pub fn sum_all(x: &[f32]) -> f32 {
    let _ = x;
    todo!()
}

pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    let _ = (a, b, out);
    todo!()
}

pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    let _ = (a, b, out);
    todo!()
}

/// `out = alpha * x`.
pub fn scale(x: &[f32], alpha: f32, out: &mut [f32]) {
    let _ = (x, alpha, out);
    todo!()
}

/// `y += alpha * x`.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let _ = (alpha, x, y);
    todo!()
}
