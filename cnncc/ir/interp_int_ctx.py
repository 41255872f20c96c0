"""The integer interpreter's kernel registry and per-layer context (``interp_int``): ``@kernel(OpClass, ...)``
registers a kernel ``fn(ctx, op, *inputs) -> [outputs]``; :class:`Ctx` gives the layer's tensor types and
rounding rule; :func:`requant` turns an exact int64 accumulator into output integers (Q0.31 multiplier and shift
as TFLite, or float32 multiply and round half to even as onnxruntime), adds the zero point and clamps."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.ir.graph import Graph, Layer
from cnncc.ir.quant import act_range, multipliers, rescale, rescale64, rescale_float
from cnncc.ir.types import QuantParams

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

