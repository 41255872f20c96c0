"""Lower bounds per loop-order class: the second stage of the branch and bound, after the order-free cuts.

For one tiling, the loop orders fall into *classes* by their innermost loop ``L`` with more than one tile (loops
of one tile never tick, so where they sit does not matter). Within class L the closed form of :mod:`regular`
splits in two parts:

* the *L-ticks* (``n_L - 1`` per combination of the other loops' indices): what they load (operands depending
  on L), store and compute, and how often, does not depend on the order of the outer loops — they are summed
  exactly, as in the closed form;
* the *outer ticks*: ``prod(n_d, d != L) - 1`` transitions from a step with L at its last index (a) to one with
  L at index 0 (b). Which a precedes which b depends on the order, but both multisets are known (every index
  combination of the other loops but the last, resp. the first). A phase is ``max(C_a, L_b) + S_a`` (shared
  DMA), and the sum of ``max(x_i, y_sigma(i))`` over a bijection is smallest when both are sorted alike
  (``max(x, y) = (x + y + |x - y|) / 2``; sorted matching minimises the sum of distances). ``L_b`` is bounded
  below by the loads that happen whatever the order: operands depending on L (L wraps), operands depending on
  every other loop with more than one tile (the ticking loop is one of them), the output's reload or residual
  (the output tile always changes: it depends on y, x and k, and on L unless L = c, where the ticking loop is
  one of y, x, k) — the smaller of the two where the visit is not known.

Stores: within class L every output tile is visited ``n_c`` times (once when L = c) — ``n_c - 1`` partial-sum
spills and one final store each — so the total store time is exact. Sequential: the sum of everything; separate
channels: ``max(C_a + S_a, L_b)`` with the smaller of a final store and a spill for ``S_a``.

So ``bound(L) <= duration(order)`` for every order of class L (property-tested on random layers and
accelerators); the exhaustive search evaluates exactly only the orders of classes whose bound does not exceed
the incumbent, and z3 re-proves those (:mod:`certify`)."""

from __future__ import annotations

import itertools
from fractions import Fraction

from cnncc.backends.offload.fast import _POS, tables
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem

Kinds = tuple[int, ...]


def order_class(n: list[int], order: tuple[str, ...]) -> int | None:
    """Position (0..3 in y, x, k, c) of the innermost loop of ``order`` with more than one tile; None: one step."""
    inner = [_POS[d] for d in order if n[_POS[d]] > 1]
    return inner[-1] if inner else None


def class_bounds(p: Problem, acc: Accel, t: dict[str, int], res: dict[str, bool]) -> dict[int, int]:
    """Scaled lower bound of the duration of every loop order of each class (see the module docstring); classes
    are keyed by the position of L. Empty when every loop has one tile (one step: nothing to bound)."""
    lam = acc.dma_latency_cycles * acc.scale
    pb = int(Fraction(acc.scale) / acc.dma_bytes_per_cycle)
    n, movable, comp, tb, psum, fin, init = tables(p, acc, t)
    ores = res["O"]
    streamed = [a for a in movable if not res[a]]
    rel = {a: {_POS[r] for r in p.rel(a)} for a in p.operands}
    first = sum(lam + pb * p.full_bytes(a) if res[a] else tb[a][(0, 0, 0, 0)] for a in movable)
    if p.rb:
        first += lam + pb * p.full_bytes("R") if ores else init[(0, 0, 0, 0)]
    if p.cb:
        first += lam + pb * p.cb
    whole_store = 0 if p.out_keep else lam + pb * p.full_bytes("O", final=True)
    last = (1, 1, 1, 1)
    s_last = whole_store if ores else fin[last]
    shared = acc.pipelined and acc.dma_channels == "shared"
    separate = acc.pipelined and acc.dma_channels == "separate"
    fins = psums = 0  # final stores of every output tile; one spill of every output tile
    for ky, kx, kk in itertools.product((0, 1), repeat=3):
        cnt = _cnt(n[0], ky) * _cnt(n[1], kx) * _cnt(n[2], kk)
        fins += cnt * fin[(ky, kx, kk, 0)]
        psums += cnt * psum[(ky, kx, kk, 0)]
    out: dict[int, int] = {}
    for L in (i for i in range(4) if n[i] > 1):
        others = [i for i in range(4) if i != L]
        hit = [a for a in streamed if L in rel[a]]
        ochg = not ores and L in rel["O"]
        choices: list[list[tuple[int, int, bool | None, bool | None]]] = []
        for d in others:
            if d == 3:
                nc = n[3]
                cs: list[tuple[int, int, bool | None, bool | None]] = [
                    (int(nc == 1), 0, True, True), (int(nc > 1), 0, True, False), (max(nc - 2, 0), 0, False, False),
                    (int(nc > 1), 1, False, True)]
            else:
                cs = [(n[d] - 1, 0, None, None), (1, 1, None, None)]
            choices.append([c for c in cs if c[0]])
        nxts = [c for c in ((n[L] - 2, 0), (1, 1)) if c[0]]
        ticks = 0  # the L-ticks, exact
        for combo in itertools.product(*choices):
            cnt, ka = 1, [0, 0, 0, 0]
            for d, (c, kind, _, _) in zip(others, combo):
                ka[d] = kind
                cnt *= c
            if L == 3:
                final, reload = False, True
            else:
                _, _, fv, lv = combo[others.index(3)]
                final, reload = bool(lv), not fv
            kaa = tuple(ka)
            for c2, nk in nxts:
                ka[L] = nk
                kb = tuple(ka)
                tl = sum(tb[a][kb] for a in hit)
                ts = 0
                if ochg:
                    tl += psum[kb] if reload else init[kb]
                    ts = fin[kaa] if final else psum[kaa]
                cp = comp[kaa]
                ticks += cnt * c2 * (max(cp, tl) if shared else max(cp + ts, tl) if separate else cp + tl)
            ka[L] = 0
        outer = _outer_ticks(p, n, L, others, streamed, rel, ores, comp, tb, psum, fin, init, shared, separate)
        if shared or not separate:
            stores = s_last if ores else fins + (psums * (n[3] - 1) if L != 3 else 0)
            out[L] = first + ticks + outer + stores + comp[last]
        else:
            out[L] = first + ticks + outer + comp[last] + s_last
    return out


def _cnt(nd: int, kind: int) -> int:
    """Indices of a loop of ``nd`` tiles with size kind ``kind`` (0 full: all but the last; 1: the last)."""
    return 1 if kind else nd - 1


def _outer_ticks(p: Problem, n: list[int], L: int, others: list[int], streamed: list[str], rel: dict,
                 ores: bool, comp: dict, tb: dict, psum: dict, fin: dict, init: dict, shared: bool,
                 separate: bool) -> int:
    """Lower bound of the outer ticks' phases (without their stores on a shared channel or sequentially): the
    sorted matching of the multisets of a (L last) and b (L first), see the module docstring."""
    nontriv = {d for d in others if n[d] > 1}
    if not nontriv:
        return 0
    sure = [a for a in streamed if L in rel[a] or nontriv <= rel[a]]
    first_visit = L == 3 or n[3] == 1
    start = tuple(int(n[d] == 1) for d in others)  # the first step's size kinds (a loop of one tile: 'last')
    xs: dict[int, int] = {}
    ys: dict[int, int] = {}
    for kinds in itertools.product((0, 1), repeat=3):
        cnt = 1
        ka, kb = [0, 0, 0, 0], [0, 0, 0, 0]
        for d, k in zip(others, kinds):
            cnt *= _cnt(n[d], k)
            ka[d] = kb[d] = k
        if not cnt:
            continue
        ka[L], kb[L] = 1, 0
        a, b = tuple(ka), tuple(kb)
        x = comp[a]
        if separate and not ores:
            x += fin[a] if first_visit else min(fin[a], psum[a])
        y = sum(tb[o][b] for o in sure)
        if not ores:
            y += init[b] if first_visit else min(init[b], psum[b])
        xa = cnt - (1 if all(kinds) else 0)  # the last step has no successor
        yb = cnt - (1 if kinds == start else 0)  # the first step no predecessor
        if xa:
            xs[x] = xs.get(x, 0) + xa
        if yb:
            ys[y] = ys.get(y, 0) + yb
    if not (shared or separate):
        return sum(v * c for v, c in xs.items()) + sum(v * c for v, c in ys.items())
    return _matched_max(sorted(xs.items()), sorted(ys.items()))


def _matched_max(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> int:
    """Sum of max(x, y) over the sorted matching of two multisets of equal size, given as sorted (value, count)."""
    total, i, j = 0, 0, 0
    cx, cy = (xs[0][1], ys[0][1]) if xs and ys else (0, 0)
    while i < len(xs) and j < len(ys):
        m = min(cx, cy)
        total += m * max(xs[i][0], ys[j][0])
        cx, cy = cx - m, cy - m
        if not cx:
            i += 1
            cx = xs[i][1] if i < len(xs) else 0
        if not cy:
            j += 1
            cy = ys[j][1] if j < len(ys) else 0
    return total
