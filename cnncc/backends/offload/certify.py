"""z3 certificate of a layer's optimum over what the branch and bound could not exclude by its lower bounds.

The proof of optimality has two parts. (1) The exhaustive search (:mod:`exhaustive`) evaluates the order-free
cuts of :mod:`cuts` for *every* (tiling, residency) that fits, exactly in integers; a pair whose cut exceeds
the incumbent (the best duration found) is excluded — the cuts are valid lower bounds of every loop order,
property-tested against the closed form on random layers and accelerators. (2) What is left, the *survivors*,
the search evaluates exactly under every loop order; this module re-proves part (2) with z3: for each survivor
and each loop order, the duration is written as an SMT-LIB term (:func:`compose`: the per-step quantities of
the 16 full/last tile-size kinds as numerals, their composition — transition classes, their counts, the
pipelined phases — as z3 arithmetic, an independent transcription of the closed form of :mod:`regular`), and z3
is asked whether some survivor fits and, under some loop order, is faster than the incumbent.

UNSAT: proved (with part 1, no regular strategy is faster). SAT: the search missed a faster strategy (a bug;
the caller raises a mismatch). ``unknown``: z3's deterministic resource limit (``rlimit``, derived from
``solver_timeout_s``) ran out — the caller reports ``feasible`` and claims no proof. The tests give z3 every
tiling of small random layers as survivors: it then proves the whole space, and agrees with brute force.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import Concrete, _orders, footprints

RLIMIT_PER_S = 20_000_000  # z3 resource units per second of solver_timeout_s (calibrated: ~1 s of work)
Survivors = Sequence[tuple[Any, ...]]  # (tile-size indices, residency[, loop orders]); no orders: every order


def _max(a: str, b: str) -> str:
    return f"(ite (>= {a} {b}) {a} {b})"


def compose(p: Problem, acc: Accel, t: dict[str, int], res: dict[str, bool], orders: Sequence[tuple[str, ...]]
            ) -> list[str]:
    """The duration of one tiling and residency under each loop order as an SMT-LIB term that z3 evaluates: the
    per-step quantities (compute, tile loads and stores of the 16 full/last tile-size kinds, bytes from the tile
    sizes) as numerals, their composition — the transition classes of :mod:`regular`, their counts, the
    pipelined phases ``max(compute, loads) + stores`` — as z3 arithmetic. Transitions that occur zero times are
    left out."""
    sc = acc.scale
    lam, pb = acc.dma_latency_cycles * sc, int(sc / acc.dma_bytes_per_cycle)
    ovh, mac_t = acc.call_overhead_cycles * sc, sc // acc.macs_per_cycle
    pos_of = {d: i for i, d in enumerate(DIMS)}
    n = [p.ntiles(d, t[d]) for d in DIMS]
    sizes = [(t[d], p.last(d, t[d])) for d in DIMS]
    movable = [a for a in ("I", "W") if a in p.operands and not (a == "I" and p.in_free)]
    tab: dict[str, dict[tuple[int, ...], str]] = {k: {} for k in ["comp", "psum", "fin", "init"] + movable}
    for kt in itertools.product((0, 1), repeat=4):
        s = {d: sizes[i][kt[i]] for i, d in enumerate(DIMS)}
        tab["comp"][kt] = f"(+ {ovh} (* {mac_t} {p.FY * p.FX} {' '.join(str(s[d]) for d in DIMS)}))"
        for a in movable:
            tab[a][kt] = f"(+ {lam} (* {pb} {p.tile_bytes(a, s)}))"
        tab["psum"][kt] = f"(+ {lam} (* {pb} {p.tile_bytes('O', s)}))"
        tab["init"][kt] = f"(+ {lam} (* {pb} {p.tile_bytes('R', s)}))"
        tab["fin"][kt] = "0" if p.out_keep else f"(+ {lam} (* {pb} {p.tile_bytes('O', s, final=True)}))"
    rel = {a: [pos_of[r] for r in p.rel(a)] for a in p.operands}
    first = [f"(+ {lam} (* {pb} {p.full_bytes(a)}))" if res[a] else tab[a][(0, 0, 0, 0)] for a in movable]
    if p.rb:  # fused residual: the first output tile's (or the whole resident output's) initial value
        first.append(f"(+ {lam} (* {pb} {p.full_bytes('R')}))" if res["O"] else tab["init"][(0, 0, 0, 0)])
    if p.cb:  # fused per-channel constants, loaded whole before the first step
        first.append(f"(+ {lam} (* {pb} {p.cb}))")
    out = []
    for order in orders:
        terms = list(first)
        opos = [pos_of[d] for d in order]
        for pos, di in enumerate(opos):
            ticking = set(opos[pos:])
            hit = [a for a in movable if not res[a] and any(n[r] > 1 for r in rel[a] if r in ticking)]
            ochg = not res["O"] and any(n[r] > 1 for r in rel["O"] if r in ticking)
            outer = opos[:pos]
            choices = []
            for od in outer:  # (count, kind, first reduction visit, last reduction visit)
                if od == 3:
                    nc = n[3]
                    cs: list[tuple[int, int, bool | None, bool | None]] = [
                        (int(nc == 1), 0, True, True), (int(nc > 1), 0, True, False),
                        (max(nc - 2, 0), 0, False, False), (int(nc > 1), 1, False, True)]
                else:
                    cs = [(n[od] - 1, 0, None, None), (1, 1, None, None)]
                choices.append([c for c in cs if c[0]])
            nxts = [c for c in ((max(n[di] - 2, 0), 0), (min(n[di] - 1, 1), 1)) if c[0]]
            ka, kb = [0, 0, 0, 0], [0, 0, 0, 0]
            for q in opos[pos + 1:]:
                ka[q] = 1
            cpos = outer.index(3) if 3 in outer else -1
            for combo in itertools.product(*choices):
                cnt = []
                for od, (c, kind, _, _) in zip(outer, combo):
                    ka[od] = kb[od] = kind
                    cnt.append(str(c))
                final, reload = ((False, True) if di == 3 else (True, False) if cpos < 0 else
                                 (bool(combo[cpos][3]), not combo[cpos][2]))
                for c2, nk in nxts:
                    ka[di], kb[di] = 0, nk
                    ta, tb = tuple(ka), tuple(kb)
                    ld = [tab[a][tb] for a in hit] + ([tab["psum"][tb]] if reload and ochg else [])
                    if p.rb and ochg and not reload:
                        ld.append(tab["init"][tb])
                    tl = "0" if not ld else ld[0] if len(ld) == 1 else f"(+ {' '.join(ld)})"
                    ts = (tab["fin"][ta] if final else tab["psum"][ta]) if ochg else "0"
                    cp = tab["comp"][ta]
                    if not acc.pipelined:
                        ph = f"(+ {cp} {tl} {ts})"
                    elif acc.dma_channels == "separate":
                        ph = _max(f"(+ {cp} {ts})", tl)
                    else:
                        ph = f"(+ {_max(cp, tl)} {ts})"
                    terms.append(f"(* {' '.join(cnt + [str(c2)])} {ph})")
        last = (1, 1, 1, 1)
        store = ("0" if p.out_keep else f"(+ {lam} (* {pb} {p.full_bytes('O', final=True)}))") if res["O"] \
            else tab["fin"][last]
        terms += [tab["comp"][last], store]
        out.append(f"(+ {' '.join(terms)})")
    return out


def prove(p: Problem, acc: Accel, incumbent: int, budget_s: float, survivors: Survivors) -> tuple[str, str]:
    """Ask z3 whether a survivor (a (tiling, residency) pair the lower bounds did not exclude), under some loop
    order, fits and has a scaled duration < ``incumbent`` (:func:`compose`; one query for all survivors).
    Returns (verdict, why): ``"unsat"`` (proved), ``"sat"`` (a faster strategy: the exhaustive search is
    wrong) or ``"unknown"`` (resource limit). Deterministic: ``rlimit``, fixed seed."""
    import z3

    every = _orders(p)
    claims, terms = [], 0
    for tidx, resident, *given in survivors:
        orders = given[0] if given else every
        terms += len(orders)
        t = {d: p.candidates(d)[i] for d, i in zip(DIMS, tidx)}
        res = {a: a in resident for a in ("I", "W", "O")}
        fp = footprints(Concrete(p, t), p, acc, res)
        fits = " ".join(f"(<= {fp[a]} {cap})" for a, cap in zip(("I", "W", "O"), acc.split)) if acc.split \
            else f"(<= (+ {fp['I']} {fp['W']} {fp['O']}) {acc.onchip_bytes})"
        faster = " ".join(f"(< {d} {incumbent})" for d in compose(p, acc, t, res, orders))
        claims.append(f"(and {fits} (or {faster}))")
    s = z3.SolverFor("QF_LIA")
    s.set("random_seed", 0)
    s.set("rlimit", max(1, int(budget_s * RLIMIT_PER_S)))
    s.from_string(f"(assert (or {' '.join(claims)}))")
    r = s.check()
    if r == z3.sat:
        return "sat", "a survivor is faster"
    if r != z3.unsat:
        return "unknown", "resource limit"
    return "unsat", f"{len(survivors)} survivors, {terms} (tiling, residency, loop order) terms"


def _used(s: Any) -> int:
    """z3's resource counter (cumulative in the context: only differences are meaningful)."""
    st = s.statistics()
    return int(st.get_key_value("rlimit count")) if "rlimit count" in st.keys() else 0
