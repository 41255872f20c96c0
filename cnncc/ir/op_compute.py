"""IR op records of the conv family, pooling and normalisation (see :mod:`cnncc.ir.ops`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from cnncc.ir.loopnest import CONV, CONVT, DEPTHWISE, FC, MATMUL, POOL, LoopNest
from cnncc.ir.op_base import (
    Activation,
    Op,
    _fail,
    broadcast_shapes,
    register,
)
from cnncc.ir.types import TensorType


# ---------------------------------------------------------------------------------------------- conv family
def conv_out(size: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    """Output extent of a convolution/pooling window along one axis (floor mode)."""
    return (size + p0 + p1 - (d * (k - 1) + 1)) // s + 1


@register
@dataclass(frozen=True, eq=False, repr=False)
class Conv(Op):
    """2-D convolution. Inputs: x [N,C,H,W], W [K,C/groups,FY,FX], optional bias [K].
    ``pads`` = (top, left, bottom, right)."""

    kind: ClassVar[str] = "Conv"
    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    groups: int = 1
    act: Activation | None = None

    def infer(self, ins):
        x, w = ins[0], ins[1]
        if x.rank != 4 or w.rank != 4:
            _fail(f"Conv expects 4-D input and weight, got {x} and {w}")
        n, c, h, wd = x.shape
        k, cg, fy, fx = w.shape
        if (fy, fx) != self.kernel:
            _fail(f"Conv kernel_shape {self.kernel} does not match weight {w.shape}")
        if c % self.groups or k % self.groups or cg * self.groups != c:
            _fail(f"Conv: input channels {c}, weight {w.shape} and groups {self.groups} disagree")
        if len(ins) > 2 and ins[2].shape != (k,):
            _fail(f"Conv bias shape {ins[2].shape} != ({k},)")
        oy = conv_out(h, fy, self.strides[0], self.dilations[0], self.pads[0], self.pads[2])
        ox = conv_out(wd, fx, self.strides[1], self.dilations[1], self.pads[1], self.pads[3])
        if oy <= 0 or ox <= 0:
            _fail(f"Conv output would be empty ({oy}x{ox}) for input {h}x{wd}")
        return [x.with_shape((n, k, oy, ox))]

    def loop_nest(self, ins, outs, is_weight):
        _, c, iy, ix = ins[0].shape
        _, k, oy, ox = outs[0].shape
        kind = DEPTHWISE if self.groups > 1 and self.groups == c else CONV
        return LoopNest(kind, k, c, oy, ox, self.kernel[0], self.kernel[1], self.groups, iy, ix,
                        self.strides[0], self.strides[1], self.dilations[0], self.dilations[1], self.pads)


@register
@dataclass(frozen=True, eq=False, repr=False)
class ConvTranspose(Op):
    """2-D transposed convolution. Inputs: x [N,C,H,W], W [C,K/groups,FY,FX], optional bias [K]."""

    kind: ClassVar[str] = "ConvTranspose"
    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    output_padding: tuple[int, int] = (0, 0)
    groups: int = 1
    act: Activation | None = None

    def infer(self, ins):
        x, w = ins[0], ins[1]
        n, c, h, wd = x.shape
        if w.shape[0] != c:
            _fail(f"ConvTranspose weight {w.shape} does not match input channels {c}")
        k = w.shape[1] * self.groups
        oy = (h - 1) * self.strides[0] + self.dilations[0] * (self.kernel[0] - 1) + 1 \
            + self.output_padding[0] - self.pads[0] - self.pads[2]
        ox = (wd - 1) * self.strides[1] + self.dilations[1] * (self.kernel[1] - 1) + 1 \
            + self.output_padding[1] - self.pads[1] - self.pads[3]
        if oy <= 0 or ox <= 0:
            _fail(f"ConvTranspose output would be empty ({oy}x{ox})")
        return [x.with_shape((n, k, oy, ox))]

    def loop_nest(self, ins, outs, is_weight):
        _, c, iy, ix = ins[0].shape
        k = outs[0].shape[1]
        return LoopNest(CONVT, k, c, iy, ix, self.kernel[0], self.kernel[1], self.groups, iy, ix,
                        self.strides[0], self.strides[1], self.dilations[0], self.dilations[1], self.pads)


@register
@dataclass(frozen=True, eq=False, repr=False)
class Gemm(Op):
    """Fully connected: Y = alpha·A'·B' + beta·C, A' = Aᵀ if trans_a, B' = Bᵀ if trans_b."""

    kind: ClassVar[str] = "Gemm"
    trans_a: bool = False
    trans_b: bool = False
    alpha: float = 1.0
    beta: float = 1.0
    act: Activation | None = None

    def infer(self, ins):
        a, b = ins[0], ins[1]
        if a.rank != 2 or b.rank != 2:
            _fail(f"Gemm expects 2-D operands, got {a} and {b}")
        m, ka = a.shape[::-1] if self.trans_a else a.shape
        kb, n = b.shape[::-1] if self.trans_b else b.shape
        if ka != kb:
            _fail(f"Gemm inner dimensions differ: {a.shape} vs {b.shape}")
        return [a.with_shape((m, n))]

    def loop_nest(self, ins, outs, is_weight):
        a = ins[0].shape
        m, red = a[::-1] if self.trans_a else a
        n = outs[0].shape[1]
        return LoopNest(FC, n, red, 1, m, IY=1, IX=m)


@register
@dataclass(frozen=True, eq=False, repr=False)
class MatMul(Op):
    """numpy-style matmul with broadcasting of leading dims."""

    kind: ClassVar[str] = "MatMul"
    act: Activation | None = None

    def infer(self, ins):
        a, b = ins[0].shape, ins[1].shape
        if len(a) < 1 or len(b) < 1:
            _fail("MatMul operands must have rank >= 1")
        a2 = a if len(a) > 1 else (1,) + a
        b2 = b if len(b) > 1 else b + (1,)
        if a2[-1] != b2[-2]:
            _fail(f"MatMul inner dimensions differ: {a} vs {b}")
        batch = broadcast_shapes(a2[:-2], b2[:-2])
        out = batch + (a2[-2], b2[-1])
        if len(a) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return [ins[0].with_shape(out)]

    def loop_nest(self, ins, outs, is_weight):
        a, b = ins[0].shape, ins[1].shape
        a2 = a if len(a) > 1 else (1,) + a
        b2 = b if len(b) > 1 else b + (1,)
        red = a2[-1]
        batch = math.prod(outs[0].shape[:-2] or (1,))
        if is_weight[0] and not is_weight[1]:
            k, pos = a2[-2], b2[-1] * batch       # W[K,R] · X[R,P]
        else:
            k, pos = b2[-1], a2[-2] * batch       # X[P,R] · W[R,K]
        return LoopNest(MATMUL, k, red, 1, pos, IY=1, IX=pos)


@register
@dataclass(frozen=True, eq=False, repr=False)
class Im2col(Op):
    """Explicit patch extraction (conv lowering). Input x [N,C,H,W].
    layout ``chw``: output [N, C·FY·FX, OY·OX], row index (c·FY + fy)·FX + fx;
    layout ``hwc``: output [N, OY·OX, FY·FX·C], column index (fy·FX + fx)·C + c. Padding reads zeros."""

    kind: ClassVar[str] = "Im2col"
    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    layout: str = "chw"

    def infer(self, ins):
        n, c, h, w = ins[0].shape
        oy = conv_out(h, self.kernel[0], self.strides[0], self.dilations[0], self.pads[0], self.pads[2])
        ox = conv_out(w, self.kernel[1], self.strides[1], self.dilations[1], self.pads[1], self.pads[3])
        if oy <= 0 or ox <= 0:
            _fail("Im2col output would be empty")
        patch = c * self.kernel[0] * self.kernel[1]
        shape = (n, patch, oy * ox) if self.layout == "chw" else (n, oy * ox, patch)
        return [TensorType(shape, ins[0].dtype, "")]


# ---------------------------------------------------------------------------------------------- pooling
@dataclass(frozen=True, eq=False, repr=False)
class _Pool(Op):
    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    ceil_mode: bool = False

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        res = []
        for size, k, s, d, p0, p1 in ((h, self.kernel[0], self.strides[0], self.dilations[0], self.pads[0],
                                       self.pads[2]),
                                      (w, self.kernel[1], self.strides[1], self.dilations[1], self.pads[1],
                                       self.pads[3])):
            span = size + p0 + p1 - (d * (k - 1) + 1)
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= size + p0:  # last window must start inside input/left pad
                o -= 1
            res.append(o)
        return res[0], res[1]

    def infer(self, ins):
        x = ins[0]
        if x.rank != 4:
            _fail(f"{self.kind} expects a 4-D input, got {x}")
        oy, ox = self.out_hw(x.shape[2], x.shape[3])
        if oy <= 0 or ox <= 0:
            _fail(f"{self.kind} output would be empty")
        return [x.with_shape((x.shape[0], x.shape[1], oy, ox))]

    def loop_nest(self, ins, outs, is_weight):
        _, c, iy, ix = ins[0].shape
        _, _, oy, ox = outs[0].shape
        return LoopNest(POOL, c, c, oy, ox, self.kernel[0], self.kernel[1], c, iy, ix,
                        self.strides[0], self.strides[1], self.dilations[0], self.dilations[1], self.pads)


@register
@dataclass(frozen=True, eq=False, repr=False)
class MaxPool(_Pool):
    kind: ClassVar[str] = "MaxPool"


@register
@dataclass(frozen=True, eq=False, repr=False)
class AveragePool(_Pool):
    kind: ClassVar[str] = "AveragePool"
    count_include_pad: bool = False


@register
@dataclass(frozen=True, eq=False, repr=False)
class GlobalAveragePool(Op):
    kind: ClassVar[str] = "GlobalAveragePool"

    def infer(self, ins):
        s = ins[0].shape
        return [ins[0].with_shape(s[:2] + (1,) * (len(s) - 2))]

    def loop_nest(self, ins, outs, is_weight):
        _, c, iy, ix = ins[0].shape
        return LoopNest(POOL, c, c, 1, 1, iy, ix, c, iy, ix, 1, 1)


@register
@dataclass(frozen=True, eq=False, repr=False)
class GlobalMaxPool(GlobalAveragePool):
    kind: ClassVar[str] = "GlobalMaxPool"


@register
@dataclass(frozen=True, eq=False, repr=False)
class LRN(Op):
    kind: ClassVar[str] = "LRN"
    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    bias: float = 1.0

    def infer(self, ins):
        return [ins[0]]


@register
@dataclass(frozen=True, eq=False, repr=False)
class BatchNormalization(Op):
    """Inference batch norm. Inputs: x, scale, bias, mean, var (the last four are weights)."""

    kind: ClassVar[str] = "BatchNormalization"
    epsilon: float = 1e-5

    def infer(self, ins):
        c = ins[0].shape[1]
        for t in ins[1:]:
            if t.shape != (c,):
                _fail(f"BatchNormalization parameter shape {t.shape} != ({c},)")
        return [ins[0]]
