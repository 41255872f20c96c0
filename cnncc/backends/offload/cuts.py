"""Order-free lower-bound cuts of the regular space: for one tiling and residency, lower bounds (scaled cycles)
on the duration of every loop order. The exhaustive search (:mod:`exhaustive`) prunes with them; they are
written over the closed-form algebra of :mod:`regular` (numpy arrays of tilings, or one concrete tiling in the
tests, which check them against the exact duration of every order on random layers)."""

from __future__ import annotations

from typing import Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import LAST, _bytes, _macs


def cuts(A: Any, p: Problem, acc: Accel, res: dict[str, Any], strong: bool = True) -> list[list[Any]]:
    """Lower bounds (scaled cycles) on the duration of every strategy of a tiling and residency, whatever its loop
    order, as alternatives: a list of lists of cuts such that, for every loop order, the duration is at least
    every cut of one of the lists.

    The closed form is ``first loads + sum over steps s >= 1 of phase_s + last compute + last store`` with
    ``N - 1`` phases (``N`` = compute calls). A pipelined phase is ``max(comp, loads) + stores`` (shared DMA) or
    ``max(comp + stores, loads)`` (separate channels), so both are >= comp + stores: duration >= first loads +
    every compute + every store. On a shared channel a phase is also >= loads + stores: duration >= every load
    + every store + the last compute (all tiles of their last size); on separate channels >= loads: duration >=
    every load + the last compute + the last store. Sequential: the sum of all computes, loads and stores.

    Every load and store: each tile moved at least once (resident operands once whole; ragged tiles with their
    own sizes) and each output tile stored finally once. Beyond that, an operand is loaded ``prod(n_i, i <= its
    innermost nontrivial loop)`` times, and the innermost nontrivial loop ``L`` of the order decides (input not
    following k): ``L`` in {y, x}: input tiles n_k times, output tiles revisited n_c times (n_c - 1 partial-sum
    spills and reloads each); ``L = k``: weight tiles n_y * n_x times, output revisits as before; ``L = c``:
    input n_k and weights n_y * n_x times. One alternative per case (streamed operands only). A fused residual
    (``Problem.rb``) is loaded once per output tile (once whole when the output is resident).

    Shared channel: every tile of a streamed operand is loaded at least once, all but one of them in a phase
    ``max(comp, loads) + stores >= comp + stores + max(0, smallest tile load - largest compute)``; so duration >=
    first loads + every compute + every store + (tiles - 1) * that excess, for each streamed operand."""
    sc = acc.scale
    lam, pb = acc.dma_latency_cycles * sc, int(sc / acc.dma_bytes_per_cycle)
    lastk = {d: LAST for d in DIMS}
    calls: Any = 1
    for d in DIMS:
        calls = A.n(d, calls)
    comp = calls * (acc.call_overhead_cycles * sc) + p.macs * (sc // acc.macs_per_cycle)
    comp_full = acc.call_overhead_cycles * sc + _macs(A, p) * (sc // acc.macs_per_cycle)
    comp_last = acc.call_overhead_cycles * sc + _macs(A, p, lastk) * (sc // acc.macs_per_cycle)
    first: Any = 0
    loads: Any = 0
    extra: dict[str, Any] = {}
    lumpy: list[Any] = []
    for a in ("I", "W"):
        if a in p.operands and not (a == "I" and p.in_free):
            whole = lam + pb * p.full_bytes(a)
            first = first + A.If(res[a], whole, lam + pb * _bytes(A, p, a))
            tiles = _ntiles(A, p, a)
            once = tiles * lam + pb * _all_tiles(A, p, a)
            loads = loads + A.If(res[a], whole, once)
            if a == "I" and not p.channelwise:
                extra[a] = A.If(res[a], 0, A.fac("k", lambda v: p.ntiles("k", v) - 1, once))
            elif a == "W" and not p.w_follows_output:
                extra[a] = A.If(res[a], 0, A.n("y", A.n("x", once)) - once)
            if strong and acc.pipelined and acc.dma_channels == "shared":
                m = A.max(0, lam + pb * _bytes(A, p, a, kinds=lastk) - comp_full)
                lumpy.append(A.If(res[a], 0, tiles * m - m))
    tiles_o = _ntiles(A, p, "O")
    if p.rb:  # a fused residual: each output tile's initial value loaded once (the whole once if O is resident)
        whole_r = lam + pb * p.full_bytes("R")
        first = first + A.If(res["O"], whole_r, lam + pb * _bytes(A, p, "R"))
        loads = loads + A.If(res["O"], whole_r, tiles_o * lam + pb * _all_tiles(A, p, "R"))
        if strong and acc.pipelined and acc.dma_channels == "shared":
            m = A.max(0, lam + pb * _bytes(A, p, "R", kinds=lastk) - comp_full)
            lumpy.append(A.If(res["O"], 0, tiles_o * m - m))
    if p.cb:  # fused per-channel constants: one whole load before the first step
        first = first + lam + pb * p.cb
        loads = loads + lam + pb * p.cb
    spills = A.If(res["O"], 0, A.fac("c", lambda v: p.ntiles("c", v) - 1,
                                      tiles_o * lam + pb * _all_tiles(A, p, "O")))
    stores: Any = 0
    last: Any = 0
    if not p.out_keep:
        fin = pb * p.full_bytes("O", final=True)
        stores = A.If(res["O"], lam + fin, tiles_o * lam + fin)
        last = A.If(res["O"], lam + fin, lam + pb * _bytes(A, p, "O", True, lastk))
    alts: list[tuple[Any, Any]]
    if p.channelwise or p.w_follows_output or not strong:
        alts = [(0, 0)]
    else:  # (extra loads, extra stores) for L in {y, x}, L = k, L = c
        xi, xw = extra.get("I", 0), extra.get("W", 0)
        alts = [(xi + spills, spills), (xw + spills, spills), (xi + xw, 0)]
    out: list[list[Any]] = []
    for xl, xs in alts:
        ld, st = loads + xl, stores + xs
        if not acc.pipelined:
            out.append([comp + ld + st])
        elif acc.dma_channels == "separate":
            out.append([first + comp + st, ld + comp_last + last])
        else:
            out.append([first + comp + st, ld + st + comp_last] + [first + comp + st + x for x in lumpy])
    return out


def _ntiles(A: Any, p: Problem, a: str) -> Any:
    e: Any = 1
    for d in p.rel(a):
        e = A.n(d, e)
    return e


def _all_tiles(A: Any, p: Problem, a: str) -> Any:
    """Bytes of all tiles of operand ``a`` (input halos included; ragged last tiles with their size), each
    counted once: per dimension (n - 1) * f(t) + f(last)."""
    fs = p.factors(a)
    e: Any = fs[""]
    for d in p.rel(a):
        f = fs.get(d)
        if f is None:
            e = A.n(d, e)
        else:
            e = A.fac(d, lambda v, f=f, d=d: (p.ntiles(d, v) - 1) * f(v) + f(p.last(d, v)), e)
    return e
