"""The closed form of :mod:`regular` for one tiling and every loop order at once, in plain integer arithmetic.

Same formula as :func:`regular.duration` (tested equal on random layers): the per-tile quantities (compute,
tile bytes of each operand) are tabulated once per tiling for the 16 full/last size kinds, and transitions that
occur zero times are skipped. The exhaustive search uses it where few tilings remain to be evaluated exactly.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

_POS = {d: i for i, d in enumerate(DIMS)}


Tables = tuple[list[int], list[str], dict[tuple[int, ...], int], dict[str, dict[tuple[int, ...], int]],
               dict[tuple[int, ...], int], dict[tuple[int, ...], int], dict[tuple[int, ...], int]]


def tables(p: Problem, acc: Accel, t: dict[str, int]) -> Tables:
    """Per-step quantities of one tiling (scaled cycles), indexed by the 16 full (0) / last (1) size kinds of
    (y, x, k, c): tile counts ``n``, the movable operands, compute, tile loads of each movable operand, partial
    sum spill/reload, final store (0 when the output stays on chip) and fused-residual load (0 without one).
    Cached (read-only: callers must not modify them)."""
    return _tables(p, acc, tuple(t[d] for d in DIMS))


@functools.lru_cache(maxsize=8192)
def _tables(p: Problem, acc: Accel, tt: tuple[int, ...]) -> Tables:
    t = dict(zip(DIMS, tt))
    sc = acc.scale
    lam = acc.dma_latency_cycles * sc
    pb = int(Fraction(sc) / acc.dma_bytes_per_cycle)
    ovh, mac_t = acc.call_overhead_cycles * sc, sc // acc.macs_per_cycle
    n = [p.ntiles(d, t[d]) for d in DIMS]
    sizes = [(t[d], p.last(d, t[d])) for d in DIMS]
    movable: list[str] = [a for a in ("I", "W") if a in p.operands and not (a == "I" and p.in_free)]
    kinds = list(itertools.product((0, 1), repeat=4))

    def table(a: str, final: bool = False) -> dict[tuple[int, ...], int]:
        """lam + pb * tile bytes of operand ``a`` for every size kind (a product of per-dimension factors)."""
        fs = p.factors(a, final)
        per = [((fs[d](sizes[i][0]), fs[d](sizes[i][1])) if d in fs else (1, 1)) for i, d in enumerate(DIMS)]
        return {kt: lam + pb * fs[""] * per[0][kt[0]] * per[1][kt[1]] * per[2][kt[2]] * per[3][kt[3]]
                for kt in kinds}

    m = p.FY * p.FX * mac_t
    comp = {kt: ovh + m * sizes[0][kt[0]] * sizes[1][kt[1]] * sizes[2][kt[2]] * sizes[3][kt[3]] for kt in kinds}
    tb = {a: table(a) for a in movable}
    psum = table("O")
    init = table("R") if p.rb else dict.fromkeys(kinds, 0)
    fin = dict.fromkeys(kinds, 0) if p.out_keep else table("O", final=True)
    return n, movable, comp, tb, psum, fin, init


def durations(p: Problem, acc: Accel, t: dict[str, int], res: dict[str, bool],
              orders: tuple[tuple[str, ...], ...], reuse: bool = True) -> list[int]:
    """Scaled duration of the regular strategy (t, order, res) for every order of ``orders``. ``reuse=False``:
    every step reloads all its streamed tiles and stores its output tile (the ``no_reuse`` hand baseline)."""
    lam = acc.dma_latency_cycles * acc.scale
    pb = int(Fraction(acc.scale) / acc.dma_bytes_per_cycle)
    n, movable, comp, tb, psum, fin, init = tables(p, acc, t)
    streamed = {a: not res[a] for a in movable}
    ores = res["O"]
    pipelined, separate = acc.pipelined, acc.dma_channels == "separate"
    base = sum(lam + pb * p.full_bytes(a) if res[a] else tb[a][(0, 0, 0, 0)] for a in movable)
    if p.rb:
        base += lam + pb * p.full_bytes("R") if ores else init[(0, 0, 0, 0)]
    if p.cb:
        base += lam + pb * p.cb
    rel: dict[str, list[int]] = {a: [_POS[r] for r in p.rel(a)] for a in ("I", "W", "O") if a in p.operands}
    out: list[int] = []
    seen: dict[tuple[int, ...], int] = {}
    for order in orders:
        opos = [_POS[d] for d in order]
        key = tuple(q for q in opos if n[q] > 1)  # loops of one tile never tick: equal durations (tested)
        if reuse and key in seen:
            out.append(out[seen[key]])
            continue
        seen[key] = len(out)
        total = base
        for pos, di in enumerate(opos):
            ticking = set(opos[pos:])
            hit = [a for a in movable if streamed[a] and (not reuse or any(n[r] > 1 for r in rel[a] if r in ticking))]
            ochg = not ores and (not reuse or any(n[r] > 1 for r in rel["O"] if r in ticking))
            outer = opos[:pos]
            choices: list[list[tuple[int, int, bool | None, bool | None]]] = []
            for od in outer:
                if od == 3:   # c: (count, kind, first visit, last visit)
                    nc = n[3]
                    choices.append([c for c in ((int(nc == 1), 0, True, True), (int(nc > 1), 0, True, False),
                                                (max(nc - 2, 0), 0, False, False), (int(nc > 1), 1, False, True))
                                    if c[0]])
                else:
                    choices.append([c for c in ((n[od] - 1, 0, None, None), (1, 1, None, None)) if c[0]])
            nxts = [c for c in ((max(n[di] - 2, 0), 0), (min(n[di] - 1, 1), 1)) if c[0]]
            if not nxts:
                continue
            ka = [0, 0, 0, 0]
            kb = [0, 0, 0, 0]
            for q in opos[pos + 1:]:
                ka[q], kb[q] = 1, 0
            cpos = outer.index(3) if 3 in outer else -1
            for combo in itertools.product(*choices):
                cnt = 1
                for od, (c, kind, _, _) in zip(outer, combo):
                    ka[od] = kb[od] = kind
                    cnt *= c
                if di == 3:
                    final, reload = False, True
                elif cpos < 0:
                    final, reload = True, False
                else:
                    final, reload = bool(combo[cpos][3]), not combo[cpos][2]
                for c2, nk in nxts:
                    ka[di], kb[di] = 0, nk
                    ta, tbk = tuple(ka), tuple(kb)
                    tl = sum(tb[a][tbk] for a in hit)
                    if ochg:
                        tl += psum[tbk] if reload else init[tbk]
                    ts = (fin[ta] if final else psum[ta]) if ochg else 0
                    cp = comp[ta]
                    if not pipelined:
                        ph = cp + tl + ts
                    elif separate:
                        ph = max(cp + ts, tl)
                    else:
                        ph = max(cp, tl) + ts
                    total += cnt * c2 * ph
        last = (1, 1, 1, 1)
        total += comp[last] + ((0 if p.out_keep else lam + pb * p.full_bytes("O", final=True)) if ores
                               else fin[last])
        out.append(total)
    return out
