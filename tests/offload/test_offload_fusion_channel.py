"""Per-channel elementwise layers (BatchNormalization, Mul/Add with a per-channel constant) fused into their
producer: the constants (``Problem.cb`` bytes) are one whole load before the first step, resident for the layer.
Closed form == simulator == scalar evaluator; the cuts, the class bounds and the lower bound stay below every
strategy; branch and bound == brute force; z3 proves the optimum; networks fuse them and are never slower."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_offload import accels, compile, layers  # noqa: E402 (tests/offload is on sys.path)

from cnncc.backends.offload.bound import lower_bound
from cnncc.backends.offload.exhaustive import best_regular, residencies
from cnncc.backends.offload.fast import durations
from cnncc.backends.offload.formalism import Regular, Tiling, expand
from cnncc.backends.offload.problem import DIMS
from cnncc.backends.offload.regular import ORDERS, Concrete, _orders, closed_form, duration, fits
from cnncc.backends.offload.simulate import simulate


@settings(max_examples=30, deadline=None)
@given(layers, accels, st.sampled_from([0, 2]), st.sampled_from([3, 16]), st.booleans(), st.data())
def test_constants_closed_form_equals_simulation_and_scalar(p, acc, rb, cb, keep, data):
    p = dataclasses.replace(p, rb=rb, cb=cb, out_keep=keep)
    t = {d: data.draw(st.sampled_from(p.candidates(d))) for d in DIMS}
    order = data.draw(st.sampled_from(ORDERS))
    res = frozenset(data.draw(st.sets(st.sampled_from(["I", "W", "O"]))))
    s = Regular(Tiling(*(t[d] for d in DIMS)), order, res)
    big = dataclasses.replace(acc, onchip_bytes=10**9, split=None)
    steps = expand(p, acc, s)
    sim = simulate(p, big, s.tiling, steps)
    cf = closed_form(p, acc, s)
    r = {a: a in res for a in "IWO"}
    assert sim.cycles == cf and cf * acc.scale == durations(p, acc, t, r, (order,))[0] == duration(
        Concrete(p, t), p, acc, order, r)
    consts = [tr for st_ in steps for tr in st_.loads if tr.operand == "Q"]
    assert len(consts) == 1 and consts[0].nbytes == cb and consts[0] in steps[0].loads
    assert cf > closed_form(dataclasses.replace(p, cb=0), acc, s)  # the constants cost their transfer
    assert lower_bound(p, acc).cycles <= cf


@settings(max_examples=12, deadline=None)
@given(layers, accels, st.booleans(), st.booleans(), st.sampled_from([0, 2]))
def test_constants_cuts_class_bounds_and_search(p, acc, in_free, out_keep, rb):
    """Every cut alternative set and every class bound stays below every (tiling, residency, order); the branch
    and bound finds the brute-force optimum; z3 proves it."""
    from cnncc.backends.offload.certify import prove
    from cnncc.backends.offload.classcut import class_bounds, order_class
    from cnncc.backends.offload.cuts import cuts as _cuts

    p = dataclasses.replace(p, in_free=in_free, out_keep=out_keep, rb=rb, cb=5)
    best = None
    for tt in itertools.product(*(p.candidates(d) for d in DIMS)):
        t = dict(zip(DIMS, tt))
        A = Concrete(p, t)
        n = [p.ntiles(d, t[d]) for d in DIMS]
        for resident in residencies(p):
            res = {a: a in resident for a in "IWO"}
            alts = [_cuts(A, p, acc, res, strong) for strong in (False, True)]
            bounds = class_bounds(p, acc, t, res)
            ds = durations(p, acc, t, res, ORDERS)
            for o, d in zip(ORDERS, ds):
                assert all(any(max(c) <= d for c in alt) for alt in alts), (t, o, resident)
                L = order_class(n, o)
                if L is not None:
                    assert bounds[L] <= d
            if fits(p, acc, Regular(Tiling(*tt), ORDERS[0], resident)):
                c = min(durations(p, acc, t, res, _orders(p)))
                best = c if best is None or c < best else best
    b = best_regular(p, acc)
    assert b.scaled_cycles == best
    if best is not None:
        assert lower_bound(p, acc).cycles * acc.scale <= best
        assert prove(p, acc, best, 30, b.survivors)[0] == "unsat"


def _net(kind: str):
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O

    rng = np.random.default_rng(11)
    ws = {"w": rng.standard_normal((8, 4, 3, 3)).astype(np.float32),
          "w2": rng.standard_normal((8, 8, 1, 1)).astype(np.float32)}
    ls = [Layer("c", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("y",)),
          Layer("relu", O.Relu(), ("y",), ("r",))]
    if kind == "bn":
        for n in ("s", "b", "m", "v"):
            ws[n] = (rng.random(8) + 0.5).astype(np.float32)
        ls.append(Layer("pc", O.BatchNormalization(), ("r", "s", "b", "m", "v"), ("z",)))
    else:
        ws["k"] = rng.standard_normal((1, 8, 1, 1)).astype(np.float32)
        ls.append(Layer("pc", O.Mul(), ("r", "k"), ("z",)))
    ls.append(Layer("c2", O.Conv(kernel=(1, 1)), ("z", "w2"), ("o",)))
    return Graph.build(kind, {"x": tensor_type((1, 4, 8, 8))}, ["o"], ls, weights=ws)


@settings(max_examples=4, deadline=None)
@given(st.sampled_from(["bn", "mul"]), st.sampled_from([2048, 8192]), st.sampled_from(["pipelined", "sequential"]))
def test_network_fuses_per_channel_layers(kind, mem, overlap):
    from cnncc.backends import CompileOptions
    from cnncc.target import load_target

    g = _net(kind)
    on = compile(g, load_target("offload", {"onchip_bytes": str(mem), "overlap": overlap}), CompileOptions())
    off = compile(g, load_target("offload", {"onchip_bytes": str(mem), "overlap": overlap,
                                             "fuse_elementwise": "false"}), CompileOptions())
    assert on.totals["cycles"] <= off.totals["cycles"]
    rows = {r["name"]: r for r in on.layers}
    assert all(r["solver_status"] in ("optimal", "fused", "none") for r in on.layers)
    assert rows["pc"]["fused_into"] == "c" and rows["c"]["fused_layers"] == ["relu", "pc"]
    assert rows["c"]["proof"] == "exhaustive+z3" and rows["pc"]["cycles"] == 0
    assert all(not r.get("fused_into") for r in off.layers)
