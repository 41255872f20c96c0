"""Typed tensors of the layer IR, with the quantisation record of quantised tensors."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Element sizes in bytes of the dtypes the IR knows.
DTYPE_BYTES = {"float32": 4, "float16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}

#: Integer dtypes that carry quantised values, with their (min, max).
QUANT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
                "int64": (-2**63, 2**63 - 1)}

#: Refuse tensors larger than this many elements before allocating anything (2**31: 8 GiB of float32).
MAX_ELEMENTS = 2**31


@dataclass(frozen=True)
class QuantParams:
    """Affine quantisation of one tensor: ``real = scale · (q - zero_point)``.

    Per tensor: one scale and one zero point, ``axis`` None. Per axis (per channel): one (scale, zero point) per
    index of ``axis`` of the tensor *as stored in the IR* (a conv weight [K, C/g, FY, FX] has axis 0; a bias axis 0).
    Scales are positive finite floats (real units per integer step); zero points are ints in the dtype's range.
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scale, tuple) or not isinstance(self.zero_point, tuple):
            raise TypeError("QuantParams.scale and zero_point must be tuples")
        if not self.scale or len(self.scale) != len(self.zero_point):
            raise ValueError(f"QuantParams: {len(self.scale)} scales but {len(self.zero_point)} zero points")
        if any(not (math.isfinite(s) and s > 0) for s in self.scale):
            raise ValueError(f"QuantParams: scales must be positive and finite, got {self.scale[:4]}")
        if self.axis is None and len(self.scale) != 1:
            raise ValueError("QuantParams: several scales need an axis")

    @staticmethod
    def tensor(scale: float, zero_point: int = 0) -> QuantParams:
        """Per-tensor parameters."""
        return QuantParams((float(scale),), (int(zero_point),), None)

    @staticmethod
    def channels(scales, zero_points, axis: int) -> QuantParams:
        """Per-axis parameters (any iterables of floats/ints); a single channel collapses to per tensor."""
        s = tuple(float(v) for v in scales)
        z = tuple(int(v) for v in zero_points)
        if len(z) == 1 and len(s) > 1:
            z = z * len(s)
        return QuantParams(s, z, None if len(s) == 1 else int(axis))

    @property
    def per_axis(self) -> bool:
        return self.axis is not None

    def __str__(self) -> str:
        if self.axis is None:
            return f"q(s={self.scale[0]:.6g},zp={self.zero_point[0]})"
        zp = self.zero_point[0] if len(set(self.zero_point)) == 1 else "..."
        return f"q(axis={self.axis},n={len(self.scale)},s0={self.scale[0]:.6g},zp={zp})"


@dataclass(frozen=True)
class TensorType:
    """Shape, element type, layout and (for quantised tensors) quantisation of one tensor.

    ``shape`` is a tuple of positive ints (batch first); ``layout`` names the axes of 4-D activations
    (``"NCHW"``, the ONNX convention) and is ``""`` for tensors without spatial meaning; ``quant`` is the
    :class:`QuantParams` of a quantised integer tensor, else None.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    layout: str = ""
    quant: QuantParams | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not all(isinstance(d, int) for d in self.shape):
            raise TypeError(f"TensorType.shape must be a tuple of int, got {self.shape!r}")
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}")
        if self.quant is not None and self.dtype not in QUANT_RANGES:
            raise ValueError(f"quantisation on a {self.dtype} tensor")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element at this dtype."""
        return DTYPE_BYTES[self.dtype]

    @property
    def nbytes(self) -> int:
        """Size in bytes at this dtype."""
        return self.numel * DTYPE_BYTES[self.dtype]

    @property
    def deployed_itemsize(self) -> int:
        """Bytes per element as an accelerator stores it: the dtype size of an integer tensor, 1 for a float
        tensor (cnncc costs a float graph as its int8 equivalent)."""
        return DTYPE_BYTES[self.dtype] if self.dtype in QUANT_RANGES else 1

    @property
    def is_quantized(self) -> bool:
        return self.quant is not None

    def with_shape(self, shape: tuple[int, ...]) -> TensorType:
        layout = self.layout if len(shape) == len(self.shape) else ("NCHW" if len(shape) == 4 else "")
        q = self.quant if (self.quant is None or not self.quant.per_axis) else None
        return TensorType(tuple(int(d) for d in shape), self.dtype, layout, q)

    def with_quant(self, quant: QuantParams | None, dtype: str | None = None) -> TensorType:
        return TensorType(self.shape, dtype or self.dtype, self.layout, quant)

    def __str__(self) -> str:
        base = f"{self.dtype}[{'x'.join(str(d) for d in self.shape)}]"
        return base if self.quant is None else f"{base}{self.quant}"


def tensor_type(shape, dtype: str = "float32", quant: QuantParams | None = None) -> TensorType:
    """Build a TensorType, choosing the NCHW layout for rank-4 shapes."""
    shape = tuple(int(d) for d in shape)
    return TensorType(shape, dtype, "NCHW" if len(shape) == 4 else "", quant)
