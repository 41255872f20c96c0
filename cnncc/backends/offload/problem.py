"""One layer as an offloading problem: the tile loops y (OY), x (OX), k (K), c (reduced channels) of its
:class:`cnncc.ir.loopnest.LoopNest`, which operand depends on which loop, and tile sizes in bytes and MACs.

Operands: ``I`` input (a halo box: rows (ty-1)*SY + (FY-1)*DY + 1, the DMA fetches the whole box, padding rows
included), ``W`` weights, ``O`` output (accumulated on chip in ``psum_bytes`` per element, stored finally in
``act_bytes`` per element, or spilled as partial sums in ``psum_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.backends.offload.model import Accel
from cnncc.ir.loopnest import DEPTHWISE, POOL, LoopNest

DIMS = ("y", "x", "k", "c")
OPERANDS = ("I", "W", "O")


@dataclass(frozen=True)
class Problem:
    """A layer's loop bounds. ``c`` = channels each output reduces over (1 for depthwise and pooling, whose
    input channel follows ``k``). ``in_free``: the input is already on chip (kept by the previous layer);
    ``out_keep``: the output stays on chip for the next layer (no final stores)."""

    name: str
    OY: int
    OX: int
    K: int
    C: int
    FY: int = 1
    FX: int = 1
    SY: int = 1
    SX: int = 1
    DY: int = 1
    DX: int = 1
    channelwise: bool = False  # depthwise conv / pooling: input channels follow k
    has_weights: bool = True
    in_free: bool = False
    out_keep: bool = False

    @staticmethod
    def from_nest(name: str, nest: LoopNest) -> Problem:
        cw = nest.kind in (DEPTHWISE, POOL)
        return Problem(name, nest.OY, nest.OX, nest.K, 1 if cw else nest.c_per_group, nest.FY, nest.FX,
                       nest.SY, nest.SX, nest.DY, nest.DX, channelwise=cw, has_weights=nest.kind != POOL)

    def size(self, d: str) -> int:
        return {"y": self.OY, "x": self.OX, "k": self.K, "c": self.C}[d]

    def rel(self, a: str) -> tuple[str, ...]:
        """Loops operand ``a`` depends on."""
        if a == "I":
            return ("y", "x", "k") if self.channelwise else ("y", "x", "c")
        if a == "W":
            return ("k", "c")
        return ("y", "x", "k")

    @property
    def operands(self) -> tuple[str, ...]:
        return OPERANDS if self.has_weights else ("I", "O")

    # ---------------------------------------------------------------- tile sizes (per-dimension factors)
    def in_rows(self, ty: int) -> int:
        return (ty - 1) * self.SY + (self.FY - 1) * self.DY + 1

    def in_cols(self, tx: int) -> int:
        return (tx - 1) * self.SX + (self.FX - 1) * self.DX + 1

    def factors(self, a: str, acc: Accel, final: bool = False) -> dict[str, object]:
        """Tile bytes of operand ``a`` as a product of per-dimension factors: {dim: f(tile)} and a constant
        under key ''. Output in psum width unless ``final``."""
        if a == "I":
            ch = "k" if self.channelwise else "c"
            return {"y": self.in_rows, "x": self.in_cols, ch: _ident, "": acc.act_bytes}
        if a == "W":
            return {"k": _ident, "c": _ident, "": self.FY * self.FX * acc.weight_bytes}
        return {"y": _ident, "x": _ident, "k": _ident, "": acc.act_bytes if final else acc.psum_bytes}

    def tile_bytes(self, a: str, t: dict[str, int], acc: Accel, final: bool = False) -> int:
        v = 1
        for d, f in self.factors(a, acc, final).items():
            v *= f if d == "" else f(t[d])
        return v

    def full_bytes(self, a: str, acc: Accel, final: bool = False) -> int:
        """Bytes of the whole operand (the input box of the whole layer)."""
        return self.tile_bytes(a, {d: self.size(d) for d in DIMS}, acc, final)

    def tile_macs(self, t: dict[str, int]) -> int:
        return t["y"] * t["x"] * t["k"] * t["c"] * self.FY * self.FX

    @property
    def macs(self) -> int:
        return self.OY * self.OX * self.K * self.C * self.FY * self.FX


def _ident(v: int) -> int:
    return v


def divisors(n: int) -> list[int]:
    """Tile sizes of a dimension of size n (regular strategies use equal tiles)."""
    small = [d for d in range(1, int(n ** 0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))
