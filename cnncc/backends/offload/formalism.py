"""Steps and strategies, as data a user can read, and the rule checker.

A sub-convolution is a tuple of tile indices {y, x, k, c}. A :class:`Step` loads tiles, computes
sub-convolutions, stores output tiles (``final`` results or ``psum`` spills) and evicts tiles. A strategy is a
sequence of steps; :func:`check` names the first rule it breaks (:data:`RULES`). A :class:`Regular` strategy
(equal tiles but a ragged last one, a loop order, whole-operand residency) expands into steps with :func:`expand`.
"""

from __future__ import annotations

import functools
import itertools
import operator
from dataclasses import dataclass, field
from typing import Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

RULES = {
    "R1-capacity": "on-chip residency never exceeds the capacity (double buffers included)",
    "R2-operands": "a sub-convolution runs only when its input, weight and output tiles are on chip",
    "R3-once": "every sub-convolution runs exactly once",
    "R4-store": "every output tile is stored once, after its last accumulation",
    "R5-reload": "a tile is loaded only when it is not on chip; partial sums are reloaded only after a spill",
}
ALL = "*"  # tile key of a whole-operand transfer


class RuleViolation(Exception):
    """A strategy breaks a rule of :data:`RULES`."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule} ({RULES[rule]}): {detail}")
        self.rule = rule


@dataclass(frozen=True)
class Transfer:
    """One DMA transfer. ``operand`` I/W/O; ``key`` the tile (tuple of tile indices) or ALL; ``what``:
    data | psum | final | init (a fused residual loaded as an output tile's initial value)."""

    operand: str
    key: tuple | str
    nbytes: int
    what: str = "data"


@dataclass(frozen=True)
class Step:
    loads: tuple[Transfer, ...] = ()
    computes: tuple[tuple[int, int, int, int], ...] = ()
    stores: tuple[Transfer, ...] = ()
    evicts: tuple[tuple[str, tuple], ...] = ()   # (operand, key) dropped after the computes
    keeps: tuple[tuple[str, tuple, int], ...] = ()  # final output tiles kept on chip for the next layer


@dataclass(frozen=True)
class Tiling:
    ty: int
    tx: int
    tk: int
    tc: int

    def as_dict(self) -> dict[str, int]:
        return {"y": self.ty, "x": self.tx, "k": self.tk, "c": self.tc}


@dataclass(frozen=True)
class Regular:
    """A regular strategy: equal tiles (the last one along a dimension may be smaller),
    loop ``order`` (outermost first, over DIMS), ``resident`` operands
    loaded whole before the first step (or, for O, accumulated whole and stored after the last), and
    ``reuse`` (False: every step reloads all its tiles — the no-reuse hand baseline)."""

    tiling: Tiling
    order: tuple[str, ...] = DIMS
    resident: frozenset[str] = field(default_factory=frozenset)
    reuse: bool = True

    def summary(self) -> dict:
        return {"tiles": self.tiling.as_dict(), "order": "".join(self.order), "resident": sorted(self.resident),
                "reuse": self.reuse}


def tile_key(p: Problem, a: str, sc: dict[str, int]) -> tuple:
    return _getter(p.rel(a))(sc)


@functools.lru_cache(maxsize=64)
def _getter(rel: tuple[str, ...]):
    """``sc -> tuple(sc[d] for d in rel)`` (every operand depends on at least two loops)."""
    return operator.itemgetter(*rel)


def expand(p: Problem, acc: Accel, s: Regular) -> list[Step]:
    """The explicit steps of a regular strategy (one sub-convolution per step; ragged last tiles smaller)."""
    t = s.tiling.as_dict()
    n = {d: p.ntiles(d, t[d]) for d in DIMS}
    streamed = [a for a in p.operands if a not in s.resident and not (a == "I" and p.in_free)]
    pre = [Transfer(a, ALL, p.full_bytes(a)) for a in ("I", "W") if a in s.resident and a in p.operands
           and not (a == "I" and p.in_free)]
    if p.rb and "O" in s.resident:  # the fused residual initialises the whole resident output
        pre.append(Transfer("O", ALL, p.full_bytes("R"), "init"))
    if p.cb:  # fused per-channel constants, whole, resident for the layer
        pre.append(Transfer("Q", ALL, p.cb, "const"))
    visits: dict[tuple, int] = {}
    steps: list[dict] = []
    prev: dict | None = None
    for idx in itertools.product(*(range(n[d]) for d in s.order)):
        sc = dict(zip(s.order, idx))
        sz = p.sizes_at(t, sc)
        keys = {a: tile_key(p, a, sc) for a in p.operands}
        loads = list(pre) if prev is None else []
        cur: dict[str, Any] = {"loads": loads, "sc": sc, "keys": keys, "stores": [], "evicts": [], "keeps": [],
               "o": p.tile_bytes("O", sz), "fin": p.tile_bytes("O", sz, final=True)}
        for a in streamed:
            if a == "O":
                continue
            if prev is None or not s.reuse or prev["keys"][a] != keys[a]:
                loads.append(Transfer(a, keys[a], p.tile_bytes(a, sz)))
        ko = keys["O"]
        if prev is None or not s.reuse or prev["keys"]["O"] != ko:
            if prev is not None:
                _leave_output(p, s, prev, visits[prev["keys"]["O"]] == n["c"])
            if "O" not in s.resident and visits.get(ko, 0) > 0:
                loads.append(Transfer("O", ko, cur["o"], "psum"))
            elif "O" not in s.resident and p.rb:  # first visit: the fused residual is the initial value
                loads.append(Transfer("O", ko, p.tile_bytes("R", sz), "init"))
        visits[ko] = visits.get(ko, 0) + 1
        if prev is not None:
            for a in streamed:
                if a != "O" and (not s.reuse or prev["keys"][a] != keys[a]):
                    prev["evicts"].append((a, prev["keys"][a]))
        steps.append(cur)
        prev = cur
    assert prev is not None
    _leave_output(p, s, prev, visits[prev["keys"]["O"]] == n["c"])
    for a in streamed:
        if a != "O":
            prev["evicts"].append((a, prev["keys"][a]))
    if "O" in s.resident:
        if p.out_keep:
            prev["keeps"].append(("O", ALL, p.full_bytes("O", final=True)))
        else:
            prev["stores"].append(Transfer("O", ALL, p.full_bytes("O", final=True), "final"))
    return [Step(tuple(x["loads"]), (tuple(x["sc"][d] for d in DIMS),), tuple(x["stores"]), tuple(x["evicts"]),
                 tuple(x["keeps"])) for x in steps]


def _leave_output(p: Problem, s: Regular, prev: dict, last: bool) -> None:
    """The output tile of step ``prev`` is left: store it (final after its last accumulation, else spill)."""
    if "O" in s.resident:
        return
    ko = prev["keys"]["O"]
    if last and p.out_keep:
        prev["keeps"].append(("O", ko, prev["fin"]))
        prev["evicts"].append(("O", ko))
    elif last:
        prev["stores"].append(Transfer("O", ko, prev["fin"], "final"))
    else:
        prev["stores"].append(Transfer("O", ko, prev["o"], "psum"))


def check(p: Problem, tiling: Tiling, steps: list[Step]) -> None:
    """Raise :class:`RuleViolation` naming the first broken rule (capacity, R1, is the simulator's job: it
    depends on time). Checks R2 operands on chip, R3 each sub-convolution once, R4 stores after the last
    accumulation and exactly once, R5 loads only of absent tiles and psum reloads only after a spill."""
    t = tiling.as_dict()
    n = {d: p.ntiles(d, t[d]) for d in DIMS}
    onchip: set[tuple[str, object]] = set()
    if p.in_free:
        onchip.add(("I", ALL))
    done: set[tuple] = set()
    acc_count: dict[tuple, int] = {}
    spilled: set[tuple] = set()
    finished: set[tuple] = set()
    for i, st in enumerate(steps):
        for tr in st.loads:
            if (tr.operand, tr.key) in onchip or (tr.operand, ALL) in onchip:
                raise RuleViolation("R5-reload", f"step {i} loads {tr.operand}{tr.key}, already on chip")
            if tr.operand == "Q" and not p.cb:
                raise RuleViolation("R5-reload", f"step {i} loads per-channel constants the layer has none of")
            if tr.operand == "O" and tr.what == "init":
                if not p.rb or tr.key in acc_count or tr.key in spilled:
                    raise RuleViolation("R5-reload", f"step {i} initialises output tile {tr.key} after its first "
                                        "accumulation (or without a fused residual)")
            elif tr.operand == "O" and (tr.what != "psum" or tr.key not in spilled):
                raise RuleViolation("R5-reload", f"step {i} loads output tile {tr.key} that was never spilled")
            if tr.operand == "O":
                spilled.discard(tr.key)
            onchip.add((tr.operand, tr.key))
        for sc in st.computes:
            scd = dict(zip(DIMS, sc))
            if not all(0 <= scd[d] < n[d] for d in DIMS):
                raise RuleViolation("R3-once", f"step {i} computes {sc}, outside the decomposition")
            if sc in done:
                raise RuleViolation("R3-once", f"step {i} computes {sc} a second time")
            for a in p.operands:
                k = tile_key(p, a, scd)
                if a == "O" and k not in acc_count and k not in spilled and not p.rb:
                    onchip.add(("O", k))  # a fresh output tile starts on chip (zeros; a fused residual is loaded)
                if (a, k) not in onchip and (a, ALL) not in onchip:
                    raise RuleViolation("R2-operands", f"step {i} computes {sc} without {a} tile {k} on chip")
            done.add(sc)
            ko = tile_key(p, "O", scd)
            acc_count[ko] = acc_count.get(ko, 0) + 1
        for tr in st.stores + tuple(Transfer(o, k, b, "final") for o, k, b in st.keeps):
            keys: list[Any] = [tr.key] if tr.key != ALL else sorted(k for k in acc_count)
            for k in keys:
                if ("O", k) not in onchip and ("O", ALL) not in onchip:
                    raise RuleViolation("R4-store", f"step {i} stores output tile {k} that is not on chip")
                if tr.what == "final":
                    if p.cb and ("Q", ALL) not in onchip:
                        raise RuleViolation("R4-store", f"step {i} stores output tile {k} before its per-channel "
                                            "constants are on chip")
                    if acc_count.get(k, 0) != n["c"]:
                        raise RuleViolation("R4-store", f"step {i} stores output tile {k} after "
                                            f"{acc_count.get(k, 0)} of {n['c']} accumulations")
                    if k in finished:
                        raise RuleViolation("R4-store", f"step {i} stores output tile {k} twice")
                    finished.add(k)
                else:
                    spilled.add(k)
                onchip.discard(("O", k))
        for a, k in st.evicts:
            onchip.discard((a, k))
    total = n["y"] * n["x"] * n["k"] * n["c"]
    if len(done) != total:
        raise RuleViolation("R3-once", f"{total - len(done)} of {total} sub-convolutions never run")
    if len(finished) != n["y"] * n["x"] * n["k"]:
        raise RuleViolation("R4-store", f"{n['y'] * n['x'] * n['k'] - len(finished)} output tiles never stored")
