"""IR op records of elementwise ops and data movement (see :mod:`cnncc.ir.ops`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from cnncc.ir.op_base import (
    Activation,
    Op,
    _fail,
    broadcast_shapes,
    register,
)
from cnncc.ir.types import TensorType

# ---------------------------------------------------------------------------------------------- elementwise


@dataclass(frozen=True, eq=False, repr=False)
class Binary(Op):
    """Element-wise op with numpy broadcasting; ``Add`` takes any number of inputs (ONNX ``Sum``)."""

    act: Activation | None = None

    def infer(self, ins):
        if len(ins) < 2:
            _fail(f"{self.kind} needs at least two inputs")
        shape = broadcast_shapes(*(t.shape for t in ins))
        base = max(ins, key=lambda t: t.rank)
        return [base.with_shape(shape)]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Add(Binary):
    kind: ClassVar[str] = "Add"


@register
@dataclass(frozen=True, eq=False, repr=False)
class Sub(Binary):
    kind: ClassVar[str] = "Sub"


@register
@dataclass(frozen=True, eq=False, repr=False)
class Mul(Binary):
    kind: ClassVar[str] = "Mul"


@register
@dataclass(frozen=True, eq=False, repr=False)
class Div(Binary):
    kind: ClassVar[str] = "Div"


@register
@dataclass(frozen=True, eq=False, repr=False)
class PRelu(Op):
    """Parametric ReLU: ``y = x if x >= 0 else slope·x``. Inputs: x (any rank) and slope, which broadcasts to x
    (numpy rules; ONNX's unidirectional broadcast: the output has x's shape). Element-wise, no loop nest (as
    Add/Mul); the slope is usually a per-channel weight ([C, 1, 1] for an NCHW map, [N] for a vector)."""

    kind: ClassVar[str] = "PRelu"

    def infer(self, ins):
        if len(ins) != 2:
            _fail(f"PRelu needs two inputs (x, slope), got {len(ins)}")
        x, slope = ins
        if broadcast_shapes(x.shape, slope.shape) != x.shape:
            _fail(f"PRelu slope {slope.shape} does not broadcast to the input {x.shape}")
        return [x]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Pow(Op):
    """``y = x ** exponent`` element-wise, the exponent a constant known at load time (ONNX ``Pow`` with a
    one-element constant Y; a LayerNorm's variance squares its centred input: exponent 2). No loop nest (as
    Add/Mul): one operation per element; exponent 2 is ``x·x`` (one multiply per element)."""

    kind: ClassVar[str] = "Pow"
    exponent: float = 2.0

    def infer(self, ins):
        if len(ins) != 1:
            _fail(f"Pow takes one input (the exponent is an attribute), got {len(ins)}")
        return [ins[0]]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Sqrt(Op):
    """``y = sqrt(x)`` element-wise (NaN below 0, as ONNX). A standalone op, never fused into its producer."""

    kind: ClassVar[str] = "Sqrt"

    def infer(self, ins):
        if len(ins) != 1:
            _fail(f"Sqrt takes one input, got {len(ins)}")
        return [ins[0]]


# ---------------------------------------------------------------------------------------------- data movement
def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        _fail(f"axis {axis} out of range for rank {rank}")
    return axis % rank


@register
@dataclass(frozen=True, eq=False, repr=False)
class Concat(Op):
    kind: ClassVar[str] = "Concat"
    axis: int = 1

    def infer(self, ins):
        ax = _axis(self.axis, ins[0].rank)
        for t in ins[1:]:
            if t.rank != ins[0].rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, ins[0].shape))
                                            if i != ax):
                _fail(f"Concat inputs {[t.shape for t in ins]} differ off axis {self.axis}")
        shape = list(ins[0].shape)
        shape[ax] = sum(t.shape[ax] for t in ins)
        return [ins[0].with_shape(tuple(shape))]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Split(Op):
    kind: ClassVar[str] = "Split"
    axis: int = 0
    sizes: tuple[int, ...] = ()

    def infer(self, ins):
        ax = _axis(self.axis, ins[0].rank)
        if sum(self.sizes) != ins[0].shape[ax] or any(s <= 0 for s in self.sizes):
            _fail(f"Split sizes {self.sizes} do not cover axis of {ins[0].shape}")
        out = []
        for s in self.sizes:
            shape = list(ins[0].shape)
            shape[ax] = s
            out.append(ins[0].with_shape(tuple(shape)))
        return out


@register
@dataclass(frozen=True, eq=False, repr=False)
class Slice(Op):
    """Slicing with already-normalised, clamped bounds: one (start, end, step) per entry of ``axes``."""

    kind: ClassVar[str] = "Slice"
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    axes: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()

    def infer(self, ins):
        shape = list(ins[0].shape)
        for st, en, ax, sp in zip(self.starts, self.ends, self.axes, self.steps):
            ax = _axis(ax, len(shape))
            shape[ax] = len(range(st, en, sp))
            if shape[ax] <= 0:
                _fail(f"Slice produces an empty axis {ax}")
        return [ins[0].with_shape(tuple(shape))]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Reshape(Op):
    """Reshape to a fully resolved ``shape`` (no 0 or -1 left)."""

    kind: ClassVar[str] = "Reshape"
    shape: tuple[int, ...] = ()

    def infer(self, ins):
        if math.prod(self.shape) != ins[0].numel:
            _fail(f"Reshape of {ins[0].shape} to {self.shape} changes the element count")
        return [ins[0].with_shape(self.shape)]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Flatten(Op):
    kind: ClassVar[str] = "Flatten"
    axis: int = 1

    def infer(self, ins):
        s = ins[0].shape
        ax = self.axis % (len(s) + 1) if self.axis < 0 else self.axis
        return [ins[0].with_shape((math.prod(s[:ax]), math.prod(s[ax:])))]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Transpose(Op):
    kind: ClassVar[str] = "Transpose"
    perm: tuple[int, ...] = ()

    def infer(self, ins):
        s = ins[0].shape
        perm = self.perm or tuple(reversed(range(len(s))))
        if sorted(perm) != list(range(len(s))):
            _fail(f"Transpose perm {perm} invalid for rank {len(s)}")
        q = ins[0].quant
        q = q if q is None or not q.per_axis else None  # moving elements keeps a per-tensor quantisation
        return [TensorType(tuple(s[p] for p in perm), ins[0].dtype, "", q)]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Pad(Op):
    """Pad with ``pads`` = (begin_0..begin_n-1, end_0..end_n-1), ONNX order; mode constant|reflect|edge."""

    kind: ClassVar[str] = "Pad"
    pads: tuple[int, ...] = ()
    mode: str = "constant"
    value: float = 0.0

    def infer(self, ins):
        s = ins[0].shape
        r = len(s)
        if len(self.pads) != 2 * r:
            _fail(f"Pad pads {self.pads} do not match rank {r}")
        out = tuple(d + self.pads[i] + self.pads[i + r] for i, d in enumerate(s))
        if any(d <= 0 for d in out):
            _fail(f"Pad produces a non-positive dimension {out}")
        return [ins[0].with_shape(out)]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Softmax(Op):
    kind: ClassVar[str] = "Softmax"
    axis: int = -1

    def infer(self, ins):
        _axis(self.axis, ins[0].rank)
        return [ins[0]]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Resize(Op):
    """Resize of the spatial axes to ``size`` (OY, OX); mode nearest|linear. ``scales`` (y, x) are the
    factors the coordinate transform uses (ONNX: the given scales, else size / input size)."""

    kind: ClassVar[str] = "Resize"
    size: tuple[int, int] = (1, 1)
    scales: tuple[float, float] = (1.0, 1.0)
    mode: str = "nearest"
    coord_mode: str = "half_pixel"
    nearest_mode: str = "round_prefer_floor"

    def infer(self, ins):
        s = ins[0].shape
        return [ins[0].with_shape(s[:2] + tuple(self.size))]


@register
@dataclass(frozen=True, eq=False, repr=False)
class ReduceMean(Op):
    kind: ClassVar[str] = "ReduceMean"
    axes: tuple[int, ...] = ()
    keepdims: bool = True

    def infer(self, ins):
        s = ins[0].shape
        axes = {_axis(a, len(s)) for a in (self.axes or range(len(s)))}
        out = tuple(1 if i in axes else d for i, d in enumerate(s) if self.keepdims or i not in axes)
        return [ins[0].with_shape(out)]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Identity(Op):
    kind: ClassVar[str] = "Identity"

    def infer(self, ins):
        return [ins[0]]
