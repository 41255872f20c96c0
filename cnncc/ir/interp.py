"""Numpy reference interpreter: defines what every IR op computes.

Floating-point graphs run in float32 (accumulating convolutions in float64 for a stable reference).
When the feeds and the weights are integer arrays, Conv/Gemm/MatMul/Add/Sub/Mul compute in int64 and wrap the
result to int32 — the two's-complement semantics of 32-bit integer hardware (used by the CGRA bit-exact check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

KERNELS: dict[type, Callable] = {}


def kernel(*classes):
    def deco(fn):
        for c in classes:
            KERNELS[c] = fn
        return fn

    return deco


def _is_int(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer)


def _wrap32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.int64).astype(np.int32)


def _finish(op, y: np.ndarray, integer: bool) -> np.ndarray:
    act = getattr(op, "act", None)
    if integer:
        y = _wrap32(y)
        return apply_act(act, y) if act is not None else y
    y = y.astype(np.float32)
    return apply_act(act, y) if act is not None else y


def apply_act(act: O.Activation, x: np.ndarray) -> np.ndarray:
    """Apply an activation record to an array (dtype kept)."""
    if isinstance(act, O.Relu):
        return np.maximum(x, 0).astype(x.dtype)
    if isinstance(act, O.Clip):
        lo = None if act.lo == -np.inf else act.lo
        hi = None if act.hi == np.inf else act.hi
        if _is_int(x):
            lo = None if lo is None else int(np.ceil(lo))
            hi = None if hi is None else int(np.floor(hi))
        return np.clip(x, lo, hi).astype(x.dtype)
    if _is_int(x):
        raise UnsupportedError(f"activation {act.kind} has no integer semantics")
    if isinstance(act, O.Sigmoid):
        return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(x.dtype)
    if isinstance(act, O.Tanh):
        return np.tanh(x)
    if isinstance(act, O.HardSigmoid):
        return np.clip(act.alpha * x + act.beta, 0, 1).astype(x.dtype)
    if isinstance(act, O.HardSwish):
        return (x * np.clip(x / 6.0 + 0.5, 0, 1)).astype(x.dtype)
    if isinstance(act, O.LeakyRelu):
        return np.where(x >= 0, x, act.alpha * x).astype(x.dtype)
    raise UnsupportedError(f"activation {act.kind} has no reference implementation")


@kernel(O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSigmoid, O.HardSwish, O.LeakyRelu)
def _act(op, x):
    return [apply_act(op, x)]


def _pad4(x: np.ndarray, pads, value=0) -> np.ndarray:
    t, l, b, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def windows(x: np.ndarray, kernel_hw, strides, dilations, pads, value=0) -> np.ndarray:
    """Sliding windows of a padded NCHW tensor: [N, C, OY, OX, FY, FX]."""
    fy, fx = kernel_hw
    dy, dx = dilations
    xp = _pad4(x, pads, value)
    ey, ex = dy * (fy - 1) + 1, dx * (fx - 1) + 1
    w = sliding_window_view(xp, (ey, ex), axis=(2, 3))[:, :, ::strides[0], ::strides[1], ::dy, ::dx]
    return w


@kernel(O.Conv)
def _conv(op: O.Conv, x, w, b=None):
    integer = _is_int(x) and _is_int(w)
    acc = np.int64 if integer else np.float64
    n, c, _, _ = x.shape
    k = w.shape[0]
    g = op.groups
    win = windows(x.astype(acc), op.kernel, op.strides, op.dilations, op.pads)  # N C OY OX FY FX
    oy, ox = win.shape[2], win.shape[3]
    cg, kg = c // g, k // g
    win = win.reshape(n, g, cg, oy, ox, op.kernel[0], op.kernel[1])
    wg = w.astype(acc).reshape(g, kg, cg, op.kernel[0], op.kernel[1])
    y = np.einsum("ngcyxij,gkcij->ngkyx", win, wg, optimize=True).reshape(n, k, oy, ox)
    if b is not None:
        y = y + b.astype(acc).reshape(1, k, 1, 1)
    return [_finish(op, y, integer)]


@kernel(O.ConvTranspose)
def _convt(op: O.ConvTranspose, x, w, b=None):
    n, c, h, wd = x.shape
    g = op.groups
    kg = w.shape[1]
    k = kg * g
    fy, fx = op.kernel
    sy, sx = op.strides
    dy, dx = op.dilations
    full_h = (h - 1) * sy + dy * (fy - 1) + 1 + op.output_padding[0]
    full_w = (wd - 1) * sx + dx * (fx - 1) + 1 + op.output_padding[1]
    y = np.zeros((n, k, full_h, full_w), np.float64)
    cg = c // g
    for gi in range(g):
        xs = x[:, gi * cg:(gi + 1) * cg].astype(np.float64)
        ws = w[gi * cg:(gi + 1) * cg].astype(np.float64)  # [cg, kg, fy, fx]
        contrib = np.einsum("nchw,ckij->nkijhw", xs, ws)
        for i in range(fy):
            for j in range(fx):
                y[:, gi * kg:(gi + 1) * kg, i * dy:i * dy + (h - 1) * sy + 1:sy,
                  j * dx:j * dx + (wd - 1) * sx + 1:sx] += contrib[:, :, i, j]
    t, l, bt, r = op.pads
    y = y[:, :, t:full_h - bt, l:full_w - r]
    if b is not None:
        y = y + b.reshape(1, k, 1, 1)
    return [_finish(op, y, False)]


@kernel(O.Im2col)
def _im2col(op: O.Im2col, x):
    win = windows(x, op.kernel, op.strides, op.dilations, op.pads)  # N C OY OX FY FX
    n, c, oy, ox, fy, fx = win.shape
    if op.layout == "chw":
        out = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * fy * fx, oy * ox)
    else:
        out = win.transpose(0, 2, 3, 4, 5, 1).reshape(n, oy * ox, fy * fx * c)
    return [np.ascontiguousarray(out)]


@kernel(O.Gemm)
def _gemm(op: O.Gemm, a, b, c=None):
    integer = _is_int(a) and _is_int(b)
    acc = np.int64 if integer else np.float64
    a2 = a.astype(acc).T if op.trans_a else a.astype(acc)
    b2 = b.astype(acc).T if op.trans_b else b.astype(acc)
    y = a2 @ b2
    if not integer:
        y = op.alpha * y
    if c is not None:
        y = y + (c.astype(acc) if integer else op.beta * c.astype(acc))
    return [_finish(op, y, integer)]


@kernel(O.MatMul)
def _matmul(op: O.MatMul, a, b):
    integer = _is_int(a) and _is_int(b)
    acc = np.int64 if integer else np.float64
    return [_finish(op, np.matmul(a.astype(acc), b.astype(acc)), integer)]


@kernel(O.MaxPool)
def _maxpool(op: O.MaxPool, x):
    pad_val = np.iinfo(x.dtype).min if _is_int(x) else -np.inf
    win = windows(_ceil_pad(op, x), op.kernel, op.strides, op.dilations, op.pads, pad_val)
    y = win.max(axis=(4, 5)).astype(x.dtype)
    if not _is_int(x):  # like onnxruntime: the max starts at the lowest finite value (a window of pads only)
        y = np.maximum(y, np.finfo(x.dtype).min)
    return [y]


def _ceil_pad(op, x: np.ndarray) -> np.ndarray:
    """For ceil_mode, extend the input at the bottom/right (with NaN marks) so the last windows exist."""
    if not op.ceil_mode:
        return x
    oy, ox = op.out_hw(x.shape[2], x.shape[3])
    need_h = (oy - 1) * op.strides[0] + op.dilations[0] * (op.kernel[0] - 1) + 1 - op.pads[0] - op.pads[2]
    need_w = (ox - 1) * op.strides[1] + op.dilations[1] * (op.kernel[1] - 1) + 1 - op.pads[1] - op.pads[3]
    eh, ew = max(0, need_h - x.shape[2]), max(0, need_w - x.shape[3])
    if not (eh or ew):
        return x
    fill = -np.inf if isinstance(op, O.MaxPool) else np.nan
    return np.pad(x.astype(np.float64), ((0, 0), (0, 0), (0, eh), (0, ew)), constant_values=fill)


def _taps_inside(out: int, k: int, stride: int, dil: int, padded: int) -> np.ndarray:
    """Per output index along one axis: how many of the k window taps lie inside the padded extent."""
    pos = np.arange(out)[:, None] * stride + np.arange(k)[None, :] * dil
    return (pos < padded).sum(axis=1)


@kernel(O.AveragePool)
def _avgpool(op: O.AveragePool, x):
    xe = _ceil_pad(op, x.astype(np.float64))
    win = windows(xe, op.kernel, op.strides, op.dilations, op.pads, np.nan)
    valid = ~np.isnan(win)
    s = np.where(valid, win, 0.0).sum(axis=(4, 5))
    if op.count_include_pad:  # padded positions count, the ceil-mode overhang does not (per axis)
        oy, ox = s.shape[2:]
        cy = _taps_inside(oy, op.kernel[0], op.strides[0], op.dilations[0], x.shape[2] + op.pads[0] + op.pads[2])
        cx = _taps_inside(ox, op.kernel[1], op.strides[1], op.dilations[1], x.shape[3] + op.pads[1] + op.pads[3])
        cnt = np.outer(cy, cx)
    else:
        cnt = valid.sum(axis=(4, 5))
    return [(s / np.maximum(cnt, 1)).astype(x.dtype)]


@kernel(O.GlobalAveragePool)
def _gap(op, x):
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float64).astype(x.dtype)]


@kernel(O.GlobalMaxPool)
def _gmp(op, x):
    return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]


@kernel(O.LRN)
def _lrn(op: O.LRN, x):
    c = x.shape[1]
    sq = x.astype(np.float64) ** 2
    lo, hi = (op.size - 1) // 2, -(-(op.size - 1) // 2)  # floor / ceil of (size-1)/2 (ONNX LRN)
    s = np.zeros_like(sq)
    for i in range(c):
        s[:, i] = sq[:, max(0, i - lo):min(c, i + hi + 1)].sum(axis=1)
    return [(x / (op.bias + op.alpha / op.size * s) ** op.beta).astype(x.dtype)]


@kernel(O.BatchNormalization)
def _bn(op: O.BatchNormalization, x, scale, bias, mean, var):
    sh = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + op.epsilon) * scale.reshape(sh) + bias.reshape(sh)
    return [y.astype(x.dtype)]


def _binary(fn):
    def run(op, *xs):
        integer = all(_is_int(x) for x in xs)
        acc = np.int64 if integer else np.float64
        y = xs[0].astype(acc)
        for x in xs[1:]:
            y = fn(y, x.astype(acc))
        if integer and fn is np.divide:
            raise UnsupportedError("integer Div has no reference semantics")
        return [_finish(op, y, integer)]

    return run


KERNELS[O.Add] = _binary(np.add)
KERNELS[O.Sub] = _binary(np.subtract)
KERNELS[O.Mul] = _binary(np.multiply)
KERNELS[O.Div] = _binary(np.divide)


@kernel(O.PRelu)
def _prelu(op: O.PRelu, x, slope):
    """x where x >= 0, else slope·x (float32 like onnxruntime; integer arrays in int64, wrapped to int32)."""
    if _is_int(x) and _is_int(slope):
        v = x.astype(np.int64)
        return [_wrap32(np.where(v >= 0, v, v * slope.astype(np.int64)))]
    v = x.astype(np.float32)
    return [np.where(v >= 0, v, v * slope.astype(np.float32)).astype(np.float32)]


@kernel(O.Pow)
def _pow(op: O.Pow, x):
    """x ** exponent in float32 (onnxruntime: exponent 2 is x·x, 3 is x·x·x, else powf; both round once)."""
    if _is_int(x):
        raise UnsupportedError("integer Pow has no reference semantics")
    v = x.astype(np.float32)
    if op.exponent == 2.0:
        return [v * v]
    if op.exponent == 3.0:
        return [v * v * v]
    return [np.power(v, np.float32(op.exponent)).astype(np.float32)]


@kernel(O.Sqrt)
def _sqrt(op: O.Sqrt, x):
    """sqrt(x) in float32 (correctly rounded, as onnxruntime's; NaN below 0)."""
    if _is_int(x):
        raise UnsupportedError("integer Sqrt has no reference semantics")
    with np.errstate(invalid="ignore"):
        return [np.sqrt(x.astype(np.float32))]


@kernel(O.Concat)
def _concat(op, *xs):
    return [np.concatenate(xs, axis=op.axis)]


@kernel(O.Split)
def _split(op: O.Split, x):
    idx = np.cumsum(op.sizes)[:-1]
    return list(np.split(x, idx, axis=op.axis))


@kernel(O.Slice)
def _slice(op: O.Slice, x):
    sl = [slice(None)] * x.ndim
    for st, en, ax, sp in zip(op.starts, op.ends, op.axes, op.steps):
        sl[ax] = slice(st, None if en < 0 else en, sp)
    return [x[tuple(sl)]]


@kernel(O.Reshape)
def _reshape(op, x):
    return [x.reshape(op.shape)]


@kernel(O.Flatten)
def _flatten(op, x):
    ax = op.axis % (x.ndim + 1) if op.axis < 0 else op.axis
    return [x.reshape(int(np.prod(x.shape[:ax])), -1)]


@kernel(O.Transpose)
def _transpose(op, x):
    return [np.transpose(x, op.perm or None)]


@kernel(O.Pad)
def _pad(op: O.Pad, x):
    r = x.ndim
    pads = op.pads
    # negative pads crop
    crop = tuple(slice(max(0, -pads[i]), x.shape[i] - max(0, -pads[i + r])) for i in range(r))
    x = x[crop]
    width = [(max(0, pads[i]), max(0, pads[i + r])) for i in range(r)]
    if op.mode == "constant":
        return [np.pad(x, width, constant_values=op.value)]
    mode: Any = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[op.mode]
    return [np.pad(x, width, mode=mode)]


@kernel(O.Softmax)
def _softmax(op, x):
    e = np.exp(x.astype(np.float64) - x.max(axis=op.axis, keepdims=True))
    return [(e / e.sum(axis=op.axis, keepdims=True)).astype(x.dtype)]


@kernel(O.ReduceMean)
def _reducemean(op, x):
    axes = tuple(a % x.ndim for a in op.axes) if op.axes else None
    return [x.mean(axis=axes, keepdims=op.keepdims, dtype=np.float64).astype(x.dtype)]


@kernel(O.Identity)
def _identity(op, x):
    return [x]


@kernel(O.Resize)
def _resize(op: O.Resize, x):
    from cnncc.ir.resize import resize

    return [resize(x, op)]


def run_layer(layer: Layer, args: list[np.ndarray]) -> list[np.ndarray]:
    """Run one layer on concrete input arrays (in ``layer.inputs`` order)."""
    fn = KERNELS.get(type(layer.op))
    if fn is None:
        raise UnsupportedError.op(layer.kind, layer.name, "reference interpreter")
    return fn(layer.op, *args)


def run(graph: Graph, feeds: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray] | None = None,
        outputs: list[str] | None = None, keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run ``graph`` on ``feeds`` (graph input name -> array). ``weights`` overrides entries of the weight
    table (e.g. integer weights for a bit-exact check). Returns the graph outputs (or ``outputs``; or every
    tensor with ``keep_all``). A quantised graph (tensors with QuantParams) runs with TFLite integer semantics
    (:mod:`cnncc.ir.interp_int`)."""
    from cnncc.ir.quant import is_quantized

    if is_quantized(graph) and not weights:
        from cnncc.ir.interp_int import run as run_int

        return run_int(graph, feeds, outputs, keep_all)
    env: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        if name not in feeds:
            raise InvalidModelError(f"missing value for graph input {name!r}")
        a = np.asarray(feeds[name])
        if tuple(a.shape) != graph.types[name].shape:
            raise InvalidModelError(f"input {name!r} has shape {a.shape}, expected {graph.types[name].shape}")
        env[name] = a
    wt = dict(graph.weights)
    if weights:
        wt.update(weights)
    want = set(outputs or graph.outputs)
    last_use = {}
    for i, layer in enumerate(graph.layers):
        for t in layer.inputs:
            last_use[t] = i
    for i, layer in enumerate(graph.layers):
        args = [env[t] if t in env else wt[t] for t in layer.inputs]
        for t, v in zip(layer.outputs, run_layer(layer, args)):
            env[t] = v
        if not keep_all:
            for t in layer.inputs:
                if last_use.get(t) == i and t not in want and t in env and t not in graph.inputs:
                    del env[t]
    if keep_all:
        return env
    return {k: env[k] for k in (outputs or graph.outputs)}
