"""One layer as an offloading problem: the tile loops y (OY), x (OX), k (K), c (reduced channels per group),
which operand depends on which loop, and tile sizes in bytes and MACs.

Operands: ``I`` input (a halo box: rows (ty-1)*SY + (FY-1)*DY + 1, the DMA fetches the whole box, padding rows
included), ``W`` weights (or, for a binary elementwise layer, its second input, which follows the output),
``O`` output (accumulated on chip in ``pb`` bytes per element, stored finally in ``ob`` bytes, or spilled as
partial sums in ``pb`` bytes). Element sizes (bytes) come with the problem, from the tensors' dtypes.

Tiles may be *ragged*: a dimension of size n cut in tiles of size t has ceil(n/t) tiles, all of size t but the
last, of size n - (ceil(n/t) - 1) * t. Grouped convolutions (``groups`` > 1) have ``K / groups`` output and ``C``
input channels per group; a k tile either divides a group or holds whole groups, and its input tile holds the
input channels of every group it touches (``tc`` times the groups spanned).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

DIMS = ("y", "x", "k", "c")
OPERANDS = ("I", "W", "O")


@dataclass(frozen=True)
class Problem:
    """A layer's loop bounds. ``C`` = channels each output reduces over (per group; 1 for depthwise, pooling
    and elementwise layers). ``groups``: channel groups (K and the input channels are split in ``groups``
    equal parts; depthwise/pooling/elementwise: ``groups == K``). ``w_follows_output``: the second operand is an
    activation shaped like the output (binary elementwise layers), not a weight tensor. ``in_free``: the input
    is already on chip (kept by the previous layer); ``out_keep``: the output stays on chip for the next layer
    (no final stores). ``ib``/``wb``/``ob``/``pb``: bytes per input, weight, output and accumulator element.
    ``rb``: bytes per element of a fused residual (an elementwise Add fused into this layer: its second
    operand initialises each output tile's accumulator on the tile's first visit, one extra DMA load of
    operand ``R``, following the output); 0: none. ``cb``: bytes of fused per-channel constants (the scale and
    shift of a BatchNormalization, the constant of a per-channel Mul/Add/Sub/Div fused into the output stage):
    loaded whole once before the first step (operand ``Q``, one transfer, in the weight buffer) and resident for
    the layer; 0: none."""

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
    groups: int = 1
    has_weights: bool = True
    w_follows_output: bool = False
    in_free: bool = False
    out_keep: bool = False
    ib: int = 1
    wb: int = 1
    ob: int = 1
    pb: int = 4
    rb: int = 0
    cb: int = 0

    @property
    def channelwise(self) -> bool:
        """The input tile follows the k loop (grouped, depthwise, pooling, elementwise)."""
        return self.groups > 1

    @property
    def kg(self) -> int:
        """Output channels per group."""
        return self.K // self.groups

    def size(self, d: str) -> int:
        return self.OY if d == "y" else self.OX if d == "x" else self.K if d == "k" else self.C

    def candidates(self, d: str) -> tuple[int, ...]:
        """Tile sizes of dimension ``d`` in the regular space: ceil(n/m) for every tile count m (ragged last
        tile); along k of a grouped conv, the divisors of a group and whole-group multiples."""
        if d == "k" and 1 < self.groups < self.K:
            kg = self.kg
            return tuple(sorted({t for t in divisors(kg) if t < kg} | {kg * j for j in tile_sizes(self.groups)}))
        return tile_sizes(self.size(d))

    def rel(self, a: str) -> tuple[str, ...]:
        """Loops operand ``a`` depends on."""
        if a == "I":
            return ("y", "x", "k", "c") if self.channelwise else ("y", "x", "c")
        if a == "W":
            return ("y", "x", "k") if self.w_follows_output else ("k", "c")
        return ("y", "x", "k")

    @property
    def operands(self) -> tuple[str, ...]:
        return OPERANDS if self.has_weights else ("I", "O")

    # ---------------------------------------------------------------- tile sizes (per-dimension factors)
    def in_rows(self, ty: int) -> int:
        return (ty - 1) * self.SY + (self.FY - 1) * self.DY + 1

    def in_cols(self, tx: int) -> int:
        return (tx - 1) * self.SX + (self.FX - 1) * self.DX + 1

    def in_chans(self, tk: int) -> int:
        """Groups a k tile of ``tk`` output channels touches (its input tile holds tc channels of each)."""
        return max(1, tk // self.kg)

    def factors(self, a: str, final: bool = False) -> dict:
        """Tile bytes of operand ``a`` as a product of per-dimension factors: {dim: f(tile)} and a constant
        under key ''. Output in accumulator width unless ``final``."""
        if a == "I":
            f = {"y": self.in_rows, "x": self.in_cols, "c": _ident, "": self.ib}
            if self.channelwise:
                f["k"] = self.in_chans
            return f
        if a == "W":
            if self.w_follows_output:
                return {"y": _ident, "x": _ident, "k": _ident, "": self.wb}
            return {"k": _ident, "c": _ident, "": self.FY * self.FX * self.wb}
        if a == "R":
            return {"y": _ident, "x": _ident, "k": _ident, "": self.rb}
        return {"y": _ident, "x": _ident, "k": _ident, "": self.ob if final else self.pb}

    def tile_bytes(self, a: str, t: dict[str, int], final: bool = False) -> int:
        v = 1
        for d, f in self.factors(a, final).items():
            v *= f if d == "" else f(t[d])
        return v

    def full_bytes(self, a: str, final: bool = False) -> int:
        """Bytes of the whole operand (the input box of the whole layer)."""
        return self.tile_bytes(a, {d: self.size(d) for d in DIMS}, final)

    def tile_macs(self, t: dict[str, int]) -> int:
        return t["y"] * t["x"] * t["k"] * t["c"] * self.FY * self.FX

    @property
    def macs(self) -> int:
        return self.OY * self.OX * self.K * self.C * self.FY * self.FX

    # ---------------------------------------------------------------- ragged tiles
    def ntiles(self, d: str, t: int) -> int:
        return -(-self.size(d) // t)

    def last(self, d: str, t: int) -> int:
        """Size of the last tile of dimension ``d`` cut in tiles of ``t``."""
        return self.size(d) - (self.ntiles(d, t) - 1) * t

    def sizes_at(self, t: dict[str, int], idx: dict[str, int]) -> dict[str, int]:
        """Tile sizes of the sub-convolution with tile indices ``idx``."""
        return {d: (self.last(d, t[d]) if idx[d] == self.ntiles(d, t[d]) - 1 else t[d]) for d in DIMS}


def _ident(v: int) -> int:
    return v


@functools.lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    small = [d for d in range(1, int(n ** 0.5) + 1) if n % d == 0]
    return tuple(sorted(set(small + [n // d for d in small])))


@functools.lru_cache(maxsize=4096)
def tile_sizes(n: int) -> tuple[int, ...]:
    """ceil(n/m) for m = 1..n: one tile size per tile count (a superset of the divisors)."""
    return tuple(sorted({-(-n // m) for m in range(1, n + 1)}))
