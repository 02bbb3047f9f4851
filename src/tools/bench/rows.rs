//! The rows of `autoenc bench` besides matmul: the memory-bound kernels and the conv layers.

use super::conv::{conv_ae_layers, ConvBench};
use super::timer::Timer;
use super::{ramp, Measure, Work};
use crate::backend::prelude::*;
use crate::backend::{Activation, AdamParams, Loss};
use crate::error::Result;

/// Copies the first `len` values of one buffer into another (the bandwidth probe).
pub(super) type CopyFn<'a, B> = dyn Fn(&<B as Core>::Buf, &<B as Core>::Buf, usize) -> Result<()> + 'a;

/// Memory-bound kernels over `s*s` elements; `copy` runs the copy that sets the
/// bandwidth roofline.
pub(super) fn memory_kernels<B: Backend>(b: &B, s: usize, timer: &mut Timer, copy: &CopyFn<B>) -> Result<Vec<Measure>> {
    let len = s * s;
    let f = 4.0 * len as f64; // bytes of one f32 pass over the data
    let x = b.upload(&ramp(len, 2.0), "bench x")?;
    let y = b.upload(&ramp(len, 0.5), "bench y")?;
    let z = b.upload(&ramp(len, 1.0), "bench z")?;
    let w = b.upload(&ramp(len, 0.1), "bench w")?;
    let out = b.zeros(len, "bench out")?;
    let scalar = b.upload(&[1.0], "bench scalar")?;
    let bias = b.upload(&ramp(s, 1.0), "bench bias")?;
    let size = format!("{len}");
    let mut v = Vec::new();
    let mut m = |name: &str, bytes: f64, op: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let secs = timer(op)?;
        v.push(Measure { kernel: name.into(), size: size.clone(), secs, work: Work::Bytes(bytes) });
        Ok(())
    };
    m("copy", 2.0 * f, &mut || copy(&x, &out, len))?;
    m("add", 3.0 * f, &mut || b.add(&x, &y, &out, len))?;
    m("axpy", 3.0 * f, &mut || b.axpy(0.5, &x, &out, len))?;
    m("scale", 2.0 * f, &mut || b.scale(&x, 0.5, &out, len))?;
    m("sum_all", f, &mut || b.sum_all(&x, &scalar, len))?;
    m("bias_add", 2.0 * f, &mut || b.bias_add(&x, &bias, &out, s, s, 1))?;
    m("bias_grad", f, &mut || b.bias_grad(&x, &bias, s, s, 1, false))?;
    m("sigmoid fwd", 2.0 * f, &mut || b.activation_forward(Activation::Sigmoid, &x, &out, len))?;
    m("sigmoid bwd", 3.0 * f, &mut || b.activation_backward(Activation::Sigmoid, &x, &y, &z, &out, len))?;
    m("relu bwd", 3.0 * f, &mut || b.activation_backward(Activation::Relu, &x, &y, &z, &out, len))?;
    m("mse fwd", 2.0 * f, &mut || b.loss_forward(Loss::Mse, &x, &y, &scalar, s, s))?;
    m("bce bwd", 3.0 * f, &mut || b.loss_backward(Loss::Bce, &y, &z, &scalar, &out, s, s))?;
    let adam = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 1 };
    // Adam reads param, grad, m, v and writes param, m, v.
    m("adam", 7.0 * f, &mut || b.adam_update(&out, &x, &z, &w, len, adam))?;
    Ok(v)
}

/// conv2d / conv_transpose2d forward and backward rows at every conv-AE layer.
pub(super) fn conv_kernels<B: Backend>(b: &B, batch: usize, timer: &mut Timer) -> Result<Vec<Measure>> {
    let mut v = Vec::new();
    for layer in conv_ae_layers(batch) {
        let c = ConvBench::new(b, layer)?;
        let op = if layer.transposed { "convT" } else { "conv2d" };
        let size = format!("{} [{}]", layer.label(), c.algorithm());
        let flops = layer.flops();
        let secs = timer(&mut || c.forward())?;
        v.push(Measure {
            kernel: format!("{op} {} fwd", layer.name),
            size: size.clone(),
            secs,
            work: Work::Flops(flops),
        });
        let secs = timer(&mut || c.backward())?;
        v.push(Measure { kernel: format!("{op} {} bwd", layer.name), size, secs, work: Work::Flops(2.0 * flops) });
    }
    Ok(v)
}
