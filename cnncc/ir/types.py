"""Typed tensors of the layer IR."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Element sizes in bytes of the dtypes the IR knows.
DTYPE_BYTES = {"float32": 4, "float16": 2, "int64": 8, "int32": 4, "int8": 1, "uint8": 1, "bool": 1}

#: Refuse tensors larger than this many elements before allocating anything (2**31: 8 GiB of float32).
MAX_ELEMENTS = 2**31


@dataclass(frozen=True)
class TensorType:
    """Shape, element type and layout of one tensor.

    ``shape`` is a tuple of positive ints (batch first); ``layout`` names the axes of 4-D activations
    (``"NCHW"``, the ONNX convention) and is ``""`` for tensors without spatial meaning.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    layout: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not all(isinstance(d, int) for d in self.shape):
            raise TypeError(f"TensorType.shape must be a tuple of int, got {self.shape!r}")
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Size in bytes at this dtype."""
        return self.numel * DTYPE_BYTES[self.dtype]

    def with_shape(self, shape: tuple[int, ...]) -> TensorType:
        layout = self.layout if len(shape) == len(self.shape) else ("NCHW" if len(shape) == 4 else "")
        return TensorType(tuple(int(d) for d in shape), self.dtype, layout)

    def __str__(self) -> str:
        return f"{self.dtype}[{'x'.join(str(d) for d in self.shape)}]"


def tensor_type(shape, dtype: str = "float32") -> TensorType:
    """Build a TensorType, choosing the NCHW layout for rank-4 shapes."""
    shape = tuple(int(d) for d in shape)
    return TensorType(shape, dtype, "NCHW" if len(shape) == 4 else "")
