"""Fused elementwise layers (an Add's second operand initialising the producer's accumulators; activations in
the producer's output stage): closed form == simulator == scalar evaluator == z3 term, fused never slower than
unfused, and nothing changes where fusion does not apply."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_offload import accels, compile, layers  # noqa: E402 (tests/offload is on sys.path)

from cnncc.backends.offload.formalism import Regular, Tiling, expand
from cnncc.backends.offload.problem import DIMS
from cnncc.backends.offload.regular import closed_form
from cnncc.backends.offload.simulate import simulate


@settings(max_examples=30, deadline=None)
@given(layers, accels, st.sampled_from([1, 2, 4]), st.booleans(), st.data())
def test_fused_closed_form_equals_simulation_and_scalar(p, acc, rb, keep, data):
    from cnncc.backends.offload.fast import durations

    p = dataclasses.replace(p, rb=rb, out_keep=keep)
    t = Tiling(*(data.draw(st.sampled_from(p.candidates(d))) for d in DIMS))
    order = data.draw(st.sampled_from(list(itertools.permutations(DIMS))))
    res = frozenset(data.draw(st.sets(st.sampled_from(["I", "W", "O"]))))
    s = Regular(t, order, res)
    big = acc.__class__(**{**acc.__dict__, "onchip_bytes": 10**9, "split": None})
    steps = expand(p, acc, s)
    sim = simulate(p, big, t, steps)
    assert sim.cycles == closed_form(p, acc, s)
    scaled = durations(p, acc, t.as_dict(), {a: a in res for a in ("I", "W", "O")}, (order,))[0]
    assert scaled == sim.cycles * acc.scale
    assert sum(tr.nbytes for st_ in steps for tr in st_.loads if tr.what == "init") == p.full_bytes("R")
    unfused = closed_form(dataclasses.replace(p, rb=0), acc, s)
    assert sim.cycles > unfused  # the residual costs its loads


@settings(max_examples=6, deadline=None)
@given(layers, accels)
def test_fused_optimum_z3_and_solver_agree(p, acc):
    from cnncc.backends.offload.solve import solve_layer

    p = dataclasses.replace(p, rb=1)
    try:
        r = solve_layer(p, acc, "l")
    except Exception as e:  # only capacity refusals are allowed
        assert "on-chip memory" in str(e) or "no strategy fits" in str(e)
        return
    assert r.fields["solver_status"] == "optimal" and r.fields["proof"] == "exhaustive+z3"


def _residual_net(act: bool):
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O

    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    ls = [Layer("c1", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w1"), ("y",)),
          Layer("c2", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("y", "w2"), ("z",)),
          Layer("add", O.Add(), ("z", "x"), ("s",))]
    if act:
        ls.append(Layer("relu", O.Relu(), ("s",), ("r",)))
    return Graph.build("res", {"x": tensor_type((1, 8, 10, 10))}, ["r" if act else "s"], ls,
                       weights={"w1": w1, "w2": w2})


@settings(max_examples=4, deadline=None)
@given(st.sampled_from([2048, 4096, 65536]), st.sampled_from(["pipelined", "sequential"]), st.booleans())
def test_network_fusion_never_slower_and_reports_every_layer(mem, overlap, act):
    from cnncc.backends import CompileOptions
    from cnncc.target import load_target

    g = _residual_net(act)
    on = compile(g, load_target("offload", {"onchip_bytes": str(mem), "overlap": overlap}), CompileOptions())
    off = compile(g, load_target("offload", {"onchip_bytes": str(mem), "overlap": overlap,
                                             "fuse_elementwise": "false"}), CompileOptions())
    assert [r["name"] for r in on.layers] == [r["name"] for r in off.layers] == [ly.name for ly in g.layers]
    assert on.totals["cycles"] <= off.totals["cycles"]
    rows = {r["name"]: r for r in on.layers}
    if rows["add"].get("fused_into"):
        assert rows["add"]["fused_into"] == "c2" and rows["add"]["cycles"] == 0
        assert rows["add"]["bound"] == "none" and rows["add"]["bound_detail"] == "fused"
        assert rows["c2"]["fused_layers"][0] == "add"
    if act:
        assert rows["relu"].get("fused_into") == "c2"  # an activation in the output stage costs nothing
    assert all(not r.get("fused_into") for r in off.layers)


def test_no_fusion_where_it_does_not_apply():
    """A residual whose producer feeds two layers, or a graph output, is not fused: the result is the
    unfused one, bit for bit."""
    from cnncc.backends import CompileOptions
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O
    from cnncc.target import load_target

    w = np.ones((8, 8, 1, 1), np.float32)
    g = Graph.build("n", {"x": tensor_type((1, 8, 6, 6))}, ["s", "z"],
                    [Layer("c", O.Conv(kernel=(1, 1)), ("x", "w"), ("z",)),
                     Layer("add", O.Add(), ("z", "x"), ("s",))], weights={"w": w})
    a = compile(g, load_target("offload", {"onchip_bytes": "4096"}), CompileOptions())
    b = compile(g, load_target("offload", {"onchip_bytes": "4096", "fuse_elementwise": "false"}), CompileOptions())
    def strip(rows):  # wall-clock fields differ between runs
        return [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in rows]

    assert strip(a.layers) == strip(b.layers)
    assert {k: v for k, v in a.totals.items() if "time" not in k} == {k: v for k, v in b.totals.items()
                                                                       if "time" not in k}
