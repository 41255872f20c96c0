"""IR ops of ONNX dynamic quantisation (scales computed at run time) and their reference kernels.

``DynamicQuantize`` (ONNX DynamicQuantizeLinear): float -> (uint8 values, float32 scale, uint8 zero point) from the
tensor's own min/max; ``ConvInteger`` / ``MatMulInteger``: Σ (x - zx)(w - zw) into int32 (they are ``Conv`` /
``MatMul`` records, so loop nests and MACs are the float op's); ``Cast``: an element-type conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnncc.ir import interp
from cnncc.ir import ops as O
from cnncc.ir.types import TensorType


@O.register
@dataclass(frozen=True)
class DynamicQuantize(O.Op):
    kind: ClassVar[str] = "DynamicQuantize"

    def infer(self, ins):
        return [TensorType(ins[0].shape, "uint8", ins[0].layout), TensorType((), "float32"), TensorType((), "uint8")]


@O.register
@dataclass(frozen=True)
class ConvInteger(O.Conv):
    """Inputs x, w, x_zero_point, w_zero_point (scalars); int32 output."""

    kind: ClassVar[str] = "ConvInteger"

    def infer(self, ins):
        y = super().infer(ins[:2])[0]
        return [TensorType(y.shape, "int32", y.layout)]


@O.register
@dataclass(frozen=True)
class MatMulInteger(O.MatMul):
    kind: ClassVar[str] = "MatMulInteger"

    def infer(self, ins):
        y = super().infer(ins[:2])[0]
        return [TensorType(y.shape, "int32", y.layout)]


@O.register
@dataclass(frozen=True)
class Cast(O.Op):
    kind: ClassVar[str] = "Cast"
    dtype: str = "float32"

    def infer(self, ins):
        return [TensorType(ins[0].shape, self.dtype, ins[0].layout)]


@interp.kernel(DynamicQuantize)
def _dynq(op, x):
    """ONNX DynamicQuantizeLinear: scale = (max(0, max x) - min(0, min x)) / 255, zp = round(-min/scale)."""
    lo, hi = min(0.0, float(np.min(x))), max(0.0, float(np.max(x)))
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zp = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
    y = np.clip(np.rint(x.astype(np.float32) / scale) + int(zp), 0, 255).astype(np.uint8)
    return [y, np.array(scale, np.float32), np.array(zp, np.uint8)]


@interp.kernel(ConvInteger)
def _conv_integer(op, x, w, zx, zw):
    xs = x.astype(np.int64) - np.int64(np.asarray(zx).reshape(-1)[0])
    ws = w.astype(np.int64) - np.int64(np.asarray(zw).reshape(-1)[0])
    conv = O.Conv(op.kernel, op.strides, op.dilations, op.pads, op.groups)
    return [interp.KERNELS[O.Conv](conv, xs, ws)[0].astype(np.int32)]


@interp.kernel(MatMulInteger)
def _matmul_integer(op, a, b, za, zb):
    av = a.astype(np.int64) - np.int64(np.asarray(za).reshape(-1)[0])
    bv = b.astype(np.int64) - np.int64(np.asarray(zb).reshape(-1)[0])
    return [np.matmul(av, bv).astype(np.int32)]


@interp.kernel(Cast)
def _cast(op, x):
    return [x.astype(op.dtype)]
