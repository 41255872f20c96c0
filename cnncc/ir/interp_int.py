"""Integer reference interpreter: what a quantised layer computes (TFLite's integer kernel semantics).

Activations are integer arrays (int8/uint8/int16) read as ``real = s·(q - zp)``; weights are the model's own
integers. Reductions (Conv, depthwise, transposed conv, Gemm, MatMul) accumulate ``Σ (x - zx)·(w - zw) + bias``
exactly, then rescale by ``s_x·s_w[k]/s_y`` as a Q0.31 multiplier and shift (int8: TFLite's double rounding; int16
activations: the int64 single-rounding variant), add ``zy`` and clamp to the fused activation's integer range.
ADD/SUB follow TFLite's 20-bit (int16: 15-bit) left-shifted common-scale scheme, MUL one multiplier, pooling keeps
the input quantisation (average: round half away from zero over the valid taps), LOGISTIC/TANH/HARD_SWISH use
the 256-entry (int16: per-value) table TFLite builds from float, SOFTMAX computes in float and quantises.
Graphs read from ONNX (``meta["quant_rounding"] == "onnx"``) requantise like onnxruntime instead: float32
multiply, round half to even; an op without an integer kernel runs there as its QDQ nodes mean (dequantize,
the float kernel, quantize); a Sigmoid's table there uses onnxruntime's own float Sigmoid (:mod:`ort_float`),
Softmax and AveragePool compute what onnxruntime's fused QLinearSoftmax / QLinearAveragePool do.
Layers without any quantised tensor run the float kernels of ``interp``.

The kernels live in :mod:`interp_int_ctx` (registry, context, requantisation), :mod:`interp_int_accum`
(reductions and pooling) and :mod:`interp_int_pointwise` (elementwise, activations, conversions).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.ir import interp_int_accum, interp_int_pointwise  # noqa: F401  (their kernels register on import)
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph
from cnncc.ir.interp_int_ctx import INT_KERNELS, Ctx, kernel, requant
from cnncc.ir.quant import Dequantize, Quantize
from cnncc.ir.types import TensorType

__all__ = ["INT_KERNELS", "Ctx", "kernel", "requant", "run", "run_layer"]


_MOVES = (O.Reshape, O.Flatten, O.Transpose, O.Slice, O.Split, O.Identity)


def run_layer(ctx: Ctx, args: list[np.ndarray]) -> list[np.ndarray]:
    from cnncc.ir.interp import run_layer as run_float

    layer = ctx.layer
    if not any(t.quant is not None for t in ctx.tin + ctx.tout):
        return run_float(layer, args)
    if ctx.onnx and not isinstance(layer.op, (Quantize, Dequantize)):  # those two take a float input as it is
        keep = _float_outputs(ctx)
        if any(keep) or any(np.issubdtype(a.dtype, np.floating) and t.quant is not None
                            for a, t in zip(args, ctx.tin)):
            return _qdq_float(ctx, args, keep)
    if isinstance(layer.op, _MOVES):
        return run_float(layer, args)
    fn = INT_KERNELS.get(type(layer.op))
    if fn is None and ctx.onnx:
        return _qdq_float(ctx, args)
    if fn is None:
        raise UnsupportedError.op(layer.kind, layer.name, "integer reference interpreter")
    return fn(ctx, layer.op, *args)


def _float_outputs(ctx: Ctx) -> list[bool]:
    """Per output of a layer in a QDQ graph: True where onnxruntime keeps it float32. A quantised tensor there
    is one a QuantizeLinear wrote (its record is in ``graph.weights.quant``); an op's output read by no Q (a
    LayerNorm's mean, centred map, square and root: the quantiser leaves them float) only inherited its input's
    quantisation in the IR, which would clip a centred or squared value to the input's range."""
    recs = ctx.graph.weights.quant
    return [t.quant is not None and name not in recs for name, t in zip(ctx.layer.outputs, ctx.tout)]


def _qdq_float(ctx: Ctx, args: list[np.ndarray], keep: list[bool] | None = None) -> list[np.ndarray]:
    """An op without an integer kernel in a QDQ graph means what onnxruntime runs: its quantised inputs
    dequantized (float32; an input onnxruntime kept float is already float), the float op, each quantised output
    quantized (round half to even) unless ``keep`` says onnxruntime keeps it float."""
    from cnncc.ir.interp import run_layer as run_float
    from cnncc.ir.quant import dequantize, quantize

    vals = [dequantize(a, t.quant) if t.quant is not None and np.issubdtype(a.dtype, np.integer) else a
            for a, t in zip(args, ctx.tin)]
    outs = run_float(ctx.layer, vals)
    keep = keep or [False] * len(outs)
    return [quantize(y, t.quant, t.dtype, "onnx") if t.quant is not None and not k else y
            for y, t, k in zip(outs, ctx.tout, keep)]


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
