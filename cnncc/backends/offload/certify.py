"""z3 proof that no regular strategy beats a given one (an *incumbent*, from :mod:`exhaustive`).

The closed form of :mod:`regular` is evaluated under the :class:`Linear` algebra: tile sizes are one-hot
Booleans per dimension, and every product ``f(t_d) * e`` becomes a fresh integer ``z = sum_v If(t_d = v,
f(v) * e, 0)`` over a *named* ``e`` — linear, and of size linear in the closed form (the unnamed nested-If form
grows with the product of the tables). ``max(a, b)`` becomes ``m >= a, m >= b``: the closed form is monotone in
each max, so this relaxation is exact for the question asked, ``duration < incumbent`` (UNSAT proves that no
strategy of the space is faster). An order-free query with tight valid lower-bound cuts, then the few
tilings it cannot exclude with the loop order as a variable (see :func:`prove`); z3's deterministic
resource limit (``rlimit``, derived from
``solver_timeout_s``) bounds the work, so the outcome is reproducible.
"""

from __future__ import annotations

from cnncc.backends.offload.exhaustive import residencies
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem, divisors
from cnncc.backends.offload.regular import _bytes, _macs, _orders, duration, footprints

RLIMIT_PER_S = 20_000_000  # z3 resource units per second of solver_timeout_s (calibrated: ~1 s of work)


class Linear:
    """z3 algebra with named intermediate products (see the module docstring)."""

    def __init__(self, p: Problem, z3, solver):
        self.p, self.z3, self.s = p, z3, solver
        self.sel = {d: {v: z3.Bool(f"t_{d}_{v}") for v in divisors(p.size(d))} for d in DIMS}
        self.count = 0
        self.cache: dict = {}

    def _name(self, e):
        z3 = self.z3
        if isinstance(e, int) or z3.is_int_value(e) or z3.is_const(e):
            return e
        self.count += 1
        v = z3.Int(f"e{self.count}")
        self.s.add(v == e)
        return v

    def fac(self, d, f, e):
        z3 = self.z3
        e = self._name(e)
        key = (d, tuple(f(v) for v in self.sel[d]), str(e))
        if key not in self.cache:
            self.cache[key] = self._name(z3.Sum([z3.If(b, f(v) * e, 0) for v, b in self.sel[d].items()]))
        return self.cache[key]

    def n(self, d, e=1):
        return self.fac(d, lambda v: self.p.size(d) // v, e)

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


def prove(p: Problem, acc: Accel, incumbent: int, budget_s: float) -> tuple[str, int]:
    """Ask z3 whether any regular strategy has scaled duration < ``incumbent`` (every tiling, loop order and
    residency). Returns (verdict, queries): ``"unsat"`` (proved optimal), ``"sat"`` (a better one exists: a bug,
    since the incumbent comes from an exhaustive search) or ``"unknown"`` (resource limit). Deterministic:
    ``rlimit`` (one budget for all checks), fixed seed.

    Order-free queries first: one-hot tile sizes, one Boolean per operand that may be resident, capacity, and
    valid lower-bound cuts ``< incumbent`` (:func:`_cuts`). (1) The plain cuts (first loads + every compute +
    every store; every load + every store + one compute): UNSAT on most layers, since their optimum sits on
    these bounds. (2) Else the strong cuts (reuse alternatives by innermost loop, per-operand load excess on a
    shared channel). (3) Each tiling/residency that (2) cannot exclude (a model) is checked under assumptions
    in a solver where the loop order is a one-hot variable (``o_i -> duration_i < incumbent``); when UNSAT, its
    unsat core is blocked in (2) and (2) is asked again. All checks share one ``rlimit`` budget."""
    import z3

    budget = max(1, int(budget_s * RLIMIT_PER_S))
    s0 = _base(p, acc, incumbent, z3, strong=False)[0]
    start = _used(s0)  # z3 counts resources per context (all solvers); a check's rlimit is relative to it
    s0.set("rlimit", budget)
    r0 = s0.check()
    if r0 != z3.sat:  # the plain cuts prove it (most layers), or the resource limit was hit
        return ("unsat" if r0 == z3.unsat else "unknown"), 1
    s1, A1, res1 = _base(p, acc, incumbent, z3)
    queries, s2 = 1, None
    while True:
        left = budget - (_used(s1) - start)
        if left <= 0:
            return "unknown", queries
        s1.set("rlimit", left)
        r1 = s1.check()
        queries += 1
        if r1 != z3.sat:
            return ("unsat" if r1 == z3.unsat else "unknown"), queries
        m = s1.model()  # a tiling/residency the cuts cannot exclude: every loop order on it
        lits = [b for d in DIMS for b in A1.sel[d].values() if z3.is_true(m.eval(b, model_completion=True))]
        lits += [b if z3.is_true(m.eval(b, model_completion=True)) else z3.Not(b)
                 for b in res1.values() if not isinstance(b, bool)]
        if s2 is None:
            s2, A2, res2 = _base(p, acc, incumbent, z3, strong=False)
            orders = _orders(p)
            ob = [z3.Bool(f"o_{i}") for i in range(len(orders))]
            s2.add(z3.PbEq([(b, 1) for b in ob], 1))
            for b, order in zip(ob, orders):
                s2.add(z3.Implies(b, _z(z3, duration(A2, p, acc, order, res2)) < incumbent))
        left = budget - (_used(s1) - start)
        if left <= 0:
            return "unknown", queries
        s2.set("rlimit", left)
        r2 = s2.check(*lits)  # the same Boolean names in both solvers: the literals fix this tiling/residency
        queries += 1
        if r2 != z3.unsat:
            return ("sat" if r2 == z3.sat else "unknown"), queries
        s1.add(z3.Not(z3.And(*(s2.unsat_core() or lits))))  # the core may exclude more than this tiling


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
    ``N`` computes + every store. On a shared channel a phase is also >= loads + stores: duration >= every load
    + every store + one compute; on separate channels >= loads: duration >= every load + one compute + the last
    store. Sequential: the sum of all computes, loads and stores.

    Every load and store: each tile moved at least once (resident operands once whole) and each output tile
    stored finally once. Beyond that, an operand is loaded ``prod(n_i, i <= its innermost nontrivial loop)``
    times, and the innermost nontrivial loop ``L`` of the order decides (not depthwise): ``L`` in {y, x}: input
    tiles n_k times, output tiles revisited n_c times (n_c - 1 partial-sum spills and reloads each); ``L = k``:
    weight tiles n_y * n_x times, output revisits as before; ``L = c``: input n_k and weights n_y * n_x times.
    One alternative per case (streamed operands only).

    Shared channel: every tile of a streamed operand is loaded at least once, all but one of them in a phase
    ``max(comp, loads) + stores >= comp + stores + max(0, tile load - comp)``; so duration >= first loads + every
    compute + every store + (tiles - 1) * max(0, tile load - comp), for each streamed operand."""
    sc = acc.scale
    lam, pb = acc.dma_latency_cycles * sc, int(sc / acc.dma_bytes_per_cycle)
    calls = 1
    for d in DIMS:
        calls = A.n(d, calls)
    comp = calls * (acc.call_overhead_cycles * sc) + p.macs * (sc // acc.macs_per_cycle)
    comp1 = acc.call_overhead_cycles * sc + _macs(A, p) * (sc // acc.macs_per_cycle)
    first, loads, extra, lumpy = 0, 0, {}, []
    for a in ("I", "W"):
        if a in p.operands and not (a == "I" and p.in_free):
            whole = lam + pb * p.full_bytes(a, acc)
            first = first + A.If(res[a], whole, lam + pb * _bytes(A, p, acc, a))
            tiles = 1
            for d in p.rel(a):
                tiles = A.n(d, tiles)
            once = tiles * lam + pb * _all_tiles(A, p, acc, a)
            loads = loads + A.If(res[a], whole, once)
            more = (A.fac("k", lambda v: p.K // v - 1, once) if a == "I"
                    else A.n("y", A.n("x", once)) - once)
            extra[a] = A.If(res[a], 0, more)
            if strong and acc.pipelined and acc.dma_channels == "shared":
                m = A.max(0, lam + pb * _bytes(A, p, acc, a) - comp1)  # a phase loading a tile of a, beyond comp
                m_all = m
                for d in p.rel(a):
                    m_all = A.n(d, m_all)
                lumpy.append(A.If(res[a], 0, m_all - m))
    tiles_o = 1
    for d in p.rel("O"):
        tiles_o = A.n(d, tiles_o)
    spills = A.If(res["O"], 0, A.fac("c", lambda v: p.C // v - 1,
                                      tiles_o * (lam + pb * _bytes(A, p, acc, "O"))))
    stores, last = 0, 0
    if not p.out_keep:
        fin = pb * p.full_bytes("O", acc, final=True)
        stores = A.If(res["O"], lam + fin, tiles_o * lam + fin)
        last = A.If(res["O"], lam + fin, lam + pb * _bytes(A, p, acc, "O", final=True))
    if p.channelwise or not strong:
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
            out.append([first + comp + st, ld + comp1 + last])
        else:
            out.append([first + comp + st, ld + st + comp1] + [first + comp + st + x for x in lumpy])
    return out


def _all_tiles(A, p: Problem, acc: Accel, a: str):
    """Bytes of all tiles of operand ``a`` (input halos included), each counted once."""
    fs = p.factors(a, acc)
    e = fs[""]
    for d in p.rel(a):
        f = fs.get(d)
        e = A.n(d, e) if f is None else A.fac(d, lambda v, f=f, d=d: (p.size(d) // v) * f(v), e)
    return e




def _z(z3, e):
    return z3.IntVal(e) if isinstance(e, int) else e
