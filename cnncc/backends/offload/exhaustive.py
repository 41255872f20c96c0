"""Exact exhaustive search of the regular space: every tiling x loop order x residency, evaluated with the same
closed form as :mod:`regular` (written once over an algebra) but vectorised over all tilings with numpy int64.

The regular space of a layer is small (per dimension one tile size per tile count, ragged last tiles included;
at most 24 loop orders, 8 residency choices); with order-free lower-bound cuts pruning (branch and bound) the
search is exact and takes a fraction of a second. The result is the
proven optimum of the space (proof by exhaustion; :mod:`certify` re-proves it with z3 where it can).
Ties are broken deterministically: smallest duration, then fewest bytes moved, then the candidate's rank in a
fixed enumeration order.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass

import numpy as np

from cnncc.backends.offload.formalism import Regular, Tiling
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import _orders, duration, footprints


class Vector:
    """Closed-form algebra over arrays: element i is tiling i (``idx[d][i]`` indexes ``vals[d]``)."""

    def __init__(self, p: Problem, vals: dict[str, list[int]], idx: dict[str, np.ndarray]):
        self.p, self.vals, self.idx = p, vals, idx
        self.memo: dict = {}
        self._tables: dict = {}

    def fac(self, d, f, e, key=None):
        """``e * f(t_d)``; ``key`` names ``f`` so its table over the selection is built once."""
        k = (d, key)
        col = self._tables.get(k) if key is not None else None
        if col is None:
            col = np.array([f(v) for v in self.vals[d]], dtype=np.int64)[self.idx[d]]
            if key is not None:
                self._tables[k] = col
        return e * col

    def n(self, d, e=1):
        return self.fac(d, lambda v: self.p.ntiles(d, v), e, key=("ntiles",))

    def gt1(self, d):
        k = (d, ("gt1",))
        if k not in self._tables:
            self._tables[k] = np.array([v < self.p.size(d) for v in self.vals[d]])[self.idx[d]]
        return self._tables[k]

    If = staticmethod(lambda c, a, b: np.where(c, a, b))
    Not = staticmethod(np.logical_not)
    max = staticmethod(np.maximum)

    @staticmethod
    def Or(*xs):
        return functools.reduce(np.logical_or, xs) if xs else False

    @staticmethod
    def And(*xs):
        return functools.reduce(np.logical_and, xs)


@dataclass(frozen=True)
class Best:
    """The optimum of the regular space: the strategy, its scaled duration, how many candidates the space has
    (``evaluated``: tilings x orders x residencies), how many fit on chip (``feasible``), and how many of those
    were evaluated exactly (``exact``; the others have an order-free lower bound above the optimum).
    ``survivors``: the (tiling, residency) pairs evaluated exactly, for the z3 certificate."""

    strategy: Regular | None
    scaled_cycles: int | None
    evaluated: int
    feasible: int
    exact: int = 0
    survivors: tuple[tuple[tuple[int, ...], frozenset[str]], ...] = ()


def residencies(p: Problem) -> list[frozenset[str]]:
    """Residency choices worth distinguishing (an operand absent or already on chip is never 'resident')."""
    can = [a for a in ("I", "W", "O") if a in p.operands and not (a == "I" and p.in_free)]
    return [frozenset(c) for r in range(len(can) + 1) for c in itertools.combinations(can, r)]


def moved_bytes(A, p: Problem, acc: Accel, order, res: dict):
    """Bytes moved (scaled by the per-byte time): the duration of the same strategy on a sequential accelerator
    without latency or call overhead, minus its compute time. Used as the first tie-break."""
    flat = _flat(acc)
    return duration(A, p, flat, order, res) - p.macs * (flat.scale // flat.macs_per_cycle)


def best_regular(p: Problem, acc: Accel) -> Best:
    """Evaluate every regular strategy with reuse; return the fastest one that fits (deterministic; cached per
    layer shape: the name of ``p`` plays no part)."""
    return _best(dataclasses.replace(p, name=""), acc)


PROBE = 32  # (tiling, residency) pairs with the smallest lower bound evaluated first, for an incumbent


@functools.lru_cache(maxsize=1024)
def _best(p: Problem, acc: Accel) -> Best:
    """Branch and bound over the whole space, exact: the order-free cuts of :func:`certify._cuts` (valid lower
    bounds of every loop order, tested) are evaluated for every tiling that fits; the ``PROBE`` smallest give an
    incumbent; then every (tiling, residency) whose bound does not exceed the incumbent is evaluated exactly
    under every loop order. Pruned ones are slower than the optimum, so the result (tie-breaks included) is that
    of evaluating everything."""
    from cnncc.backends.offload.certify import _cuts

    vals = {d: list(p.candidates(d)) for d in DIMS}
    grid = np.array(list(itertools.product(*(range(len(vals[d])) for d in DIMS))), dtype=np.int64)
    idx = {d: grid[:, i] for i, d in enumerate(DIMS)}
    A = Vector(p, vals, idx)
    orders = _orders(p)
    rs = residencies(p)
    evaluated = feasible = 0
    cand: list[tuple[int, dict, np.ndarray, np.ndarray]] = []
    for ri, resident in enumerate(rs):
        res = {a: a in resident for a in ("I", "W", "O")}
        fp = footprints(A, p, acc, res)
        if acc.split:
            ok = np.ones(len(grid), dtype=bool)
            for a, cap in zip(("I", "W", "O"), acc.split):
                ok &= np.broadcast_to(np.asarray(fp[a]) <= cap, ok.shape)
        else:
            ok = np.broadcast_to(np.asarray(fp["I"] + fp["W"] + fp["O"]) <= acc.onchip_bytes, (len(grid),))
        sel = np.nonzero(ok)[0]
        evaluated += len(grid) * len(orders)
        if len(sel) == 0:
            continue
        feasible += len(sel) * len(orders)
        B = Vector(p, vals, {d: idx[d][sel] for d in DIMS})
        lb = None
        for cuts in _cuts(B, p, acc, res):
            hi = functools.reduce(np.maximum, [np.broadcast_to(np.asarray(c, dtype=np.int64), sel.shape)
                                               for c in cuts])
            lb = hi if lb is None else np.minimum(lb, hi)
        cand.append((ri, res, sel, lb))
    if not cand:
        return Best(None, None, evaluated, feasible)
    allb = np.sort(np.concatenate([c[3] for c in cand]))
    probe = allb[min(PROBE, len(allb)) - 1]
    state: list = [None, None]
    for first in (True, False):  # the PROBE best bounds give an incumbent, then everything not above it
        for ri, res, sel, lb in cand:
            mask = lb <= probe if first else (lb <= state[0][0]) & (lb > probe)
            if mask.any():
                _scan(p, acc, vals, grid, orders, ri, res, sel[mask], state)
    survivors, exact = [], 0
    for ri, _res, sel, lb in cand:
        keep = sel[lb <= state[0][0]]
        exact += len(keep) * len(orders)
        survivors += [(tuple(int(v) for v in grid[i]), rs[ri]) for i in keep]
    return Best(state[1], state[0][0], evaluated, feasible, exact, tuple(survivors))


FAST_MAX = 64  # at most this many tilings: the scalar closed form (fast.py), else the vectorised one


def _flat(acc: Accel) -> Accel:
    return Accel(onchip_bytes=acc.onchip_bytes, macs_per_cycle=acc.macs_per_cycle, call_overhead_cycles=0,
                 dma_latency_cycles=0, dma_bytes_per_cycle=acc.dma_bytes_per_cycle, dma_channels="shared",
                 overlap="sequential", split=acc.split)


def _scan(p: Problem, acc: Accel, vals, grid, orders, ri: int, res: dict, sel: np.ndarray, state: list) -> None:
    """Evaluate the tilings ``sel`` under residency ``res`` and every loop order; update ``state`` = [best key
    (scaled cycles, moved bytes, rank), best strategy]."""
    from cnncc.backends.offload.fast import durations

    resident = frozenset(k for k, v in res.items() if v)
    if len(sel) <= FAST_MAX:
        flat = _flat(acc)
        for i in sel.tolist():
            t = {d: vals[d][int(grid[i][j])] for j, d in enumerate(DIMS)}
            for oi, c in enumerate(durations(p, acc, t, res, orders)):
                if state[0] is not None and c > state[0][0]:
                    continue
                mv = durations(p, flat, t, res, (orders[oi],))[0] - p.macs * (flat.scale // flat.macs_per_cycle)
                key = (c, mv, i * (len(orders) * 8) + ri * len(orders) + oi)
                if state[0] is None or key < state[0]:
                    state[0], state[1] = key, Regular(Tiling(*(t[d] for d in DIMS)), orders[oi], resident)
        return
    idx = {d: grid[:, j] for j, d in enumerate(DIMS)}
    B = Vector(p, vals, {d: idx[d][sel] for d in DIMS})
    for oi, order in enumerate(orders):
        cost = np.broadcast_to(np.asarray(duration(B, p, acc, order, res), dtype=np.int64), sel.shape)
        low = int(cost.min())
        if state[0] is not None and low > state[0][0]:
            continue
        tied = sel[cost == low]  # the tie-breaks only matter among the fastest of this order
        T = Vector(p, vals, {d: idx[d][tied] for d in DIMS})
        moved = np.broadcast_to(np.asarray(moved_bytes(T, p, acc, order, res), dtype=np.int64), tied.shape)
        rank = tied * (len(orders) * 8) + ri * len(orders) + oi
        i = int(np.lexsort((rank, moved))[0])
        key = (low, int(moved[i]), int(rank[i]))
        if state[0] is None or key < state[0]:
            g = grid[tied[i]]
            t = [vals[d][int(g[j])] for j, d in enumerate(DIMS)]
            state[0], state[1] = key, Regular(Tiling(*t), order, resident)
