"""Exact exhaustive search of the regular space (every tiling x loop order x residency) by branch and bound in
two stages: the order-free cuts of :mod:`cuts`, vectorised over all tilings with numpy int64 (the closed-form
algebra of :mod:`regular` over arrays), then, for the (tiling, residency) pairs they leave, the per-class
bounds of :mod:`classcut` (loop orders by their innermost loop of several tiles); the orders left are evaluated
exactly by the scalar closed form of :mod:`fast` (orders that differ only in where the loops of one tile sit
have equal durations: one of each is evaluated).

The regular space of a layer is small (per dimension one tile size per tile count, ragged last tiles included;
at most 24 loop orders, 8 residency choices); the search is exact and takes a fraction of a second. The result is the
proven optimum of the space (proof by exhaustion; :mod:`certify` re-proves it with z3 where it can).
Ties are broken deterministically: smallest duration, then fewest bytes moved, then the candidate's rank in a
fixed enumeration order.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnncc.backends.offload.formalism import Regular, Tiling
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import _orders, footprints


class Vector:
    """Closed-form algebra over arrays: element i is tiling i (``idx[d][i]`` indexes ``vals[d]``). ``shared``:
    tables and memoised terms of an equal-shaped problem (the variants with the input on chip or the output kept
    differ only in which terms are used, not in the tables)."""

    def __init__(self, p: Problem, vals: dict[str, list[int]], idx: dict[str, np.ndarray],
                 shared: tuple[dict[Any, Any], dict[Any, Any]] | None = None):
        self.p, self.vals, self.idx = p, vals, idx
        self.memo: dict[Any, Any]
        self._tables: dict[Any, Any]
        self.memo, self._tables = shared if shared is not None else ({}, {})

    def fac(self, d: str, f: Callable[[int], int], e: Any, key: Any = None) -> Any:
        """``e * f(t_d)``; ``key`` names ``f`` so its table over the selection is built once."""
        k = (d, key)
        col = self._tables.get(k) if key is not None else None
        if col is None:
            col = np.array([f(v) for v in self.vals[d]], dtype=np.int64)[self.idx[d]]
            if key is not None:
                self._tables[k] = col
        return e * col

    def n(self, d: str, e: Any = 1) -> Any:
        return self.fac(d, lambda v: self.p.ntiles(d, v), e, key=("ntiles",))

    def zero(self, d: str, f: Callable[[int], int]) -> bool:
        return all(f(v) == 0 for v in self.vals[d])

    def gt1(self, d: str) -> Any:
        k = (d, ("gt1",))
        if k not in self._tables:
            self._tables[k] = np.array([v < self.p.size(d) for v in self.vals[d]])[self.idx[d]]
        return self._tables[k]

    @staticmethod
    def If(c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, (bool, np.bool_)):
            return a if c else b
        return np.where(c, a, b)

    Not = staticmethod(np.logical_not)
    max = staticmethod(np.maximum)

    @staticmethod
    def Or(*xs: Any) -> Any:
        return functools.reduce(np.logical_or, xs) if xs else False

    @staticmethod
    def And(*xs: Any) -> Any:
        return functools.reduce(np.logical_and, xs)


@dataclass(frozen=True)
class Best:
    """The optimum of the regular space: the strategy, its scaled duration, how many candidates the space has
    (``evaluated``: tilings x orders x residencies), how many fit on chip (``feasible``), and how many of those
    count as evaluated exactly (``exact``: the (tiling, residency, loop order) terms no lower bound excluded).
    ``survivors``: those (tile-size indices, residency, loop orders), for the z3 certificate."""

    strategy: Regular | None
    scaled_cycles: int | None
    evaluated: int
    feasible: int
    exact: int = 0
    survivors: tuple[tuple[tuple[int, ...], frozenset[str], tuple[tuple[str, ...], ...]], ...] = ()


def residencies(p: Problem) -> list[frozenset[str]]:
    """Residency choices worth distinguishing (an operand absent or already on chip is never 'resident')."""
    can = [a for a in ("I", "W", "O") if a in p.operands and not (a == "I" and p.in_free)]
    return [frozenset(c) for r in range(len(can) + 1) for c in itertools.combinations(can, r)]


def best_regular(p: Problem, acc: Accel) -> Best:
    """Evaluate every regular strategy with reuse; return the fastest one that fits (deterministic; cached per
    layer shape: the name of ``p`` plays no part)."""
    return _best(dataclasses.replace(p, name=""), acc)


PROBE = 8  # (tiling, residency) pairs with the smallest lower bound evaluated first, for an incumbent


@functools.lru_cache(maxsize=256)
def _space(base: Problem) -> tuple[dict[str, list[int]], np.ndarray, tuple[dict[Any, Any], dict[Any, Any]]]:
    """The tiling grid of a layer shape (input and output off chip) and its shared tables: every variant (input
    on chip, output kept) has the same tile sizes and per-dimension tables."""
    vals = {d: list(base.candidates(d)) for d in DIMS}
    grid = np.indices([len(vals[d]) for d in DIMS], dtype=np.int64).reshape(len(DIMS), -1).T.copy()  # product order
    return vals, grid, ({}, {})


@functools.lru_cache(maxsize=1024)
def _best(p: Problem, acc: Accel) -> Best:
    """Branch and bound over the whole space, exact: the order-free cuts of :func:`cuts.cuts` (valid lower
    bounds of every loop order, tested) are evaluated for every tiling and residency that fits; the ``PROBE``
    smallest are evaluated exactly (the orders their class bounds leave) for an incumbent; then every (tiling,
    residency) whose bound does not exceed the incumbent, in increasing bound order, until the bound exceeds the
    best found. Pruned ones are slower than the optimum, so the result (tie-breaks included) is that of
    evaluating everything. ``survivors``: (tile-size indices, residency, loop orders) left by both stages."""
    from cnncc.backends.offload.cuts import cuts

    vals, grid, shared = _space(dataclasses.replace(p, in_free=False, out_keep=False))
    idx = {d: grid[:, i] for i, d in enumerate(DIMS)}
    A = Vector(p, vals, idx, shared)
    orders = _orders(p)
    rs = residencies(p)
    n = len(grid)
    evaluated = feasible = 0
    lbs, rids, tids = [], [], []
    for ri, resident in enumerate(rs):
        res = {a: a in resident for a in ("I", "W", "O")}
        fp = footprints(A, p, acc, res)
        if acc.split:
            ok = np.ones(n, dtype=bool)
            for a, cap in zip(("I", "W", "O"), acc.split):
                ok &= np.broadcast_to(np.asarray(fp[a]) <= cap, ok.shape)
        else:
            ok = np.broadcast_to(np.asarray(fp["I"] + fp["W"] + fp["O"]) <= acc.onchip_bytes, (n,))
        sel = np.nonzero(ok)[0]
        evaluated += n * len(orders)
        if len(sel) == 0:
            continue
        feasible += len(sel) * len(orders)
        lb = None
        for alt in cuts(A, p, acc, res):
            hi = functools.reduce(np.maximum, [np.broadcast_to(np.asarray(c, dtype=np.int64), (n,)) for c in alt])
            lb = hi if lb is None else np.minimum(lb, hi)
        assert lb is not None
        lbs.append(lb[sel])
        tids.append(sel)
        rids.append(np.full(len(sel), ri, dtype=np.int64))
    if not lbs:
        return Best(None, None, evaluated, feasible)
    lb, ti, ri_ = np.concatenate(lbs), np.concatenate(tids), np.concatenate(rids)
    state: list[Any] = [None, None, {}]
    k = min(PROBE, len(lb))
    first = np.argpartition(lb, k - 1)[:k] if k < len(lb) else np.arange(len(lb))
    done = np.zeros(len(lb), dtype=bool)
    done[first] = True
    _evaluate(p, acc, vals, grid, orders, rs, ti[first], ri_[first], lb[first], state)
    rest = np.nonzero((lb <= state[0][0]) & ~done)[0]
    _evaluate(p, acc, vals, grid, orders, rs, ti[rest], ri_[rest], lb[rest], state)
    best = state[0][0]
    keep = np.nonzero(lb <= best)[0]
    keep = keep[np.lexsort((ti[keep], ri_[keep]))]
    survivors = []
    for j in keep.tolist():
        i, r = int(ti[j]), int(ri_[j])
        live = tuple(orders[oi] for oi in _live(p, acc, vals, grid, orders, rs[r], i, r, best, state[2]))
        if live:
            survivors.append((tuple(int(v) for v in grid[i]), rs[r], live))
    return Best(state[1], best, evaluated, feasible, sum(len(s[2]) for s in survivors), tuple(survivors))


def _live(p: Problem, acc: Accel, vals: dict[str, list[int]], grid: np.ndarray, orders: tuple[tuple[str, ...], ...],
          resident: frozenset[str], i: int, r: int, best: int | None, memo: dict[Any, Any]) -> list[int]:
    """Indices of the loop orders of tiling ``i`` and residency ``r`` worth evaluating against ``best``: one per
    set of orders that differ only in where the loops of one tile sit (equal durations), the first of each, and
    only of the classes (:mod:`classcut`) whose lower bound does not exceed ``best``. Bounds memoised."""
    from cnncc.backends.offload.classcut import class_bounds

    key = (i, r)
    if key not in memo:
        t = {d: vals[d][int(grid[i][j])] for j, d in enumerate(DIMS)}
        n = [p.ntiles(d, t[d]) for d in DIMS]
        bounds = class_bounds(p, acc, t, {a: a in resident for a in ("I", "W", "O")})
        memo[key] = [(oi, bounds[L] if L is not None else None)
                     for oi, L in _representatives(orders, tuple(v > 1 for v in n))]
    return [oi for oi, b in memo[key] if b is None or best is None or b <= best]


@functools.lru_cache(maxsize=256)
def _representatives(orders: tuple[tuple[str, ...], ...], many: tuple[bool, ...]) -> tuple[tuple[int, int | None], ...]:
    """(index, class) of the first of each set of ``orders`` equal on the loops with more than one tile (``many``
    per dimension); class: the innermost such loop's position, None when there is none."""
    reps: dict[tuple[int, ...], int] = {}
    for oi, o in enumerate(orders):
        reps.setdefault(tuple(q for q in (DIMS.index(d) for d in o) if many[q]), oi)
    return tuple((oi, k[-1] if k else None) for k, oi in reps.items())


def _flat(acc: Accel) -> Accel:
    return Accel(onchip_bytes=acc.onchip_bytes, macs_per_cycle=acc.macs_per_cycle, call_overhead_cycles=0,
                 dma_latency_cycles=0, dma_bytes_per_cycle=acc.dma_bytes_per_cycle, dma_channels="shared",
                 overlap="sequential", split=acc.split)


def _evaluate(p: Problem, acc: Accel, vals: dict[str, list[int]], grid: np.ndarray, orders: tuple[tuple[str, ...], ...],
              rs: list[frozenset[str]], ti: np.ndarray, ri: np.ndarray, lb: np.ndarray, state: list[Any]) -> None:
    """Evaluate the (tiling ``ti``, residency ``ri``) pairs exactly under the loop orders :func:`_live` leaves, in
    increasing bound order, until the bound exceeds the best found so far. Updates ``state`` = [best key (scaled
    cycles, moved bytes, rank), best strategy, memoised class bounds]."""
    order = np.argsort(lb, kind="stable")
    for j in order.tolist():
        if state[0] is not None and lb[j] > state[0][0]:
            break
        _scan_one(p, acc, vals, grid, orders, int(ri[j]), rs[int(ri[j])], int(ti[j]), state)


def _strategy(vals: dict[str, list[int]], g: np.ndarray, order: tuple[str, ...], resident: frozenset[str]) -> Regular:
    return Regular(Tiling(*(vals[d][int(g[j])] for j, d in enumerate(DIMS))), order, resident)


def _scan_one(p: Problem, acc: Accel, vals: dict[str, list[int]], grid: np.ndarray,
              orders: tuple[tuple[str, ...], ...], ri: int, resident: frozenset[str], i: int, state: list[Any]) -> None:
    """One tiling, one residency, every loop order (the scalar closed form of :mod:`fast`)."""
    from cnncc.backends.offload.fast import durations

    res = {a: a in resident for a in ("I", "W", "O")}
    t = {d: vals[d][int(grid[i][j])] for j, d in enumerate(DIMS)}
    live = _live(p, acc, vals, grid, orders, resident, i, ri, state[0][0] if state[0] is not None else None,
                 state[2])
    if not live:
        return
    cs = durations(p, acc, t, res, tuple(orders[oi] for oi in live))
    low = min(cs)
    if state[0] is not None and low > state[0][0]:
        return
    flat = _flat(acc)
    for oi, c in zip(live, cs):
        if c != low:
            continue
        mv = durations(p, flat, t, res, (orders[oi],))[0] - p.macs * (flat.scale // flat.macs_per_cycle)
        key = (c, mv, i * (len(orders) * 8) + ri * len(orders) + oi)
        if state[0] is None or key < state[0]:
            state[0], state[1] = key, _strategy(vals, grid[i], orders[oi], resident)
