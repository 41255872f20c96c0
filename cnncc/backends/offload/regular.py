"""Regular strategies: the closed-form duration over tile sizes x loop order x residency.

The closed form is written once over an *algebra*: :class:`Concrete` evaluates it for one strategy,
:class:`cnncc.backends.offload.exhaustive.Vector` for all tilings at once (the exhaustive search), and
:class:`cnncc.backends.offload.certify.Linear` builds the linear z3 terms of the optimality proof.

Closed form (times scaled by ``Accel.scale`` so they are integers). Steps run in loop order; step s>=1 is of
*class* p when the loop at position p ticked (count (n_p - 1) * prod_{i<p} n_i). Operand A is reloaded at a
class-p step iff one of its loops at position >= p has more than one tile. When the output tile changes, the
old one is stored (final after its last reduction step, else spilled in psum width) and the new one is reloaded
if it was spilled before. Duration = loads of step 0 + sum over classes of count * phase + last compute + last
store, with phase = compute + loads + stores (sequential), max(compute, loads) + stores (pipelined, shared DMA)
or max(compute + stores, loads) (pipelined, separate channels).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from cnncc.backends.offload.formalism import Regular
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

ORDERS = tuple(itertools.permutations(DIMS))


class Concrete:
    """Evaluate the closed form for one tiling."""

    def __init__(self, p: Problem, t: dict[str, int]):
        self.p, self.t = p, t

    def fac(self, d, f, e):
        return e * f(self.t[d])

    def n(self, d, e=1):
        return e * (self.p.size(d) // self.t[d])

    def gt1(self, d):
        return self.p.size(d) // self.t[d] > 1

    If = staticmethod(lambda c, a, b: a if c else b)
    Or = staticmethod(lambda *xs: any(xs))
    And = staticmethod(lambda *xs: all(xs))
    Not = staticmethod(lambda x: not x)
    max = staticmethod(lambda a, b: max(a, b))


def _bytes(A, p: Problem, acc: Accel, a: str, final: bool = False):
    e = None
    fs = p.factors(a, acc, final)
    e = fs[""]
    for d, f in fs.items():
        if d:
            e = A.fac(d, f, e)
    return e


def footprints(A, p: Problem, acc: Accel, res: dict) -> dict[str, object]:
    """Bytes each buffer (I, W, O) needs at most: resident operands whole, streamed ones ``buffers`` tiles."""
    out = {}
    for a in ("I", "W", "O"):
        if a not in p.operands:
            out[a] = 0
        elif a == "I" and p.in_free:
            out[a] = p.full_bytes("I", acc)
        else:
            out[a] = A.If(res[a], p.full_bytes(a, acc), acc.buffers * _bytes(A, p, acc, a))
    if p.out_keep:
        out["O"] = out["O"] + p.full_bytes("O", acc, final=True)
    return out


def duration(A, p: Problem, acc: Accel, order: tuple[str, ...], res: dict):
    """Scaled duration (cycles * acc.scale) of the regular strategy (order, residency) under algebra A."""
    sc = acc.scale
    lam = acc.dma_latency_cycles * sc
    per_byte = Fraction(sc) / acc.dma_bytes_per_cycle
    assert per_byte.denominator == 1
    per_byte = int(per_byte)

    def xfer(b):
        return lam + per_byte * b

    comp = acc.call_overhead_cycles * sc + _macs(A, p) * (sc // acc.macs_per_cycle)
    streamed = {a: (A.Not(res[a]) if a in p.operands and not (a == "I" and p.in_free) else False)
                for a in ("I", "W")}
    tile_t = {a: xfer(_bytes(A, p, acc, a)) for a in ("I", "W") if a in p.operands}
    psum_t = xfer(_bytes(A, p, acc, "O"))
    final_t = 0 if p.out_keep else xfer(_bytes(A, p, acc, "O", final=True))
    ores = res["O"]

    def phase(tl, ts):
        if not acc.pipelined:
            return comp + tl + ts
        if acc.dma_channels == "separate":
            return A.max(comp + ts, tl)
        return A.max(comp, tl) + ts

    total = 0
    for a in ("I", "W"):
        if a in p.operands and not (a == "I" and p.in_free):
            total = total + A.If(res[a], xfer(p.full_bytes(a, acc)), tile_t[a])
    pc = order.index("c")
    for pos, dim in enumerate(order):
        inner = order[pos:]
        tl = 0
        for a in ("I", "W"):
            if a in tile_t:
                hit = A.Or(*[A.gt1(r) for r in p.rel(a) if r in inner])
                tl = tl + A.If(A.And(streamed[a], hit), tile_t[a], 0)
        ochg = A.And(A.Not(ores), A.Or(*[A.gt1(r) for r in p.rel("O") if r in inner]))
        spill, reload, final = A.If(ochg, psum_t, 0), A.If(ochg, psum_t, 0), A.If(ochg, final_t, 0)

        def counted(e, with_c=True, pos=pos, dim=dim):
            e = A.fac(dim, lambda v, d=dim: p.size(d) // v - 1, e)
            for d in order[:pos]:
                if with_c or d != "c":
                    e = A.n(d, e)
            return e

        if pos < pc:      # c inside: the old output tile is finished, the new one fresh
            total = total + counted(phase(tl, final))
        elif pos == pc:   # c ticked: spill the old partial sums, reload the new ones
            total = total + counted(phase(tl + reload, spill))
        else:             # c outside: first / middle / last reduction visit of the output tiles
            first, mid, last = phase(tl, spill), phase(tl + reload, spill), phase(tl + reload, final)
            mid_n = A.fac("c", lambda v: max(p.size("c") // v - 2, 0), mid)
            total = total + A.If(A.gt1("c"), counted(first + last + mid_n, with_c=False),
                                 counted(phase(tl, final)))
    total = total + comp + A.If(ores, 0 if p.out_keep else xfer(p.full_bytes("O", acc, final=True)), final_t)
    return total


def _macs(A, p: Problem):
    e = p.FY * p.FX
    for d in DIMS:
        e = A.fac(d, lambda v: v, e)
    return e


def closed_form(p: Problem, acc: Accel, s: Regular) -> Fraction:
    """Cycles of a regular strategy with reuse (exact)."""
    A = Concrete(p, s.tiling.as_dict())
    res = {a: a in s.resident for a in ("I", "W", "O")}
    return Fraction(duration(A, p, acc, s.order, res), acc.scale)


def fits(p: Problem, acc: Accel, s: Regular) -> bool:
    A = Concrete(p, s.tiling.as_dict())
    fp = footprints(A, p, acc, {a: a in s.resident for a in ("I", "W", "O")})
    if acc.split:
        return all(fp[a] <= c for a, c in zip(("I", "W", "O"), acc.split))
    return sum(fp.values()) <= acc.onchip_bytes


def min_capacity(p: Problem, acc: Accel) -> int:
    """Smallest on-chip capacity (bytes) any regular strategy of this layer needs (1x1x1x1 tiles)."""
    A = Concrete(p, {d: 1 for d in DIMS})
    fp = footprints(A, p, acc, {"I": False, "W": False, "O": False})
    return sum(fp.values())


def _orders(p: Problem) -> tuple[tuple[str, ...], ...]:
    """Loop orders worth distinguishing: loops of size 1 never tick, so their place does not matter."""
    seen, out = set(), []
    for o in ORDERS:
        key = tuple(d for d in o if p.size(d) > 1)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return tuple(out)
