"""Pointwise integer kernels (``interp_int``): ADD/SUB in TFLite's 20-bit (int16: 15-bit) left-shifted
common-scale scheme, MUL with one multiplier, the LUT activations (256-entry, int16: per-value table built from
float32), ReLU/Clip/LeakyRelu by requantisation, PRELU with its two multipliers, a QDQ Div in float (onnxruntime's
meaning), SOFTMAX in float (ONNX: onnxruntime's QLinearSoftmax), and the conversions (Quantize, Dequantize,
Concat, Pad, Resize)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.ir import ops as O
from cnncc.ir.interp_int_ctx import Ctx, kernel, requant
from cnncc.ir.quant import (
    Dequantize,
    Quantize,
    act_range,
    dequantize,
    multipliers,
    qrange,
    quantize,
    rescale,
    round_away,
)


# ---------------------------------------------------------------------------------------------- elementwise
def _float_binary(ctx: Ctx, op, fn, xs) -> np.ndarray:
    vals = [x.astype(np.float32) if np.issubdtype(x.dtype, np.floating) and ctx.tin[i].quant is None
            else dequantize(x, ctx.qin(i)) for i, x in enumerate(xs)]  # a float constant operand stays float
    y = vals[0]
    for v in vals[1:]:
        y = fn(y, v).astype(np.float32)
    q = quantize(y, ctx.qout(), ctx.out_dtype, ctx.rounding)
    lo, hi = act_range(op.act, ctx.qout(), ctx.out_dtype)
    return np.clip(q, lo, hi).astype(ctx.out_dtype)


@kernel(O.Add, O.Sub)
def _addsub(ctx: Ctx, op, *xs):
    if ctx.onnx or len(xs) != 2:
        return [_float_binary(ctx, op, np.add if isinstance(op, O.Add) else np.subtract, xs)]
    q1, q2, qo = ctx.qin(0), ctx.qin(1), ctx.qout()
    left = 15 if ctx.out_dtype == "int16" else 20
    s1, s2, so = np.float32(q1.scale[0]), np.float32(q2.scale[0]), np.float32(qo.scale[0])
    twice = float(np.float32(2) * max(s1, s2))
    m1, sh1 = multipliers([float(s1) / twice])
    m2, sh2 = multipliers([float(s2) / twice])
    mo, sho = multipliers([twice / float(np.float32(1 << left) * so)])
    v1 = rescale((xs[0].astype(np.int64) - q1.zero_point[0]) << left, m1[0], sh1[0])
    v2 = rescale((xs[1].astype(np.int64) - q2.zero_point[0]) << left, m2[0], sh2[0])
    raw = v1 + v2 if isinstance(op, O.Add) else v1 - v2
    y = rescale(raw, mo[0], sho[0]) + qo.zero_point[0]
    lo, hi = act_range(op.act, qo, ctx.out_dtype)
    return [np.clip(y, lo, hi).astype(ctx.out_dtype)]


@kernel(O.Div)
def _div(ctx: Ctx, op, *xs):
    """A quantised Div as its QDQ graph means it (onnxruntime): dequantize, float32 divide, quantize. TFLite's
    int8 DIV has no integer kernel to follow (the exporter writes a Div by a constant as MUL)."""
    if not ctx.onnx:
        raise UnsupportedError.op("Div", ctx.layer.name, "integer reference interpreter (TFLite rounding)")
    return [_float_binary(ctx, op, np.divide, xs)]


@kernel(O.Mul)
def _mul(ctx: Ctx, op, *xs):
    if ctx.onnx or len(xs) != 2:
        return [_float_binary(ctx, op, np.multiply, xs)]
    q1, q2, qo = ctx.qin(0), ctx.qin(1), ctx.qout()
    prod = (xs[0].astype(np.int64) - q1.zero_point[0]) * (xs[1].astype(np.int64) - q2.zero_point[0])
    real = float(np.float32(q1.scale[0]) * np.float32(q2.scale[0]) / np.float32(qo.scale[0]))  # TFLite: float
    return [requant(ctx, prod, real, 0, op.act)]


# ---------------------------------------------------------------------------------------------- activations
def _table(ctx: Ctx, fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """LUT activations (TFLite's; onnxruntime's QLinearSigmoid table alike): every input value dequantised
    (float32), transformed, requantised."""
    qi, qo = ctx.qin(0), ctx.qout()
    lo, hi = qrange(ctx.tin[0].dtype)
    vals = np.arange(lo, hi + 1, dtype=np.int64)
    deq = np.float32(qi.scale[0]) * (vals - qi.zero_point[0]).astype(np.float32)
    f = fn(deq.astype(np.float32)).astype(np.float32)
    if ctx.onnx:  # QuantizeLinear divides by the scale (onnxruntime's QLinearSigmoid table too), half to even
        r = np.rint(f / np.float32(qo.scale[0]))
    else:  # TFLite multiplies by the reciprocal
        r = round_away(f * (np.float32(1.0) / np.float32(qo.scale[0])))
    olo, ohi = qrange(ctx.out_dtype)
    table = np.clip(r.astype(np.int64) + qo.zero_point[0], olo, ohi).astype(ctx.out_dtype)
    return table[x.astype(np.int64) - lo]


_FLOAT_ACTS: dict[type, Callable[[Any, np.ndarray], np.ndarray]] = {
    O.Sigmoid: lambda a, v: np.float32(1) / (np.float32(1) + np.exp(-v)),
    O.Tanh: lambda a, v: np.tanh(v),
    O.HardSwish: lambda a, v: v * np.clip(v + np.float32(3), 0, 6) / np.float32(6),
    O.HardSigmoid: lambda a, v: np.clip(np.float32(a.alpha) * v + np.float32(a.beta), 0, 1),
}


@kernel(O.Sigmoid, O.Tanh, O.HardSwish, O.HardSigmoid)
def _lut_act(ctx: Ctx, op, x):
    fn = _FLOAT_ACTS[type(op)]
    if ctx.onnx and isinstance(op, O.Sigmoid):  # onnxruntime's float Sigmoid is an approximation (ort_float)
        from cnncc.ir.ort_float import logistic

        return [_table(ctx, logistic, x)]
    return [_table(ctx, lambda v: fn(op, v), x)]


@kernel(O.Relu, O.Clip)
def _relu(ctx: Ctx, op, x):
    qi = ctx.qin(0)
    return [requant(ctx, x.astype(np.int64) - qi.zero_point[0], qi.scale[0] / ctx.qout().scale[0], act=op)]


@kernel(O.LeakyRelu)
def _leaky(ctx: Ctx, op: O.LeakyRelu, x):
    qi, qo = ctx.qin(0), ctx.qout()
    v = x.astype(np.int64) - qi.zero_point[0]
    if ctx.onnx:
        return [_table(ctx, lambda f: np.where(f >= 0, f, np.float32(op.alpha) * f), x)]
    mi, si = multipliers([np.float64(qi.scale[0]) / np.float64(qo.scale[0])])
    ma, sa = multipliers([np.float64(qi.scale[0]) * np.float64(np.float32(op.alpha)) / np.float64(qo.scale[0])])
    y = np.where(v >= 0, rescale(v, mi[0], si[0]), rescale(v, ma[0], sa[0])) + qo.zero_point[0]
    lo, hi = qrange(ctx.out_dtype)
    return [np.clip(y, lo, hi).astype(ctx.out_dtype)]


@kernel(O.PRelu)
def _prelu(ctx: Ctx, op: O.PRelu, x, slope):
    """ONNX (QDQ): dequantize, float32 ``x if x >= 0 else slope·x``, quantize (the slope float, or dequantized).
    TFLite PRELU (reference kernel): ``v = x - zx``; ``v ≥ 0``: rescale(v, s_x/s_y), else
    rescale(v·(α - zα), s_x·s_α/s_y) (scales multiplied in float32 as the kernel's Prepare), + zy, clamped;
    α is a per-tensor quantised weight. A float slope in a TFLite-rounded graph computes in float32."""
    qi, qo = ctx.qin(0), ctx.qout()
    qa = ctx.tin[1].quant
    int_alpha = qa is not None and np.issubdtype(slope.dtype, np.integer)
    if ctx.onnx or not int_alpha:
        a = dequantize(slope, qa) if qa is not None and int_alpha else slope.astype(np.float32)
        v = dequantize(x, qi)
        y = np.where(v >= 0, v, v * a).astype(np.float32)
        return [quantize(y, qo, ctx.out_dtype, ctx.rounding)]
    assert qa is not None
    if qa.per_axis:
        raise UnsupportedError(f"layer {ctx.layer.name!r} (PRelu): per-channel quantised alpha has no TFLite "
                               f"integer semantics (PRELU takes one alpha scale)")
    si, sa, so = np.float32(qi.scale[0]), np.float32(qa.scale[0]), np.float32(qo.scale[0])
    m1, s1 = multipliers([float(si / so)])
    m2, s2 = multipliers([float(si * sa / so)])
    v = x.astype(np.int64) - qi.zero_point[0]
    av = slope.astype(np.int64) - qa.zero_point[0]
    y = np.where(v >= 0, rescale(v, m1[0], s1[0]), rescale(v * av, m2[0], s2[0])) + qo.zero_point[0]
    lo, hi = qrange(ctx.out_dtype)
    return [np.clip(y, lo, hi).astype(ctx.out_dtype)]


@kernel(O.Softmax)
def _softmax(ctx: Ctx, op: O.Softmax, x):
    if ctx.onnx:
        return [_qlinear_softmax(ctx, op, x)]
    v = dequantize(x, ctx.qin(0)).astype(np.float64)
    e = np.exp(v - v.max(axis=op.axis, keepdims=True))
    p = (e / e.sum(axis=op.axis, keepdims=True)).astype(np.float32)
    return [quantize(p, ctx.qout(), ctx.out_dtype, ctx.rounding)]


def _qlinear_softmax(ctx: Ctx, op: O.Softmax, x: np.ndarray) -> np.ndarray:
    """A QDQ Softmax as onnxruntime's CPU provider runs it by default (DQ -> Softmax -> Q fused into
    com.microsoft QLinearSoftmax, the same on every CPU; onnxruntime ``contrib_ops/cpu/quantization/
    qlinear_softmax.cc``). Per row along the axis: e_j = float32(exp(((x_j - max) + b)·s_x)) in double, with the
    headroom b = max(0, ln(FLT_MAX/D) - 5)/s_x; their float32 sum taken in order; y_j = round_half_even(
    e_j·floor(1/s_y) / sum) + z_y (1/s_y and its floor in float32), clamped to the output dtype. The input zero
    point cancels; unlike the unfused graph the output scale enters as floor(1/s_y)."""
    sx, qo = ctx.qin(0).scale[0], ctx.qout()
    v = np.moveaxis(x.astype(np.int64), op.axis, -1)
    d = v.shape[-1]
    headroom = max(0.0, float(np.log(np.float64(np.finfo(np.float32).max) / d)) - 5.0) / float(np.float32(sx))
    shift = (v - v.max(axis=-1, keepdims=True)).astype(np.float64)
    e = np.exp((shift + headroom) * float(np.float32(sx))).astype(np.float32)
    total = np.zeros(v.shape[:-1], np.float32)
    for j in range(d):  # a float32 running sum, in order
        total = (total + e[..., j]).astype(np.float32)
    inv = np.floor(np.float32(1.0) / np.float32(qo.scale[0])).astype(np.float32)
    y = np.rint(((e * inv).astype(np.float32) / total[..., None]).astype(np.float32)) + qo.zero_point[0]
    lo, hi = qrange(ctx.out_dtype)
    return np.moveaxis(np.clip(y, lo, hi).astype(ctx.out_dtype), -1, op.axis)


# ---------------------------------------------------------------------------------------------- conversions
@kernel(Quantize)
def _quantize(ctx: Ctx, op: Quantize, x):
    qo = ctx.qout()
    if np.issubdtype(x.dtype, np.floating):
        return [quantize(x, qo, op.dtype, ctx.rounding)]
    qi = ctx.qin(0)
    if ctx.onnx:
        return [quantize(dequantize(x, qi), qo, op.dtype, "onnx")]
    m, s = multipliers([np.float64(qi.scale[0]) / np.float64(qo.scale[0])])
    y = rescale(x.astype(np.int64) - qi.zero_point[0], m[0], s[0]) + qo.zero_point[0]
    lo, hi = qrange(op.dtype)
    return [np.clip(y, lo, hi).astype(op.dtype)]


@kernel(Dequantize)
def _dequantize(ctx: Ctx, op, x):
    if np.issubdtype(x.dtype, np.floating):  # a QDQ graph's tensor onnxruntime keeps float (interp_int)
        return [x.astype(np.float32)]
    return [dequantize(x, ctx.qin(0))]


@kernel(O.Concat)
def _concat(ctx: Ctx, op: O.Concat, *xs):
    qo = ctx.qout()
    parts = []
    for i, x in enumerate(xs):
        qi = ctx.tin[i].quant
        if qi is None or (qi.scale, qi.zero_point) == (qo.scale, qo.zero_point):
            parts.append(x.astype(ctx.out_dtype))
        else:
            parts.append(quantize(dequantize(x, qi), qo, ctx.out_dtype, ctx.rounding))
    return [np.concatenate(parts, axis=op.axis)]


@kernel(O.Pad)
def _pad(ctx: Ctx, op: O.Pad, x):
    from cnncc.ir.interp import KERNELS

    q = ctx.qin(0)
    if op.mode != "constant":
        return KERNELS[O.Pad](op, x)
    v = int(quantize(np.array([op.value], np.float32), q, ctx.tin[0].dtype, ctx.rounding)[0])
    return KERNELS[O.Pad](O.Pad(op.pads, op.mode, v), x)


@kernel(O.Resize)
def _resize(ctx: Ctx, op: O.Resize, x):
    from cnncc.ir.resize import resize

    if op.mode == "nearest":
        return [resize(x, op).astype(x.dtype)]
    if not ctx.onnx and op.coord_mode in ("half_pixel", "asymmetric", "align_corners"):
        from cnncc.ir.resize_int import resize_bilinear_int

        return [resize_bilinear_int(x, op)]
    y = resize(dequantize(x, ctx.qin(0)), op)
    return [quantize(y, ctx.qout(), ctx.out_dtype, ctx.rounding)]

