"""Step-level strategies for small instances: a step-indexed z3 encoding over one decomposition (a tiling).

Step k (k = 0..S-1, S = number of sub-convolutions) computes exactly one sub-convolution. Booleans:
``x[s,k]`` sub-convolution s runs at step k; ``on[d,k]`` tile d (an input, weight or output tile) is on chip
during step k; ``ld[d,k]`` it is loaded in step k. Rules (those of :mod:`formalism`):

* ``x[s,k] -> on[I(s),k] & on[W(s),k] & on[O(s),k]`` (R2), one sub-convolution per step, each once (R3);
* input/weight tiles: ``on[d,k] -> on[d,k-1] | ld[d,k]`` (R5: a load only when absent, ``ld -> !on[d,k-1]``);
* output tiles: entering the chip with earlier accumulations reloads the spilled partial sums, without any starts
  fresh; leaving it stores the tile (final after its last accumulation, else a partial-sum spill, R4); a
  finished tile never re-enters;
* capacity (R1): sequential, the tiles of each step; pipelined, the tiles of steps k-1 and k together (the
  loads of step k overlap the compute of step k-1).

Duration, exactly the simulator's: sequential ``sum_k L_k + C + S_k``; pipelined ``L_0 + sum_{j>=1}
(max(C, L_j) + S_{j-1}) + C + S_last`` (shared channel) or ``max(C + S_{j-1}, L_j)`` (separate), with L_k the
loads and S_k the stores of step k. ``Optimize`` minimises it under a deterministic ``rlimit``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from cnncc.backends.offload.formalism import Step, Tiling, Transfer, tile_key
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

RLIMIT_PER_S = 2_000_000  # z3 resource units per second of solver_timeout_s (calibrated: ~1-2 s of work)


@dataclass(frozen=True)
class StepResult:
    """``steps`` (None when nothing was found), the z3 objective in cycles, and the status: ``optimal``
    (proved minimal; only without ``below``), ``feasible`` (a sequence found: faster than ``below``, or the best
    within the resource limit, not proved), ``timeout`` (nothing found) or ``infeasible`` (none exists)."""

    steps: list[Step] | None
    cycles: Fraction | None
    status: str


def subconvs(p: Problem, t: Tiling) -> list[tuple[int, int, int, int]]:
    td = t.as_dict()
    return [(a, b, c, e) for a, b, c, e in itertools.product(*(range(p.size(d) // td[d]) for d in DIMS))]


def solve_steps(p: Problem, acc: Accel, t: Tiling, budget_s: float, below: Fraction | None = None) -> StepResult:
    """Fastest step sequence over the decomposition ``t`` (``below``: only strategies faster than this)."""
    import z3

    td = t.as_dict()
    scs = subconvs(p, t)
    S = len(scs)
    sc = acc.scale
    per_byte = Fraction(sc) / acc.dma_bytes_per_cycle

    def xfer(b: int) -> int:
        return int(acc.dma_latency_cycles * sc + per_byte * b)

    comp = int(acc.compute(p.tile_macs(td)) * sc)
    n_c = p.size("c") // td["c"]
    tiles = {a: sorted({tile_key(p, a, dict(zip(DIMS, s))) for s in scs}) for a in p.operands}
    size = {a: p.tile_bytes(a, td) for a in p.operands}
    fin_t, psum_t = xfer(p.tile_bytes("O", td, final=True)), xfer(size["O"])
    # with ``below`` the question is satisfiability (is any step sequence faster?), answered by a plain solver
    opt: Any = z3.Optimize() if below is None else z3.SolverFor("QF_LIA")
    opt.set("rlimit", max(1, int(budget_s * RLIMIT_PER_S)))
    if below is not None:
        opt.set("random_seed", 0)
    x = [[z3.Bool(f"x_{i}_{k}") for k in range(S)] for i in range(S)]
    on = {(a, d): [z3.Bool(f"on_{a}{d}_{k}") for k in range(S)] for a in p.operands for d in tiles[a]}
    ld = {(a, d): [z3.Bool(f"ld_{a}{d}_{k}") for k in range(S)] for a in p.operands if a != "O" for d in tiles[a]}
    for i in range(S):
        opt.add(z3.PbEq([(x[i][k], 1) for k in range(S)], 1))
    for k in range(S):
        opt.add(z3.PbEq([(x[i][k], 1) for i in range(S)], 1))
        for i, s in enumerate(scs):
            sd = dict(zip(DIMS, s))
            for a in p.operands:
                opt.add(z3.Implies(x[i][k], on[(a, tile_key(p, a, sd))][k]))
    loads: list[list[Any]] = [[] for _ in range(S)]   # (Bool, cost, Transfer)
    stores: list[list[Any]] = [[] for _ in range(S)]
    for (a, d), v in ld.items():
        for k in range(S):
            prev = on[(a, d)][k - 1] if k else z3.BoolVal(False)
            opt.add(z3.Implies(on[(a, d)][k], z3.Or(prev, v[k])), z3.Implies(v[k], z3.And(on[(a, d)][k],
                                                                                         z3.Not(prev))))
            loads[k].append((v[k], xfer(size[a]), Transfer(a, d, size[a])))
    for d in tiles["O"]:
        mine = [i for i, s in enumerate(scs) if tile_key(p, "O", dict(zip(DIMS, s))) == d]
        o = on[("O", d)]
        done = [z3.Sum([z3.If(x[i][kk], 1, 0) for i in mine for kk in range(k + 1)]) for k in range(S)]
        for k in range(S):
            before = done[k - 1] if k else z3.IntVal(0)
            enter = z3.And(o[k], z3.Not(o[k - 1])) if k else o[k]
            leave = z3.And(o[k], z3.Not(o[k + 1])) if k + 1 < S else o[k]
            opt.add(z3.Implies(enter, before < n_c))  # a finished tile never re-enters
            opt.add(z3.Implies(z3.And(enter, before == 0), z3.Or(*[x[i][k] for i in mine])))  # fresh: computed
            reload = z3.And(enter, before > 0)
            loads[k].append((reload, psum_t, Transfer("O", d, size["O"], "psum")))
            stores[k].append((z3.And(leave, done[k] == n_c), fin_t, Transfer("O", d, p.tile_bytes("O", td,
                                                                                                True), "final")))
            stores[k].append((z3.And(leave, done[k] < n_c), psum_t, Transfer("O", d, size["O"], "psum")))
    _capacity(opt, z3, p, acc, on, size, S)
    L = [z3.Sum([z3.If(b, c, 0) for b, c, _ in loads[k]]) for k in range(S)]
    St = [z3.Sum([z3.If(b, c, 0) for b, c, _ in stores[k]]) for k in range(S)]
    if not acc.pipelined:
        total = z3.Sum([L[k] + comp + St[k] for k in range(S)])
    else:
        phases = []
        for j in range(1, S):
            m = z3.Int(f"m_{j}")
            lo, hi = (comp + St[j - 1], L[j]) if acc.dma_channels == "separate" else (comp, L[j])
            opt.add(m >= lo, m >= hi, z3.Or(m == lo, m == hi))
            phases.append(m if acc.dma_channels == "separate" else m + St[j - 1])
        total = L[0] + z3.Sum(phases) + comp + St[S - 1]
    if below is not None:
        opt.add(total < int(below * sc))
    if below is None:
        opt.minimize(total)
    r = opt.check()
    if r == z3.unsat:
        return StepResult(None, None, "infeasible")
    try:
        m = opt.model()
    except z3.Z3Exception:
        return StepResult(None, None, "timeout")
    if len(m) == 0:
        return StepResult(None, None, "timeout")

    def true(b) -> bool:
        return z3.is_true(m.eval(b, model_completion=True))

    steps = []
    for k in range(S):
        i = next(i for i in range(S) if true(x[i][k]))
        ev = tuple((a, d) for (a, d), v in on.items() if a != "O" and true(v[k])
                   and (k + 1 == S or not true(v[k + 1])))
        steps.append(Step(tuple(tr for b, _, tr in loads[k] if true(b)), (scs[i],),
                          tuple(tr for b, _, tr in stores[k] if true(b)), ev))
    cyc = Fraction(m.eval(total, model_completion=True).as_long(), sc)
    return StepResult(steps, cyc, "optimal" if r == z3.sat and below is None else "feasible")


def _capacity(opt, z3, p: Problem, acc: Accel, on: dict, size: dict, S: int) -> None:
    bufs = [("I", "W", "O")] if acc.split is None else [("I",), ("W",), ("O",)]
    caps = [acc.onchip_bytes] if acc.split is None else list(acc.split)
    for k in range(S):
        live = [k - 1, k] if acc.pipelined and k else [k]
        for names, cap in zip(bufs, caps):
            opt.add(z3.Sum([z3.If(z3.Or(*[v[j] for j in live]), size[a], 0)
                            for (a, _d), v in on.items() if a in names]) <= cap)
