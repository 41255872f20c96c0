"""z3 proof that no regular strategy beats a given one (an *incumbent*, from :mod:`exhaustive`).

The closed form of :mod:`regular` is evaluated under the :class:`Linear` algebra: tile sizes are one-hot
Booleans per dimension, and every product ``f(t_d) * e`` becomes a fresh integer ``z = sum_v If(t_d = v,
f(v) * e, 0)`` over a *named* ``e`` — linear, and of size linear in the closed form (the unnamed nested-If form
grows with the product of the tables). ``max(a, b)`` becomes ``m >= a, m >= b``: the closed form is monotone in
each max, so this relaxation is exact for the question asked, ``duration < incumbent`` (UNSAT proves that no
strategy of the space is faster). An order-free query with tight valid lower-bound cuts, then the few
tilings the exhaustive search evaluated exactly are blocked (see :func:`prove`); z3's deterministic
resource limit (``rlimit``, derived from
``solver_timeout_s``) bounds the work, so the outcome is reproducible.
"""

from __future__ import annotations

from cnncc.backends.offload.exhaustive import residencies
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import LAST, _bytes, _macs, footprints

RLIMIT_PER_S = 20_000_000  # z3 resource units per second of solver_timeout_s (calibrated: ~1 s of work)


class Linear:
    """z3 algebra with named intermediate products (see the module docstring)."""

    def __init__(self, p: Problem, z3, solver):
        self.p, self.z3, self.s = p, z3, solver
        self.sel = {d: {v: z3.Bool(f"t_{d}_{v}") for v in p.candidates(d)} for d in DIMS}
        self.count = 0
        self.cache: dict = {}
        self.memo: dict = {}

    def _name(self, e):
        z3 = self.z3
        if isinstance(e, int) or z3.is_int_value(e) or z3.is_const(e):
            return e
        self.count += 1
        v = z3.Int(f"e{self.count}")
        self.s.add(v == e)
        return v

    def fac(self, d, f, e, key=None):
        z3 = self.z3
        e = self._name(e)
        key = (d, tuple(f(v) for v in self.sel[d]), str(e))
        if key not in self.cache:
            self.cache[key] = self._name(z3.Sum([z3.If(b, f(v) * e, 0) for v, b in self.sel[d].items()]))
        return self.cache[key]

    def n(self, d, e=1):
        return self.fac(d, lambda v: self.p.ntiles(d, v), e)

    def gt1(self, d):
        return self.z3.Not(self.sel[d][self.p.size(d)])

    def If(self, c, a, b):
        if isinstance(c, bool):
            return a if c else b
        return self.z3.If(c, a, b)

    def Or(self, *xs):
        xs = [x for x in xs if x is not False]
        if any(x is True for x in xs):
            return True
        return self.z3.Or(*xs) if xs else False

    def And(self, *xs):
        if any(x is False for x in xs):
            return False
        xs = [x for x in xs if x is not True]
        return self.z3.And(*xs) if xs else True

    def Not(self, x):
        return (not x) if isinstance(x, bool) else self.z3.Not(x)

    def max(self, a, b):
        self.count += 1
        m = self.z3.Int(f"m{self.count}")
        self.s.add(m >= a, m >= b)
        return m


def prove(p: Problem, acc: Accel, incumbent: int, budget_s: float,
          survivors: tuple[tuple[tuple[int, ...], frozenset[str]], ...] = ()) -> tuple[str, int]:
    """Ask z3 whether a regular strategy has scaled duration < ``incumbent``, outside the (tiling, residency)
    pairs ``survivors`` that the exhaustive search evaluated exactly under every loop order (tiling given as
    indices into :meth:`Problem.candidates`). Returns (verdict, queries): ``"unsat"`` (proved: together with
    the exact evaluation of the survivors, no strategy of the space is faster), ``"sat"`` (z3 found a tiling
    whose lower bound the exhaustive search wrongly pruned: a bug) or ``"unknown"`` (resource limit).
    Deterministic: ``rlimit``, fixed seed.

    One query over one-hot tile sizes, one Boolean per operand that may be resident, the capacity, and the
    order-free cuts ``< incumbent`` (:func:`_cuts`, plain first: most layers' optimum sits on them, then
    strong), with every survivor blocked. This proves exactly what the exhaustive search did not evaluate."""
    import z3

    budget = max(1, int(budget_s * RLIMIT_PER_S))
    queries, start = 0, None
    for strong in (False, True):
        s, A, res = _base(p, acc, incumbent, z3, strong=strong)
        for tidx, resident in survivors:
            lits = [A.sel[d][p.candidates(d)[i]] for d, i in zip(DIMS, tidx)]
            lits += [b if a in resident else z3.Not(b) for a, b in res.items() if not isinstance(b, bool)]
            s.add(z3.Not(z3.And(*lits)))
        if start is None:
            start = _used(s)
        left = budget - (_used(s) - start)
        if left <= 0:
            return "unknown", queries
        s.set("rlimit", left)
        r = s.check()
        queries += 1
        if r == z3.unsat:
            return "unsat", queries
        if r != z3.sat:
            return "unknown", queries
    return "sat", queries


def _used(s) -> int:
    st = s.statistics()
    return int(st.get_key_value("rlimit count")) if "rlimit count" in st.keys() else 0


def _base(p: Problem, acc: Accel, incumbent: int, z3, strong: bool = True):
    """Solver with one-hot tile sizes, residency Booleans, the capacity constraint and the cuts ``< incumbent``."""
    s = z3.SolverFor("QF_LIA")
    s.set("random_seed", 0)
    A = Linear(p, z3, s)
    for d in DIMS:
        s.add(z3.PbEq([(b, 1) for b in A.sel[d].values()], 1))
    can = {a for r in residencies(p) for a in r}
    res = {a: (z3.Bool(f"r_{a}") if a in can else False) for a in ("I", "W", "O")}
    fp = footprints(A, p, acc, res)
    if acc.split:
        for a, cap in zip(("I", "W", "O"), acc.split):
            s.add(_z(z3, fp[a]) <= cap)
    else:
        s.add(_z(z3, fp["I"] + fp["W"] + fp["O"]) <= acc.onchip_bytes)
    alts = [z3.And(*[_z(z3, c) < incumbent for c in cuts]) for cuts in _cuts(A, p, acc, res, strong)]
    s.add(z3.Or(*alts) if len(alts) > 1 else alts[0])
    return s, A, res


def _cuts(A, p: Problem, acc: Accel, res: dict, strong: bool = True) -> list[list]:
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
    input n_k and weights n_y * n_x times. One alternative per case (streamed operands only).

    Shared channel: every tile of a streamed operand is loaded at least once, all but one of them in a phase
    ``max(comp, loads) + stores >= comp + stores + max(0, smallest tile load - largest compute)``; so duration >=
    first loads + every compute + every store + (tiles - 1) * that excess, for each streamed operand."""
    sc = acc.scale
    lam, pb = acc.dma_latency_cycles * sc, int(sc / acc.dma_bytes_per_cycle)
    lastk = {d: LAST for d in DIMS}
    calls = 1
    for d in DIMS:
        calls = A.n(d, calls)
    comp = calls * (acc.call_overhead_cycles * sc) + p.macs * (sc // acc.macs_per_cycle)
    comp_full = acc.call_overhead_cycles * sc + _macs(A, p) * (sc // acc.macs_per_cycle)
    comp_last = acc.call_overhead_cycles * sc + _macs(A, p, lastk) * (sc // acc.macs_per_cycle)
    first, loads, extra, lumpy = 0, 0, {}, []
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
    spills = A.If(res["O"], 0, A.fac("c", lambda v: p.ntiles("c", v) - 1,
                                      tiles_o * lam + pb * _all_tiles(A, p, "O")))
    stores, last = 0, 0
    if not p.out_keep:
        fin = pb * p.full_bytes("O", final=True)
        stores = A.If(res["O"], lam + fin, tiles_o * lam + fin)
        last = A.If(res["O"], lam + fin, lam + pb * _bytes(A, p, "O", True, lastk))
    if p.channelwise or p.w_follows_output or not strong:
        alts = [(0, 0)]
    else:  # (extra loads, extra stores) for L in {y, x}, L = k, L = c
        xi, xw = extra.get("I", 0), extra.get("W", 0)
        alts = [(xi + spills, spills), (xw + spills, spills), (xi + xw, 0)]
    out = []
    for xl, xs in alts:
        ld, st = loads + xl, stores + xs
        if not acc.pipelined:
            out.append([comp + ld + st])
        elif acc.dma_channels == "separate":
            out.append([first + comp + st, ld + comp_last + last])
        else:
            out.append([first + comp + st, ld + st + comp_last] + [first + comp + st + x for x in lumpy])
    return out


def _ntiles(A, p: Problem, a: str):
    e = 1
    for d in p.rel(a):
        e = A.n(d, e)
    return e


def _all_tiles(A, p: Problem, a: str):
    """Bytes of all tiles of operand ``a`` (input halos included; ragged last tiles with their size), each
    counted once: per dimension (n - 1) * f(t) + f(last)."""
    fs = p.factors(a)
    e = fs[""]
    for d in p.rel(a):
        f = fs.get(d)
        if f is None:
            e = A.n(d, e)
        else:
            e = A.fac(d, lambda v, f=f, d=d: (p.ntiles(d, v) - 1) * f(v) + f(p.last(d, v)), e)
    return e


def _z(z3, e):
    return z3.IntVal(e) if isinstance(e, int) else e
