"""Keeping tensors on chip across layers: which unit outputs stay resident, chosen by an exact dynamic programme.

A *unit* is a layer with a loop nest together with the elementwise layers fused into it (:mod:`fusion`). A
unit's output tensor T may stay on chip (its producer stores nothing: ``out_keep``) when every consumer reads it
from chip, as its input ``I`` (T is the consumer's only activation input: no input loads, ``in_free``) or as its
fused residual ``R`` (the fused Add's second operand: the accumulators are initialised from chip, no ``R``
loads: the consumer's problem has ``rb = 0``). T is then resident from its producer's end to its last
consumer's end. Every unit run in between that does not read it, and a consumer reading it as ``R`` only, holds
its bytes (``resident`` bytes) and is solved with capacity ``M - resident`` (the same problem on an accelerator
with ``onchip_bytes`` reduced): its optimum, and its z3 proof, are those of the reduced capacity. A consumer
reading T as ``I`` counts it in its own footprint (the whole input on chip), as for the next-layer keep.

The choice is exact: a dynamic programme over the units in execution order whose state at a boundary is the set
of kept tensors live there (produced before it, consumed after it). A unit's cost depends only on that set and
on whether its own output is kept, so the programme minimises the sum of the units' exact optima over every
keep choice (each candidate tensor kept for all its consumers, or stored and loaded by all), i.e. the optimum
over (keep choices x each unit's whole regular space under the capacity those choices leave it). Streamed units
(no loop nest: their chunking depends on the capacity) hold nothing; views cost nothing and may be held across.
The states grow with the candidates live at once (at most 2 on the samples); beyond ``MAX_STATES`` states at a
boundary the candidates living longest are dropped (reported: ``exact`` False).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem

MAX_STATES = 256  # kept-tensor sets per unit boundary before candidates are dropped


@dataclasses.dataclass(frozen=True)
class Candidate:
    """Unit output ``tensor`` of unit position ``pos`` (head layer index ``head``), ``nbytes`` on chip when
    kept; ``roles``: per consumer unit position, how it reads the tensor (``I`` and/or ``R``)."""

    tensor: str
    pos: int
    head: int
    nbytes: int
    roles: tuple[tuple[int, frozenset[str]], ...]

    @property
    def last(self) -> int:
        return max(q for q, _ in self.roles)


@dataclasses.dataclass(frozen=True)
class Variant:
    """How one unit runs: input on chip, fused residual read from chip, output kept, and the tensors it holds
    resident while it runs (``resident`` bytes, ``held`` names): it is solved with ``onchip_bytes - resident``."""

    in_free: bool = False
    res_free: bool = False
    out_keep: bool = False
    resident: int = 0
    held: tuple[str, ...] = ()

    def problem(self, p: Problem) -> Problem:
        return dataclasses.replace(p, in_free=self.in_free, out_keep=self.out_keep, rb=0 if self.res_free else p.rb)


@dataclasses.dataclass(frozen=True)
class KeepPlan:
    """``variants``: per unit head layer index; ``kept``: the kept candidates; ``exact``: no candidate dropped."""

    variants: dict[int, Variant]
    kept: tuple[Candidate, ...]
    candidates: int
    exact: bool = True


def reduced(acc: Accel, resident: int) -> Accel:
    """The accelerator a unit holding ``resident`` bytes of other tensors sees (capacity M - resident)."""
    return acc if resident == 0 else dataclasses.replace(acc, onchip_bytes=acc.onchip_bytes - resident)


def candidates(graph: Any, problems: list[Problem | None], acc: Accel, fused: Any, units: list[int]) -> list[Candidate]:
    """The unit outputs that may stay on chip (see the module docstring); on split buffers only the next-layer
    keep (the consumer is the next unit, reading it as ``I``: nothing is held across a layer)."""
    pos = {u: k for k, u in enumerate(units)}
    index = {ly.name: i for i, ly in enumerate(graph.layers)}
    out: list[Candidate] = []
    for k, h in enumerate(units):
        p, t = problems[h], fused.out.get(h)
        if p is None or t is None or len(graph.layers[h].outputs) != 1 or t in graph.outputs:
            continue
        roles: dict[int, set[str]] = {}
        ok = True
        for c in graph.consumers(t):
            j = index[c.name]
            hc = fused.into.get(j, j)
            if problems[hc] is None or hc not in pos:
                ok = False
            elif j == hc and graph.activation_inputs(c) == [t]:
                roles.setdefault(pos[hc], set()).add("I")
            elif j != hc and fused.res.get(hc) == t:
                roles.setdefault(pos[hc], set()).add("R")
            else:
                ok = False
        if not ok or not roles:
            continue
        if acc.split is not None and (list(roles) != [k + 1] or roles[k + 1] != {"I"}):
            continue
        out.append(Candidate(t, k, h, p.full_bytes("O", final=True),
                             tuple(sorted((q, frozenset(r)) for q, r in roles.items()))))
    return out


def plan(graph: Any, problems: list[Problem | None], acc: Accel, fused: Any, views: set[int],
         optimum: Callable[[Problem, Accel, Accel], Fraction | None]) -> KeepPlan:
    """Choose the kept tensors (see the module docstring). ``optimum(problem, reduced acc, full acc)``: a unit
    variant's exact optimum (None: nothing fits); ``views``: unit heads that are views (cost nothing)."""
    units = [i for i in range(len(problems)) if i not in fused.into]
    cands = candidates(graph, problems, acc, fused, units) if acc.keep_outputs_on_chip else []
    exact = True
    while True:
        states = _reachable(units, cands, acc)
        if states is not None:
            break
        exact = False
        cands.remove(max(cands, key=lambda c: (c.last - c.pos, c.pos)))
    by_pos = {c.pos: c for c in cands}
    n = len(units)

    def variant(k: int, live: frozenset[Candidate], keep: bool) -> Variant:
        in_free = res_free = False
        resident, held = 0, []
        for c in sorted(live, key=lambda c: c.pos):
            r = dict(c.roles).get(k, frozenset())
            in_free |= "I" in r
            res_free |= "R" in r  # read as R only: held; as I and R: the residual comes from the resident input
            if "I" not in r:
                resident += c.nbytes
                held.append(c.tensor)
        return Variant(in_free, res_free, keep, resident, tuple(held))

    def cost(k: int, v: Variant) -> Fraction | None:
        u = units[k]
        p = problems[u]
        if p is None:
            return Fraction(0) if u in views or not v.resident else None
        if v.resident and (acc.split is not None or v.resident >= acc.onchip_bytes):
            return None
        return optimum(v.problem(p), reduced(acc, v.resident), acc)

    # best[k][live] = (cost of units k.., not-keep flags, decisions) given the kept tensors live before unit k
    best: list[dict[frozenset[Candidate], tuple[Fraction, tuple[bool, ...], tuple[bool, ...]] | None]]
    best = [dict() for _ in range(n + 1)]
    for live in states[n]:
        best[n][live] = (Fraction(0), (), ()) if not live else None
    for k in range(n - 1, -1, -1):
        for live in states[k]:
            options = []
            for keep in ((False, True) if k in by_pos else (False,)):
                nxt = best[k + 1].get(_next(k, live, by_pos.get(k) if keep else None))
                if nxt is None:
                    continue
                c = cost(k, variant(k, live, keep))
                if c is not None:
                    options.append((c + nxt[0], (not keep,) + nxt[1], (keep,) + nxt[2]))
            best[k][live] = min(options) if options else None
    first = best[0].get(frozenset())
    variants: dict[int, Variant] = {}
    kept: list[Candidate] = []
    if first is None:  # some unit fits no variant: every unit off chip, the per-layer solve reports the error
        return KeepPlan({u: Variant() for u in units}, (), len(cands), exact)
    now: frozenset[Candidate] = frozenset()
    for k, keep in enumerate(first[2]):
        variants[units[k]] = variant(k, now, keep)
        if keep:
            kept.append(by_pos[k])
        now = _next(k, now, by_pos.get(k) if keep else None)
    return KeepPlan(variants, tuple(kept), len(cands), exact)


def _next(k: int, live: frozenset[Candidate], new: Candidate | None) -> frozenset[Candidate]:
    """The kept tensors live after unit ``k``: those still to be read, and ``new`` (kept by unit ``k``)."""
    out = {c for c in live if c.last > k}
    if new is not None:
        out.add(new)
    return frozenset(out)


def _reachable(units: list[int], cands: list[Candidate], acc: Accel) -> list[set[frozenset[Candidate]]] | None:
    """The kept-tensor sets reachable at each unit boundary (those whose bytes fit on chip); None when some
    boundary has more than ``MAX_STATES``."""
    by_pos = {c.pos: c for c in cands}
    states: list[set[frozenset[Candidate]]] = [{frozenset()}]
    for k in range(len(units)):
        nxt: set[frozenset[Candidate]] = set()
        for live in states[k]:
            for keep in ((False, True) if k in by_pos else (False,)):
                s = _next(k, live, by_pos[k] if keep else None)
                if sum(c.nbytes for c in s) < acc.onchip_bytes:
                    nxt.add(s)
        if len(nxt) > MAX_STATES:
            return None
        states.append(nxt)
    return states
