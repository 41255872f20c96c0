"""Quantisation arithmetic shared by the frontends, the integer interpreter and the backends.

Fixed-point rescaling follows TFLite's integer kernels: a real multiplier ``M`` (e.g. ``s_in·s_w / s_out``) is
stored as a Q0.31 int32 ``m`` and a power-of-two ``shift`` with ``M ≈ m · 2**(shift - 31)``; ``rescale`` applies
it with TFLite's "double rounding" (a saturating rounding doubling high multiply, then a rounding right shift).
ONNX (onnxruntime) requantises in float32 with round-half-to-even instead (``rescale_float``).

Also here: the IR's ``Quantize`` and ``Dequantize`` ops, and :func:`int8_weights` (a weight as integers with its
scales: the model's own when it is quantised, else a symmetric per-channel quantisation of the float weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnncc.ir.ops import Op, register
from cnncc.ir.types import QUANT_RANGES, QuantParams, TensorType

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# ---------------------------------------------------------------------------------------------- multipliers
def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: real multiplier -> (Q0.31 int32 multiplier, shift); real = m·2^(shift-31)."""
    if real == 0.0:
        return 0, 0
    if not (math.isfinite(real) and real > 0):
        raise ValueError(f"multiplier must be positive and finite, got {real}")
    q, shift = math.frexp(real)
    q_fixed = int(round_away(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def round_away(x):
    """Round half away from zero (C ``round``; TfLiteRound). Scalars or arrays."""
    if isinstance(x, np.ndarray):
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _wrap32(a: np.ndarray) -> np.ndarray:
    return ((a.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)


def srdhm(a: np.ndarray, m) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul of int32 ``a`` and Q0.31 ``m`` (int64 arrays in and out)."""
    a = np.asarray(a, np.int64)
    m = np.asarray(m, np.int64)
    ab = a * m
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    res = np.where(v >= 0, v >> 31, -((-v) >> 31))  # C division truncates toward zero
    return np.where((a == INT32_MIN) & (m == INT32_MIN), INT32_MAX, res)


def rounding_divide_by_pot(x: np.ndarray, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero (int64 arrays)."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def rescale(acc: np.ndarray, mult, shift) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier`` on int32 accumulators (``mult``/``shift`` scalars or arrays that
    broadcast against ``acc``). Returns int64 values (not yet offset or clamped)."""
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(srdhm(_wrap32(np.asarray(acc, np.int64) << left), mult), right)


def rescale64(acc: np.ndarray, mult, shift) -> np.ndarray:
    """TFLite's int64-accumulator ``MultiplyByQuantizedMultiplier`` (16x8 kernels): the multiplier is reduced to
    Q0.15 and applied with one rounding shift."""
    m = np.asarray(mult, np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - np.asarray(shift, np.int64)
    rnd = np.int64(1) << (total - 1)
    return (np.asarray(acc, np.int64) * reduced + rnd) >> total


def rescale_float(acc: np.ndarray, real) -> np.ndarray:
    """onnxruntime's requantisation: float32(acc) · float32(real), rounded half to even (int64 result)."""
    v = np.asarray(acc).astype(np.float32) * np.asarray(real, np.float32)
    return np.rint(v).astype(np.int64)


def multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`quantize_multiplier`: (int64 multipliers, int64 shifts)."""
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(reals)]
    return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)


# ---------------------------------------------------------------------------------------------- values
def qrange(dtype: str) -> tuple[int, int]:
    """(min, max) of an integer dtype."""
    return QUANT_RANGES[dtype]


def _bshape(q: QuantParams, ndim: int) -> tuple[int, ...]:
    shape = [1] * ndim
    if q.axis is not None:
        shape[q.axis] = len(q.scale)
    return tuple(shape)


def dequantize(x: np.ndarray, q: QuantParams) -> np.ndarray:
    """real = scale · (x - zero_point), float32 (TFLite DEQUANTIZE / ONNX DequantizeLinear)."""
    s = np.asarray(q.scale, np.float32).reshape(_bshape(q, x.ndim))
    z = np.asarray(q.zero_point, np.int64).reshape(_bshape(q, x.ndim))
    return ((x.astype(np.int64) - z).astype(np.float32) * s).astype(np.float32)


def quantize(x: np.ndarray, q: QuantParams, dtype: str, rounding: str = "tflite") -> np.ndarray:
    """q = clamp(round(x / scale) + zero_point): ``rounding`` "tflite" rounds half away from zero (float32
    division), "onnx" half to even."""
    s = np.asarray(q.scale, np.float32).reshape(_bshape(q, x.ndim))
    z = np.asarray(q.zero_point, np.int64).reshape(_bshape(q, x.ndim))
    v = np.asarray(x, np.float32) / s
    r = np.rint(v) if rounding == "onnx" else round_away(v)
    lo, hi = qrange(dtype)
    return np.clip(r.astype(np.int64) + z, lo, hi).astype(dtype)


def act_range(act, q: QuantParams, dtype: str) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized``: the integer clamp of a fused ReLU/ReLU6/ReLU_N1_TO_1 (an IR
    ``Relu`` or ``Clip`` record) on an output with quantisation ``q``; the dtype's range without one."""
    from cnncc.ir import ops as O

    lo, hi = qrange(dtype)
    if act is None:
        return lo, hi
    s, z = np.float32(q.scale[0]), q.zero_point[0]
    qv = lambda f: z + int(round_away(float(np.float32(f) / s)))  # noqa: E731
    if isinstance(act, O.Relu):
        return max(lo, qv(0.0)), hi
    if isinstance(act, O.Clip):
        a = lo if act.lo == -math.inf else max(lo, qv(act.lo))
        b = hi if act.hi == math.inf else min(hi, qv(act.hi))
        return a, b
    raise ValueError(f"activation {act.kind} cannot be fused into a quantised layer")


def int8_weights(w: np.ndarray, q: QuantParams | None, axis: int = 0) -> tuple[np.ndarray, QuantParams]:
    """A weight as integers plus its quantisation: the model's own integers and scales when ``q`` is given,
    else symmetric per-channel int8 along ``axis`` (scale = max|w| / 127 per channel, zero point 0)."""
    if q is not None and np.issubdtype(w.dtype, np.integer):
        return w, q
    red = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.max(np.abs(w), axis=red) if w.size else np.zeros(w.shape[axis])
    scales = np.maximum(amax / 127.0, 1e-8).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    qw = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
    return qw, QuantParams.channels(scales.tolist(), [0] * len(scales), axis)


# ---------------------------------------------------------------------------------------------- IR ops
@register
@dataclass(frozen=True)
class Quantize(Op):
    """Float -> integer (or integer -> integer requantisation) to ``dtype``; the output's QuantParams live in
    the weight table's quantisation records (``graph.type_of(out).quant``)."""

    kind: ClassVar[str] = "Quantize"
    dtype: str = "int8"

    def infer(self, ins: list[TensorType]) -> list[TensorType]:
        return [TensorType(ins[0].shape, self.dtype, ins[0].layout)]


@register
@dataclass(frozen=True)
class Dequantize(Op):
    """Integer -> float32 using the input's QuantParams."""

    kind: ClassVar[str] = "Dequantize"

    def infer(self, ins: list[TensorType]) -> list[TensorType]:
        return [TensorType(ins[0].shape, "float32", ins[0].layout)]


def is_quantized(graph) -> bool:
    """Whether any activation of ``graph`` carries a quantisation record."""
    return any(t.quant is not None for t in graph.types.values())


def dequantized_view(graph):
    """The float graph a quantised ``graph`` stands for: float32 inputs, weights dequantized to float32 (biases
    ``s·q``), Quantize/Dequantize as Identity. Every quantisation record stays in ``weights.quant`` (activations
    and weights), so an exporter can write the model's own scales and zero points instead of re-calibrating."""
    from dataclasses import replace

    from cnncc.ir import ops as O
    from cnncc.ir.graph import Graph, WeightTable
    from cnncc.ir.types import TensorType

    wt = graph.weights
    arrays = {}
    for name in wt:
        a = wt[name]
        q = wt.quant.get(name)
        arrays[name] = dequantize(a, q) if (q is not None and np.issubdtype(a.dtype, np.integer)) else a
    layers = [replace(la, op=O.Identity()) if isinstance(la.op, (Quantize, Dequantize)) else la
              for la in graph.layers]
    inputs = {i: TensorType(graph.types[i].shape, "float32", graph.types[i].layout) for i in graph.inputs}
    return Graph.build(graph.name, inputs, graph.outputs, layers, WeightTable(arrays, quant=dict(wt.quant)),
                       graph.meta)


def quantize_weights(w: np.ndarray, axis: int, q=None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8 quantisation along ``axis``: (int8 array, float32 scales). With the weight's
    existing QuantParams ``q`` (zero points 0) its own scales are used, so dequantized integers come back exact."""
    if q is not None and all(z == 0 for z in q.zero_point):
        scales = np.broadcast_to(np.asarray(q.scale, np.float32), (w.shape[axis],)).copy()
        shape = [1] * w.ndim
        shape[axis] = -1
        return np.clip(np.round(w / scales.reshape(shape).astype(np.float64)), -128, 127).astype(np.int8), scales
    red = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.max(np.abs(w), axis=red) if w.size else np.zeros(w.shape[axis])
    scales = np.maximum(amax / 127.0, 1e-8).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
    return q, scales
