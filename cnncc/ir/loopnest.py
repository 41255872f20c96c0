"""The loop-nest vocabulary shared by tiling, the cost models and the z3 scheduler.

A layer with a reduction (conv, depthwise conv, fully connected, matmul, transposed conv) or a sliding window
(pooling) is described by the six loops K, C, OY, OX, FY, FX plus groups, strides, dilations and pads.
Intensities follow ``shared/reference/abconv.md`` (batch 1): bytes = elements × the element size of each operand
(1 for int8 and for float graphs, which cnncc costs as their int8 equivalent; 2 for int16 activations).
"""

from __future__ import annotations

from dataclasses import dataclass

#: kinds of loop nests
CONV, DEPTHWISE, FC, MATMUL, POOL, CONVT = "conv", "depthwise", "fc", "matmul", "pool", "convtranspose"


@dataclass(frozen=True)
class LoopNest:
    """Loop bounds of one layer.

    K: output channels; C: input channels (all groups); OY, OX: output rows/cols (for a transposed conv:
    the input positions each scattered by the kernel); FY, FX: kernel rows/cols; IY, IX: input rows/cols
    (unpadded); groups; SY/SX strides; DY/DX dilations; pads (top, left, bottom, right).
    """

    kind: str
    K: int
    C: int
    OY: int
    OX: int
    FY: int = 1
    FX: int = 1
    groups: int = 1
    IY: int = 1
    IX: int = 1
    SY: int = 1
    SX: int = 1
    DY: int = 1
    DX: int = 1
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def c_per_group(self) -> int:
        """Input channels each output channel reduces over (C / groups)."""
        return self.C // self.groups

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.c_per_group == 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates (0 for pooling, which has no weights)."""
        if self.kind == POOL:
            return 0
        return self.K * self.c_per_group * self.OY * self.OX * self.FY * self.FX

    @property
    def window_ops(self) -> int:
        """Window element visits (MACs for reductions, compares/adds for pooling)."""
        return self.K * self.c_per_group * self.OY * self.OX * self.FY * self.FX

    @property
    def input_elems(self) -> int:
        return self.C * self.IY * self.IX

    @property
    def weight_elems(self) -> int:
        return 0 if self.kind == POOL else self.K * self.c_per_group * self.FY * self.FX

    @property
    def output_elems(self) -> int:
        if self.kind == CONVT:  # K channels of the (larger) output map are produced; count them via OY·OX·S²
            return self.K * self.OY * self.SY * self.OX * self.SX
        return self.K * self.OY * self.OX


@dataclass(frozen=True)
class Intensities:
    """Arithmetic intensities in MAC/byte. ``None`` where a term has no bytes."""

    ai_in: float | None
    ai_w: float | None
    ai_out: float | None
    overall: float | None
    bound: str | None  # "input" | "weight" | "output": the smallest of the three, which caps the overall AI

    def as_dict(self) -> dict:
        return {"ai_in": self.ai_in, "ai_w": self.ai_w, "ai_out": self.ai_out, "ai": self.overall,
                "ai_bound": self.bound}


def intensities(nest: LoopNest | None, in_bytes: int = 1, w_bytes: int = 1, out_bytes: int = 1) -> Intensities:
    """AI_in = MACs/input bytes, AI_w = MACs/weight bytes, AI_out = MACs/output bytes,
    overall = MACs/(all bytes); the bound names the smallest term (abconv.md). ``*_bytes`` are the element
    sizes of the input, weight and output tensors."""
    if nest is None or nest.macs == 0:
        return Intensities(None, None, None, None, None)
    m = nest.macs
    terms = {"input": nest.input_elems * in_bytes, "weight": nest.weight_elems * w_bytes,
             "output": nest.output_elems * out_bytes}
    ai = {k: (m / v if v else None) for k, v in terms.items()}
    total = sum(terms.values())
    present = {k: v for k, v in ai.items() if v is not None}
    bound = min(present, key=lambda k: (present[k], k)) if present else None
    r = lambda v: None if v is None else round(v, 4)  # noqa: E731 - stable JSON
    return Intensities(r(ai["input"]), r(ai["weight"]), r(ai["output"]), r(m / total), bound)
