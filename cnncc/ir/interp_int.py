"""Integer reference interpreter: what a quantised layer computes (TFLite's integer kernel semantics).

Activations are integer arrays (int8/uint8/int16) read as ``real = s·(q - zp)``; weights are the model's own
integers. Reductions (Conv, depthwise, transposed conv, Gemm, MatMul) accumulate ``Σ (x - zx)·(w - zw) + bias``
exactly, then rescale by ``s_x·s_w[k]/s_y`` as a Q0.31 multiplier and shift (int8: TFLite's double rounding; int16
activations: the int64 single-rounding variant), add ``zy`` and clamp to the fused activation's integer range.
ADD/SUB follow TFLite's 20-bit (int16: 15-bit) left-shifted common-scale scheme, MUL one multiplier, pooling keeps
the input quantisation (average: round half away from zero over the valid taps), LOGISTIC/TANH/HARD_SWISH use
the 256-entry (int16: per-value) table TFLite builds from float, SOFTMAX computes in float and quantises.
Graphs read from ONNX (``meta["quant_rounding"] == "onnx"``) requantise like onnxruntime instead: float32
multiply, round half to even. Layers without any quantised tensor run the float kernels of ``interp``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer
from cnncc.ir.quant import (
    Dequantize,
    Quantize,
    act_range,
    dequantize,
    multipliers,
    qrange,
    quantize,
    rescale,
    rescale64,
    rescale_float,
    round_away,
)
from cnncc.ir.types import QuantParams, TensorType

INT_KERNELS: dict[type, Callable] = {}


def kernel(*classes):
    def deco(fn):
        for c in classes:
            INT_KERNELS[c] = fn
        return fn

    return deco


class Ctx:
    """The layer being run: its tensor types (with QuantParams) and the graph's rounding rule."""

    def __init__(self, graph: Graph, layer: Layer, rounding: str):
        self.graph, self.layer, self.rounding = graph, layer, rounding
        self.tin = [graph.type_of(t) for t in layer.inputs]
        self.tout = [graph.type_of(t) for t in layer.outputs]

    @property
    def onnx(self) -> bool:
        return self.rounding == "onnx"

    def qin(self, i: int) -> QuantParams:
        q = self.tin[i].quant
        if q is None:
            raise UnsupportedError(f"layer {self.layer.name!r} ({self.layer.kind}): input {self.layer.inputs[i]!r} "
                                   f"has no quantisation parameters (a quantised layer needs them)")
        return q

    def qout(self, i: int = 0) -> QuantParams:
        q = self.tout[i].quant
        if q is None:
            raise UnsupportedError(f"layer {self.layer.name!r} ({self.layer.kind}): output has no quantisation")
        return q

    @property
    def out_dtype(self) -> str:
        return self.tout[0].dtype


def _zp(q: QuantParams, ndim: int, axis_default: int = 0) -> np.ndarray:
    z = np.asarray(q.zero_point, np.int64)
    if q.axis is None:
        return z.reshape(())
    shape = [1] * ndim
    shape[q.axis] = -1
    return z.reshape(shape)


def requant(ctx: Ctx, acc: np.ndarray, real, channel_axis: int = 1, act=None) -> np.ndarray:
    """acc (int64, exact) -> output integers: rescale by ``real`` (scalar or per-channel along
    ``channel_axis``), add the output zero point, clamp to the activation range."""
    qo = ctx.qout()
    real = np.atleast_1d(np.asarray(real, np.float64))
    shape = [1] * acc.ndim
    if real.size > 1:
        shape[channel_axis] = -1
    if ctx.onnx:
        y = rescale_float(acc, real.reshape(shape))
    else:
        m, s = multipliers(real)
        fn = rescale64 if ctx.tin[0].dtype == "int16" else rescale
        y = fn(acc, m.reshape(shape), s.reshape(shape))
    lo, hi = act_range(act, qo, ctx.out_dtype)
    return np.clip(y + qo.zero_point[0], lo, hi).astype(ctx.out_dtype)


def _scales(q: QuantParams) -> np.ndarray:
    return np.asarray(q.scale, np.float64)


# ---------------------------------------------------------------------------------------------- reductions
@kernel(O.Conv)
def _conv(ctx: Ctx, op: O.Conv, x, w, b=None):
    from cnncc.ir.interp import windows

    qx, qw = ctx.qin(0), ctx.qin(1)
    xs = (x.astype(np.int64) - qx.zero_point[0]).astype(np.float64)
    ws = (w.astype(np.int64) - _zp(qw, w.ndim)).astype(np.float64)
    n, c = x.shape[:2]
    k, g = w.shape[0], op.groups
    win = windows(xs, op.kernel, op.strides, op.dilations, op.pads)
    oy, ox = win.shape[2:4]
    win = win.reshape(n, g, c // g, oy, ox, op.kernel[0], op.kernel[1])
    wg = ws.reshape(g, k // g, c // g, op.kernel[0], op.kernel[1])
    acc = np.einsum("ngcyxij,gkcij->ngkyx", win, wg, optimize=True).reshape(n, k, oy, ox)
    acc = np.rint(acc).astype(np.int64)
    if b is not None:
        acc = acc + b.astype(np.int64).reshape(1, k, 1, 1)
    real = qx.scale[0] * _scales(qw) / ctx.qout().scale[0]
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.ConvTranspose)
def _convt(ctx: Ctx, op: O.ConvTranspose, x, w, b=None):
    qx, qw = ctx.qin(0), ctx.qin(1)
    xs = (x.astype(np.int64) - qx.zero_point[0]).astype(np.float64)
    ws = (w.astype(np.int64) - _zp(qw, w.ndim)).astype(np.float64)
    n, c, h, wd = x.shape
    fy, fx = op.kernel
    sy, sx = op.strides
    kk = w.shape[1]
    full_h = (h - 1) * sy + fy + op.output_padding[0]
    full_w = (wd - 1) * sx + fx + op.output_padding[1]
    acc = np.zeros((n, kk, full_h, full_w), np.float64)
    contrib = np.einsum("nchw,ckij->nkijhw", xs, ws)
    for i in range(fy):
        for j in range(fx):
            acc[:, :, i:i + (h - 1) * sy + 1:sy, j:j + (wd - 1) * sx + 1:sx] += contrib[:, :, i, j]
    t, lf, bt, r = op.pads
    acc = np.rint(acc[:, :, t:full_h - bt, lf:full_w - r]).astype(np.int64)
    if b is not None:
        acc = acc + b.astype(np.int64).reshape(1, kk, 1, 1)
    real = qx.scale[0] * _scales(qw) / ctx.qout().scale[0]
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.Gemm)
def _gemm(ctx: Ctx, op: O.Gemm, a, bm, c=None):
    qa, qb = ctx.qin(0), ctx.qin(1)
    av = (a.astype(np.int64) - qa.zero_point[0]).astype(np.float64)
    bv = (bm.astype(np.int64) - _zp(qb, bm.ndim)).astype(np.float64)
    av = av.T if op.trans_a else av
    bv = bv.T if op.trans_b else bv
    acc = np.rint(av @ bv).astype(np.int64)
    if c is not None:
        acc = acc + c.astype(np.int64).reshape(1, -1)
    real = qa.scale[0] * _scales(qb) / ctx.qout().scale[0]  # TFLite: double(s_in)·double(s_w)/double(s_out)
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.MatMul)
def _matmul(ctx: Ctx, op: O.MatMul, a, bm):
    qa, qb = ctx.qin(0), ctx.qin(1)
    av = (a.astype(np.int64) - qa.zero_point[0]).astype(np.float64)
    bv = (bm.astype(np.int64) - _zp(qb, bm.ndim)).astype(np.float64)
    acc = np.rint(np.matmul(av, bv)).astype(np.int64)
    real = qa.scale[0] * _scales(qb) / ctx.qout().scale[0]
    return [requant(ctx, acc, real, acc.ndim - 1, op.act)]


# ---------------------------------------------------------------------------------------------- elementwise
def _float_binary(ctx: Ctx, op, fn, xs) -> np.ndarray:
    vals = [dequantize(x, ctx.qin(i)).astype(np.float32) for i, x in enumerate(xs)]
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


@kernel(O.Mul)
def _mul(ctx: Ctx, op, *xs):
    if ctx.onnx or len(xs) != 2:
        return [_float_binary(ctx, op, np.multiply, xs)]
    q1, q2, qo = ctx.qin(0), ctx.qin(1), ctx.qout()
    prod = (xs[0].astype(np.int64) - q1.zero_point[0]) * (xs[1].astype(np.int64) - q2.zero_point[0])
    real = float(np.float32(q1.scale[0]) * np.float32(q2.scale[0]) / np.float32(qo.scale[0]))  # TFLite: float
    return [requant(ctx, prod, real, 0, op.act)]


# ---------------------------------------------------------------------------------------------- pooling
@kernel(O.MaxPool)
def _maxpool(ctx: Ctx, op: O.MaxPool, x):
    from cnncc.ir.interp import windows

    lo = qrange(ctx.tin[0].dtype)[0]
    y = windows(x.astype(np.int64), op.kernel, op.strides, op.dilations, op.pads, lo).max(axis=(4, 5))
    return [_same_quant(ctx, y)]


@kernel(O.AveragePool)
def _avgpool(ctx: Ctx, op: O.AveragePool, x):
    from cnncc.ir.interp import windows

    xi = x.astype(np.int64)
    s = windows(xi, op.kernel, op.strides, op.dilations, op.pads, 0).sum(axis=(4, 5))
    cnt = windows(np.ones((1, 1) + x.shape[2:], np.int64), op.kernel, op.strides, op.dilations, op.pads,
                  0).sum(axis=(4, 5))
    if op.count_include_pad:
        cnt = np.full_like(cnt, op.kernel[0] * op.kernel[1])
    if ctx.onnx:  # onnxruntime runs DQ -> float AveragePool -> Q: emulate it in float32, taps summed in order
        deq = dequantize(x, ctx.qin(0))
        win = windows(deq, op.kernel, op.strides, op.dilations, op.pads, np.nan)
        acc = np.zeros(win.shape[:4], np.float32)
        for i in range(win.shape[4]):
            for j in range(win.shape[5]):
                v = win[..., i, j]
                acc = np.where(np.isnan(v), acc, acc + np.nan_to_num(v)).astype(np.float32)
        qo = ctx.qout()
        v = np.rint((acc / cnt.astype(np.float32)) / np.float32(qo.scale[0]) + np.float32(qo.zero_point[0]))
        return [np.clip(v, *qrange(ctx.out_dtype)).astype(ctx.out_dtype)]  # QLinearAveragePool: zp added first
    y = np.where(s > 0, (s + cnt // 2) // cnt, -((-s + cnt // 2) // cnt))
    return [_same_quant(ctx, y)]


def _same_quant(ctx: Ctx, y: np.ndarray) -> np.ndarray:
    """Window ops that keep the input quantisation; requantise if the output's differs."""
    qi, qo = ctx.qin(0), ctx.qout()
    if (qi.scale, qi.zero_point) != (qo.scale, qo.zero_point):
        return requant(ctx, y - qi.zero_point[0], qi.scale[0] / qo.scale[0])
    lo, hi = qrange(ctx.out_dtype)
    return np.clip(y, lo, hi).astype(ctx.out_dtype)


@kernel(O.GlobalAveragePool)
def _gap(ctx: Ctx, op, x):
    qx = ctx.qin(0)
    n = int(np.prod(x.shape[2:]))
    s = (x.astype(np.int64) - qx.zero_point[0]).sum(axis=tuple(range(2, x.ndim)), keepdims=True)
    return [requant(ctx, s, qx.scale[0] / (ctx.qout().scale[0] * n))]


@kernel(O.ReduceMean)
def _mean(ctx: Ctx, op: O.ReduceMean, x):
    qx, qo = ctx.qin(0), ctx.qout()
    axes = tuple(a % x.ndim for a in op.axes) if op.axes else tuple(range(x.ndim))
    n = int(np.prod([x.shape[a] for a in axes]))
    s = (x.astype(np.int64) - qx.zero_point[0]).sum(axis=axes, keepdims=op.keepdims)
    if ctx.onnx:
        return [requant(ctx, s, qx.scale[0] / (qo.scale[0] * n))]
    m, sh = multipliers([np.float64(np.float32(qx.scale[0])) / np.float64(np.float32(qo.scale[0]))])
    v = rescale(s, m[0], sh[0])
    v = np.where(v > 0, (v + n // 2) // n, -((-v + n // 2) // n))
    lo, hi = qrange(ctx.out_dtype)
    return [np.clip(v + qo.zero_point[0], lo, hi).astype(ctx.out_dtype)]


# ---------------------------------------------------------------------------------------------- activations
def _table(ctx: Ctx, fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """TFLite's LUT activations: every input value dequantised (float32), transformed, requantised."""
    qi, qo = ctx.qin(0), ctx.qout()
    lo, hi = qrange(ctx.tin[0].dtype)
    vals = np.arange(lo, hi + 1, dtype=np.int64)
    deq = np.float32(qi.scale[0]) * (vals - qi.zero_point[0]).astype(np.float32)
    f = fn(deq.astype(np.float32)).astype(np.float32)
    inv = np.float32(1.0) / np.float32(qo.scale[0])
    r = np.rint(f * inv) if ctx.onnx else round_away(f * inv)
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


@kernel(O.Softmax)
def _softmax(ctx: Ctx, op: O.Softmax, x):
    v = dequantize(x, ctx.qin(0)).astype(np.float64)
    e = np.exp(v - v.max(axis=op.axis, keepdims=True))
    p = (e / e.sum(axis=op.axis, keepdims=True)).astype(np.float32)
    return [quantize(p, ctx.qout(), ctx.out_dtype, ctx.rounding)]


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


_MOVES = (O.Reshape, O.Flatten, O.Transpose, O.Slice, O.Split, O.Identity)


def run_layer(ctx: Ctx, args: list[np.ndarray]) -> list[np.ndarray]:
    from cnncc.ir.interp import run_layer as run_float

    layer = ctx.layer
    if not any(t.quant is not None for t in ctx.tin + ctx.tout):
        return run_float(layer, args)
    if isinstance(layer.op, _MOVES):
        return run_float(layer, args)
    fn = INT_KERNELS.get(type(layer.op))
    if fn is None:
        raise UnsupportedError.op(layer.kind, layer.name, "integer reference interpreter")
    return fn(ctx, layer.op, *args)


def run(graph: Graph, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None,
        keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run a quantised ``graph``: ``feeds`` are the integer (or, before a Quantize, float) input arrays."""
    rounding = graph.meta.get("quant_rounding", "tflite")
    env: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        if name not in feeds:
            raise InvalidModelError(f"missing value for graph input {name!r}")
        a = np.asarray(feeds[name])
        ty: TensorType = graph.types[name]
        if tuple(a.shape) != ty.shape:
            raise InvalidModelError(f"input {name!r} has shape {a.shape}, expected {ty.shape}")
        env[name] = a.astype(ty.dtype) if ty.quant is not None else a
    wt = dict(graph.weights)
    for layer in graph.layers:
        args = [env[t] if t in env else wt[t] for t in layer.inputs]
        for t, v in zip(layer.outputs, run_layer(Ctx(graph, layer, rounding), args)):
            env[t] = v
    if keep_all:
        return env
    return {k: env[k] for k in (outputs or graph.outputs)}
