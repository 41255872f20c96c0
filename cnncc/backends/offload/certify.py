"""z3 proof that no regular strategy beats a given one (an *incumbent*, from :mod:`exhaustive`).

The closed form of :mod:`regular` is evaluated under the :class:`Linear` algebra: tile sizes are one-hot
Booleans per dimension, and every product ``f(t_d) * e`` becomes a fresh integer ``z = sum_v If(t_d = v,
f(v) * e, 0)`` over a *named* ``e`` — linear, and of size linear in the closed form (the unnamed nested-If form
grows with the product of the tables). ``max(a, b)`` becomes ``m >= a, m >= b``: the closed form is monotone in
each max, so this relaxation is exact for the question asked, ``duration < incumbent`` (UNSAT proves that no
strategy of the space is faster). One query per (loop order, residency); z3's deterministic resource limit
(``rlimit``, derived from ``solver_timeout_s``) bounds the work, so the outcome is reproducible.
"""

from __future__ import annotations

from cnncc.backends.offload.exhaustive import residencies
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem, divisors
from cnncc.backends.offload.regular import _orders, duration, footprints

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
    """Ask z3 whether any regular strategy has scaled duration < ``incumbent``. Returns (verdict, queries):
    ``"unsat"`` (proved optimal), ``"sat"`` (a better one exists: a bug, since the incumbent comes from an
    exhaustive search) or ``"unknown"`` (resource limit). Deterministic: ``rlimit``, fixed seeds."""
    import z3

    rlimit = max(1, int(budget_s * RLIMIT_PER_S))
    queries = 0
    for resident in residencies(p):
        for order in _orders(p):
            s = z3.SolverFor("QF_LIA")
            s.set("random_seed", 0)
            s.set("rlimit", rlimit)
            A = Linear(p, z3, s)
            for d in DIMS:
                s.add(z3.PbEq([(b, 1) for b in A.sel[d].values()], 1))
            res = {a: a in resident for a in ("I", "W", "O")}
            fp = footprints(A, p, acc, res)
            if acc.split:
                for a, cap in zip(("I", "W", "O"), acc.split):
                    s.add(_z(z3, fp[a]) <= cap)
            else:
                s.add(_z(z3, fp["I"] + fp["W"] + fp["O"]) <= acc.onchip_bytes)
            s.add(_z(z3, duration(A, p, acc, order, res)) < incumbent)
            before = _rcount(z3)
            r = s.check()
            queries += 1
            rlimit -= _rcount(z3) - before
            if r == z3.sat:
                return "sat", queries
            if r != z3.unsat:
                return "unknown", queries
            if rlimit <= 0:
                return "unknown", queries
    return "unsat", queries


def _rcount(z3) -> int:
    """z3's resource counter (cumulative over the process; deterministic for the same queries)."""
    st = z3.Solver().statistics()
    return st.get_key_value("rlimit count") if "rlimit count" in st.keys() else 0


def _z(z3, e):
    return z3.IntVal(e) if isinstance(e, int) else e
