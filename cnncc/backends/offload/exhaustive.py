"""Exact exhaustive search of the regular space: every tiling x loop order x residency, evaluated with the same
closed form as :mod:`regular` (written once over an algebra) but vectorised over all tilings with numpy int64.

The regular space of a layer is small (per dimension the divisors of its size; at most 24 loop orders, 8
residency choices), so evaluating *every* candidate is exact and takes a fraction of a second. The result is the
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
from cnncc.backends.offload.problem import DIMS, Problem, divisors
from cnncc.backends.offload.regular import _orders, duration, footprints


class Vector:
    """Closed-form algebra over arrays: element i is tiling i (``idx[d][i]`` indexes ``vals[d]``)."""

    def __init__(self, p: Problem, vals: dict[str, list[int]], idx: dict[str, np.ndarray]):
        self.p, self.vals, self.idx = p, vals, idx

    def fac(self, d, f, e):
        table = np.array([f(v) for v in self.vals[d]], dtype=np.int64)
        return e * table[self.idx[d]]

    def n(self, d, e=1):
        return self.fac(d, lambda v: self.p.size(d) // v, e)

    def gt1(self, d):
        return np.array([v < self.p.size(d) for v in self.vals[d]])[self.idx[d]]

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
    """The optimum of the regular space: the strategy, its scaled duration, how many candidates were evaluated
    (``evaluated``) of which ``feasible`` fit on chip."""

    strategy: Regular | None
    scaled_cycles: int | None
    evaluated: int
    feasible: int


def residencies(p: Problem) -> list[frozenset[str]]:
    """Residency choices worth distinguishing (an operand absent or already on chip is never 'resident')."""
    can = [a for a in ("I", "W", "O") if a in p.operands and not (a == "I" and p.in_free)]
    return [frozenset(c) for r in range(len(can) + 1) for c in itertools.combinations(can, r)]


def moved_bytes(A, p: Problem, acc: Accel, order, res: dict):
    """Bytes moved (scaled by the per-byte time): the duration of the same strategy on a sequential accelerator
    without latency or call overhead, minus its compute time. Used as the first tie-break."""
    flat = Accel(onchip_bytes=acc.onchip_bytes, macs_per_cycle=acc.macs_per_cycle, call_overhead_cycles=0,
                 dma_latency_cycles=0, dma_bytes_per_cycle=acc.dma_bytes_per_cycle, dma_channels="shared",
                 overlap="sequential", act_bytes=acc.act_bytes, weight_bytes=acc.weight_bytes,
                 psum_bytes=acc.psum_bytes, split=acc.split)
    return duration(A, p, flat, order, res) - p.macs * (flat.scale // flat.macs_per_cycle)


def best_regular(p: Problem, acc: Accel) -> Best:
    """Evaluate every regular strategy with reuse; return the fastest one that fits (deterministic; cached per
    layer shape: the name of ``p`` plays no part)."""
    return _best(dataclasses.replace(p, name=""), acc)


@functools.lru_cache(maxsize=1024)
def _best(p: Problem, acc: Accel) -> Best:
    vals = {d: divisors(p.size(d)) for d in DIMS}
    grid = np.array(list(itertools.product(*(range(len(vals[d])) for d in DIMS))), dtype=np.int64)
    idx = {d: grid[:, i] for i, d in enumerate(DIMS)}
    A = Vector(p, vals, idx)
    orders = _orders(p)
    best_key, best, evaluated, feasible = None, None, 0, 0
    for ri, resident in enumerate(residencies(p)):
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
        for oi, order in enumerate(orders):
            cost = np.broadcast_to(np.asarray(duration(B, p, acc, order, res), dtype=np.int64), sel.shape)
            low = int(cost.min())
            if best_key is not None and low > best_key[0]:
                continue
            tied = sel[cost == low]  # the tie-breaks only matter among the fastest of this order
            T = Vector(p, vals, {d: idx[d][tied] for d in DIMS})
            moved = np.broadcast_to(np.asarray(moved_bytes(T, p, acc, order, res), dtype=np.int64), tied.shape)
            rank = tied * (len(orders) * 8) + ri * len(orders) + oi
            i = int(np.lexsort((rank, moved))[0])
            key = (low, int(moved[i]), int(rank[i]))
            if best_key is None or key < best_key:
                g = grid[tied[i]]
                t = [vals[d][int(g[j])] for j, d in enumerate(DIMS)]
                best_key, best = key, Regular(Tiling(*t), order, resident)
    return Best(best, None if best_key is None else best_key[0], evaluated, feasible)
