"""Regular strategies: the closed-form duration over tile sizes x loop order x residency, ragged last tiles
included.

The closed form is written once over an *algebra*: :class:`Concrete` evaluates it for one strategy,
:class:`cnncc.backends.offload.exhaustive.Vector` for all tilings at once (the exhaustive search), and
:class:`cnncc.backends.offload.certify.Smt` writes it as SMT-LIB terms. An algebra offers ``fac(d, f, e) =
e * f(t_d)`` (a table over the tile sizes of dimension d), ``n(d, e) = e * ntiles_d``, ``gt1(d)`` (more than
one tile), ``zero(d, f)`` (f(t_d) is 0 for every tile size of the domain), ``If``/``Or``/``And``/``Not``/``max``.

Closed form (times scaled by ``Accel.scale`` so they are integers). Steps run in loop order, one
sub-convolution each. Each tile index is *full* (size t) or *last* (size n - (ceil(n/t) - 1) * t). The step
after step s is of *class* p when the loop at position p ticked: the loops inside p go from their last index to
index 0, loop p from i to i + 1, the loops outside keep theirs. So a transition is fixed by its class, the size
kind (full/last) of every outer loop (for c also whether it is the first, a middle or the last reduction
visit), and whether i + 1 is the last index of loop p; each such combination occurs a product of per-loop counts
times. Operand A is reloaded at a class-p transition iff one of its loops at position >= p has more than one
tile. When the output tile changes, the old one is stored (final after its last reduction visit, else spilled in
accumulator width) and the new one is reloaded if it was spilled before (on its first visit, a fused residual
``R`` is loaded instead, when the problem has one). Duration = loads of step 0 + the sum
over transitions of count * phase + the last compute + the last store, with phase = compute + loads + stores
(sequential), max(compute, loads) + stores (pipelined, shared DMA) or max(compute + stores, loads) (pipelined,
separate channels); compute and stores are the old step's, loads the new step's (tile sizes of each).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from cnncc.backends.offload.formalism import Regular
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

ORDERS = tuple(itertools.permutations(DIMS))
FULL, LAST = "F", "L"


class Concrete:
    """Evaluate the closed form for one tiling."""

    def __init__(self, p: Problem, t: dict[str, int]):
        self.p, self.t = p, t
        self.memo: dict = {}

    def fac(self, d, f, e, key=None):
        return e * f(self.t[d])

    def n(self, d, e=1):
        return e * self.p.ntiles(d, self.t[d])

    def gt1(self, d):
        return self.t[d] < self.p.size(d)

    def zero(self, d, f) -> bool:
        """``f(t_d) == 0`` for every tile size of the domain (the term can be skipped)."""
        return f(self.t[d]) == 0

    If = staticmethod(lambda c, a, b: a if c else b)
    Or = staticmethod(lambda *xs: any(xs))
    And = staticmethod(lambda *xs: all(xs))
    Not = staticmethod(lambda x: not x)
    max = staticmethod(lambda a, b: max(a, b))


def sized(p: Problem, d: str, kind: str, f):
    """``f`` of the tile size of kind ``kind`` (full / last) as a table over the tile size of dimension d."""
    if kind == FULL:
        return f
    return lambda v: f(p.last(d, v))


def _bytes(A, p: Problem, a: str, final: bool = False, kinds: dict[str, str] | None = None):
    """Bytes of one tile of operand ``a`` (tile sizes of the given kinds; default full). Memoised per algebra."""
    fs = p.factors(a, final)
    ks = tuple((d, (kinds or {}).get(d, FULL)) for d in fs if d)
    mkey = ("bytes", a, final, ks)
    if mkey not in A.memo:
        e = fs[""]
        for d, kind in ks:
            e = A.fac(d, sized(p, d, kind, fs[d]), e, key=(a, final, kind))
        A.memo[mkey] = e
    return A.memo[mkey]


def _macs(A, p: Problem, kinds: dict[str, str] | None = None, mult: int = 1):
    ks = tuple((kinds or {}).get(d, FULL) for d in DIMS)
    mkey = ("macs", ks, mult)
    if mkey not in A.memo:
        e = p.FY * p.FX * mult
        for d, kind in zip(DIMS, ks):
            e = A.fac(d, sized(p, d, kind, _ident), e, key=("size", kind))
        A.memo[mkey] = e
    return A.memo[mkey]


def _ident(v: int) -> int:
    return v


def footprints(A: Any, p: Problem, acc: Accel, res: dict[str, Any]) -> dict[str, Any]:
    """Bytes each buffer (I, W, O) needs at most: resident operands whole, streamed ones ``buffers`` full tiles."""
    out: dict[str, Any] = {}
    for a in ("I", "W", "O"):
        if a not in p.operands:
            out[a] = 0
        elif a == "I" and p.in_free:
            out[a] = p.full_bytes("I")
        else:
            out[a] = A.If(res[a], p.full_bytes(a), acc.buffers * _bytes(A, p, a))
    if p.out_keep:
        out["O"] = out["O"] + p.full_bytes("O", final=True)
    if p.cb:  # fused per-channel constants, resident for the layer (weight buffer)
        out["W"] = out["W"] + p.cb
    return out


def _count(p: Problem, d: str, which: str):
    """Per-loop transition counts as tables over the tile size: ``full``/``last`` index of an outer loop,
    ``only``/``first``/``mid`` reduction visits, ``next_full``/``next_last`` for the ticking loop."""
    n = p.ntiles
    return {"full": lambda v: n(d, v) - 1, "last": lambda v: 1, "only": lambda v: int(n(d, v) == 1),
            "first": lambda v: int(n(d, v) > 1), "mid": lambda v: max(n(d, v) - 2, 0),
            "lastvisit": lambda v: int(n(d, v) > 1), "next_full": lambda v: max(n(d, v) - 2, 0),
            "next_last": lambda v: min(n(d, v) - 1, 1)}[which]


#: per outer loop: (count name, size kind, first reduction visit, last reduction visit)
_OUTER = (("full", FULL, None, None), ("last", LAST, None, None))
_OUTER_C = (("only", FULL, True, True), ("first", FULL, True, False), ("mid", FULL, False, False),
            ("lastvisit", LAST, False, True))


def duration(A, p: Problem, acc: Accel, order: tuple[str, ...], res: dict):
    """Scaled duration (cycles * acc.scale) of the regular strategy (order, residency) under algebra A."""
    sc = acc.scale
    lam = acc.dma_latency_cycles * sc
    per_byte = Fraction(sc) / acc.dma_bytes_per_cycle
    assert per_byte.denominator == 1
    pb = int(per_byte)
    ovh, mac_t = acc.call_overhead_cycles * sc, sc // acc.macs_per_cycle

    def xfer(b):
        return lam + pb * b

    def comp(kinds):
        return ovh + _macs(A, p, kinds, mac_t)

    streamed = {a: (A.Not(res[a]) if a in p.operands and not (a == "I" and p.in_free) else False)
                for a in ("I", "W")}
    movable = [a for a in ("I", "W") if a in p.operands and not (a == "I" and p.in_free)]
    ores = res["O"]

    def phase(c, tl, ts):
        if not acc.pipelined:
            return c + tl + ts
        if acc.dma_channels == "separate":
            return A.max(c + ts, tl)
        return A.max(c, tl) + ts

    zeros: dict[tuple[str, str], bool] = {}

    def never(d: str, cname: str) -> bool:  # the count is 0 for every tile size of the domain
        if (d, cname) not in zeros:
            zeros[(d, cname)] = A.zero(d, _count(p, d, cname))
        return zeros[(d, cname)]

    total = 0
    for a in movable:
        total = total + A.If(res[a], xfer(p.full_bytes(a)), xfer(_bytes(A, p, a)))
    if p.rb:  # the first output tile (or the whole resident output) starts from the fused residual
        total = total + A.If(ores, xfer(p.full_bytes("R")), xfer(_bytes(A, p, "R")))
    if p.cb:  # fused per-channel constants: loaded whole before the first step
        total = total + xfer(p.cb)
    for pos, dim in enumerate(order):
        ticking = order[pos:]
        hit = {a: A.And(streamed[a], A.Or(*[A.gt1(r) for r in p.rel(a) if r in ticking])) for a in movable}
        ochg = A.And(A.Not(ores), A.Or(*[A.gt1(r) for r in p.rel("O") if r in ticking]))
        outer = order[:pos]
        choices = [(_OUTER_C if d == "c" else _OUTER) for d in outer]
        for combo in itertools.product(*choices):
            if any(never(d, cname) for d, (cname, _, _, _) in zip(outer, combo)):
                continue  # this combination of outer indices never occurs
            for nxt_name, nxt_kind in (("next_full", FULL), ("next_last", LAST)):
                if never(dim, nxt_name):
                    continue
                ka = {d: LAST for d in order[pos + 1:]}
                kb = {d: FULL for d in order[pos + 1:]}
                for d, (_, kind, _, _) in zip(outer, combo):
                    ka[d] = kb[d] = kind
                ka[dim], kb[dim] = FULL, nxt_kind
                if dim == "c":                      # c ticked: spill the old partial sums, reload the new
                    final, reload = False, True
                elif "c" not in outer:              # c inside: the old tile is finished, the new one fresh
                    final, reload = True, False
                else:                               # c outside: its visit decides
                    _, _, first, last = combo[outer.index("c")]
                    final, reload = bool(last), not first
                tl = 0
                for a in movable:
                    tl = tl + A.If(hit[a], xfer(_bytes(A, p, a, kinds=kb)), 0)
                if reload:
                    tl = tl + A.If(ochg, xfer(_bytes(A, p, "O", kinds=kb)), 0)
                elif p.rb:  # first visit of the new output tile: its residual initialises the accumulator
                    tl = tl + A.If(ochg, xfer(_bytes(A, p, "R", kinds=kb)), 0)
                if final:
                    ts = 0 if p.out_keep else A.If(ochg, xfer(_bytes(A, p, "O", True, ka)), 0)
                else:
                    ts = A.If(ochg, xfer(_bytes(A, p, "O", kinds=ka)), 0)
                e = phase(comp(ka), tl, ts)
                for d, (cname, _, _, _) in zip(outer, combo):
                    e = A.fac(d, _count(p, d, cname), e, key=("count", cname))
                total = total + A.fac(dim, _count(p, dim, nxt_name), e, key=("count", nxt_name))
    lastk = {d: LAST for d in DIMS}
    final_last = 0 if p.out_keep else xfer(_bytes(A, p, "O", True, lastk))
    total = total + comp(lastk) + A.If(ores, 0 if p.out_keep else xfer(p.full_bytes("O", final=True)),
                                       final_last)
    return total


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
