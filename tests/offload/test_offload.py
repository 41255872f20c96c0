"""Offload backend: closed form == simulator (hypothesis), rules, capacity errors, compile on a tiny graph."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.backends.offload.bound import lower_bound
from cnncc.backends.offload.formalism import Regular, RuleViolation, Step, Tiling, Transfer, check, expand
from cnncc.backends.offload.model import accel_from_params
from cnncc.backends.offload.problem import DIMS, Problem, divisors
from cnncc.backends.offload.regular import closed_form
from cnncc.backends.offload.simulate import simulate
from cnncc.backends.offload.solve import solve_layer as _solve
from cnncc.errors import CapacityError


def solve_layer(p, acc, name):
    return _solve(p, acc, name).fields | {"cycles": float(_solve(p, acc, name).sim.cycles),
                                          "peak_onchip_bytes": _solve(p, acc, name).sim.peak_bytes}


def compile(g, t, opts):  # noqa: A001 - the backend's compile, as JSON-ready rows and totals
    from cnncc.assemble import assemble_report
    from cnncc.backends.registry import get_backend

    return assemble_report(get_backend("offload").compile(g, t, opts), t)


def _acc(**kw):
    base = dict(onchip_bytes=4096, macs_per_cycle=16, dma_latency_cycles=5, dma_bytes_per_cycle=4,
                call_overhead_cycles=3, solver_timeout_s=5)
    base.update(kw)
    return accel_from_params(base)


layers = st.builds(lambda oy, ox, k, c, f, s, cw: Problem("l", oy, ox, k, 1 if cw else c, f, f, s, s,
                                                         groups=k if cw else 1),
                   st.sampled_from([1, 2, 3, 5]), st.sampled_from([1, 3, 4]), st.sampled_from([1, 2, 3]),
                   st.sampled_from([1, 2, 3]), st.sampled_from([1, 3]), st.sampled_from([1, 2]), st.booleans())
accels = st.builds(lambda m, ov, ch, b: _acc(onchip_bytes=m, overlap=ov, dma_channels=ch, dma_bytes_per_cycle=b),
                   st.sampled_from([300, 1000, 100000]), st.sampled_from(["sequential", "pipelined"]),
                   st.sampled_from(["shared", "separate"]), st.sampled_from([2, 3, 8]))


@settings(max_examples=40, deadline=None)
@given(layers, accels, st.data())
def test_closed_form_equals_simulation(p, acc, data):
    t = Tiling(*(data.draw(st.sampled_from(p.candidates(d))) for d in DIMS))  # ragged last tiles included
    order = data.draw(st.sampled_from(list(itertools.permutations(DIMS))))
    res = frozenset(data.draw(st.sets(st.sampled_from(["I", "W", "O"]))))
    s = Regular(t, order, res)
    sim = simulate(p, acc.__class__(**{**acc.__dict__, "onchip_bytes": 10**9, "split": None}), t, expand(p, acc, s))
    assert sim.cycles == closed_form(p, acc, s)


@settings(max_examples=12, deadline=None)
@given(layers, accels)
def test_solver_strategy_accepted_by_simulator(p, acc):
    try:
        r = solve_layer(p, acc, "l")
    except CapacityError as e:
        assert "layer 'l'" in str(e) and "at least" in str(e)
        return
    assert r["peak_onchip_bytes"] <= acc.onchip_bytes
    assert r["cycles"] >= float(lower_bound(p, acc).cycles) - 1e-9
    assert r["solver_status"] == "optimal"
    assert all(r["cycles"] <= c for c in r["baselines"].values())  # hand strategies are in the space


def test_impossible_capacity_names_layer_and_minimum():
    p = Problem("conv7", 8, 8, 16, 16, 3, 3)
    with pytest.raises(CapacityError, match=r"layer 'conv7'.*at least \d+ B"):
        solve_layer(p, _acc(onchip_bytes=10), "conv7")


def test_checker_names_broken_rule():
    p = Problem("l", 1, 1, 1, 2)
    acc = _acc()
    steps = expand(p, acc, Regular(Tiling(1, 1, 1, 1)))
    with pytest.raises(RuleViolation) as e:
        check(p, Tiling(1, 1, 1, 1), steps[:1])
    assert e.value.rule in ("R3-once", "R4-store")
    bad = [Step(loads=(Transfer("W", (0, 0), 1),), computes=((0, 0, 0, 0),))]
    with pytest.raises(RuleViolation) as e:
        check(p, Tiling(1, 1, 1, 1), bad)
    assert e.value.rule == "R2-operands"


def test_tight_memory_beats_hand_baselines():
    p = Problem("l", 8, 8, 32, 32, 3, 3)
    r = solve_layer(p, _acc(onchip_bytes=8192), "l")
    assert r["solver_status"] in ("optimal", "feasible")
    assert r["cycles"] <= min(r["baselines"].values())


def test_compile_tiny_graph_deterministic():
    from cnncc.backends import CompileOptions
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O
    from cnncc.target import load_target

    w = np.ones((8, 4, 3, 3), np.float32)
    g = Graph.build("net", {"x": tensor_type((1, 4, 8, 8))}, ["z"],
                    [Layer("conv", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("y",)),
                     Layer("relu", O.Relu(), ("y",), ("z",))], weights={"w": w})
    t = load_target("offload", {"onchip_bytes": "4096", "solver_timeout_s": "5"})
    a = compile(g, t, CompileOptions()).to_json(stable=True)
    b = compile(g, t, CompileOptions()).to_json(stable=True)
    assert a == b
    assert '"solver_status": "optimal"' in a
    assert '"proof": "exhaustive+z3"' in a  # z3 re-proves the branch and bound's survivors by default
    t = load_target("offload", {"onchip_bytes": "4096", "z3_certify": "false"})
    c = compile(g, t, CompileOptions()).to_json(stable=True)
    assert '"proof": "exhaustive"' in c and '"solver_status": "optimal"' in c


@pytest.mark.parametrize("overlap", ["pipelined", "sequential"])
def test_steplevel_never_beats_regular_optimum(overlap):
    """Step-level z3 over every decomposition of a small layer with <= 4 sub-convolutions: no step sequence is
    faster than the regular optimum (UNSAT), and a found step sequence replays to its z3 objective."""
    from fractions import Fraction

    from cnncc.backends.offload.exhaustive import best_regular
    from cnncc.backends.offload.steplevel import solve_steps, subconvs

    p = Problem("l", 2, 2, 4, 4, 3, 3)
    acc = _acc(onchip_bytes=300, overlap=overlap)
    best = best_regular(p, acc)
    reg = Fraction(best.scaled_cycles, acc.scale)
    checked = 0
    for t in itertools.product(*(divisors(p.size(d)) for d in DIMS)):
        t = Tiling(*t)
        if len(subconvs(p, t)) <= 4:
            assert solve_steps(p, acc, t, 10, below=reg).status == "infeasible", t
            checked += 1
    assert checked >= 8
    r = solve_steps(p, acc, Tiling(2, 2, 2, 2), 10)
    assert r.status == "optimal" and r.cycles >= reg
    assert simulate(p, acc, Tiling(2, 2, 2, 2), r.steps).cycles == r.cycles


def test_z3_certifies_small_layer():
    from cnncc.backends.offload.certify import prove
    from cnncc.backends.offload.exhaustive import best_regular

    p = Problem("l", 4, 4, 8, 8, 3, 3)
    acc = _acc(onchip_bytes=2000)
    best = best_regular(p, acc)
    assert prove(p, acc, best.scaled_cycles, 30, best.survivors)[0] == "unsat"
    assert prove(p, acc, best.scaled_cycles + 1, 30, best.survivors)[0] == "sat"  # the optimum itself survives


@settings(max_examples=12, deadline=None)
@given(layers, accels, st.booleans(), st.booleans())
def test_z3_over_the_whole_space_agrees_with_brute_force(p, acc, in_free, out_keep):
    """Given every (tiling, residency) of a small layer as survivors, z3 proves nothing beats the exhaustive
    optimum and finds the optimum itself below optimum + 1; a strategy that does not fit is never claimed."""
    import dataclasses

    from cnncc.backends.offload.certify import prove
    from cnncc.backends.offload.exhaustive import best_regular, residencies

    p = dataclasses.replace(p, in_free=in_free, out_keep=out_keep)
    best = best_regular(p, acc)
    if best.strategy is None:
        return
    every = tuple((i, r) for i in itertools.product(*(range(len(p.candidates(d))) for d in DIMS))
                  for r in residencies(p))
    assert prove(p, acc, best.scaled_cycles, 30, every)[0] == "unsat"
    assert prove(p, acc, best.scaled_cycles + 1, 30, every)[0] == "sat"


@pytest.mark.parametrize("kw", [dict(), dict(dma_channels="separate"), dict(overlap="sequential")])
def test_z3_cuts_are_lower_bounds(kw):
    """The cuts certify.prove adds (first loads + computes + stores; loads + stores + one compute) never exceed
    the closed-form duration of any strategy: they prune nothing that could beat the incumbent."""
    from cnncc.backends.offload.cuts import cuts as _cuts
    from cnncc.backends.offload.exhaustive import residencies
    from cnncc.backends.offload.fast import durations
    from cnncc.backends.offload.regular import Concrete, _orders

    acc = _acc(**kw)
    for p in (Problem("l", 3, 5, 4, 2, 3, 3, 2, 2), Problem("d", 4, 4, 4, 1, 3, 3, groups=4),
              Problem("o", 2, 4, 4, 4, out_keep=True, in_free=True)):
        for t in itertools.product(*(divisors(p.size(d)) for d in DIMS)):
            A = Concrete(p, dict(zip(DIMS, t)))
            for resident in residencies(p):
                res = {a: a in resident for a in ("I", "W", "O")}
                for o, d in zip(_orders(p), durations(p, acc, dict(zip(DIMS, t)), res, _orders(p))):
                    assert any(max(cuts) <= d for cuts in _cuts(A, p, acc, res)), (p, t, o, res)


@settings(max_examples=15, deadline=None)
@given(layers, accels, st.booleans(), st.booleans(), st.sampled_from([0, 0, 1, 4]))
def test_z3_cuts_hold_on_random_layers(p, acc, in_free, out_keep, rb):
    """For every tiling, residency and loop order of random small layers and accelerators, one alternative of the
    cuts is entirely below the closed-form duration (a fused residual ``rb`` included)."""
    import dataclasses

    from cnncc.backends.offload.cuts import cuts as _cuts
    from cnncc.backends.offload.exhaustive import residencies
    from cnncc.backends.offload.fast import durations
    from cnncc.backends.offload.regular import Concrete, _orders

    p = dataclasses.replace(p, in_free=in_free, out_keep=out_keep, rb=rb)
    for t in itertools.product(*(p.candidates(d) for d in DIMS)):
        A = Concrete(p, dict(zip(DIMS, t)))
        for resident in residencies(p):
            res = {a: a in resident for a in ("I", "W", "O")}
            alts = [_cuts(A, p, acc, res, strong) for strong in (False, True)]
            for o, d in zip(_orders(p), durations(p, acc, dict(zip(DIMS, t)), res, _orders(p))):
                assert all(any(max(cuts) <= d for cuts in alt) for alt in alts), (t, o, resident)


def test_reuse_baselines_closed_form_equals_simulation():
    """Hand baselines with reuse are costed by the closed form (fast); it equals the simulator on them."""
    from cnncc.backends.offload import baselines
    from cnncc.backends.offload.regular import closed_form

    for p in (Problem("l", 8, 8, 32, 32, 3, 3), Problem("d", 8, 8, 16, 1, 3, 3, 2, 2, groups=16)):
        acc = _acc(onchip_bytes=8192)
        for n in ("output_stationary", "weight_stationary"):
            s = baselines.hand(p, acc, n)
            assert s.reuse and closed_form(p, acc, s) == simulate(p, acc, s.tiling, expand(p, acc, s)).cycles


def test_progress_one_label_and_shape_cache():
    """The progress callback gets one fixed label; layers of the same shape get the same strategy and cycles."""
    from cnncc.backends import CompileOptions
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O
    from cnncc.target import load_target

    w = np.ones((4, 4, 3, 3), np.float32)
    conv = O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1))
    g = Graph.build("net", {"x": tensor_type((1, 4, 8, 8))}, ["z"],
                    [Layer("a", conv, ("x", "w"), ("y",)), Layer("b", conv, ("y", "w"), ("z",))], weights={"w": w})
    calls = []
    t = load_target("offload", {"onchip_bytes": "4096", "keep_outputs_on_chip": "false"})
    rep = compile(g, t, CompileOptions(progress=lambda *a: calls.append(a)))
    assert calls == [("offload", 0, 2), ("offload", 1, 2)]
    a, b = rep.layers
    assert a["strategy"] == b["strategy"] and a["cycles"] == b["cycles"] and a["name"] != b["name"]


def test_keep_output_on_chip_saves_and_replays():
    from cnncc.backends import CompileOptions
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O
    from cnncc.target import load_target

    w1, w2 = np.ones((8, 4, 3, 3), np.float32), np.ones((8, 8, 1, 1), np.float32)
    g = Graph.build("net", {"x": tensor_type((1, 4, 8, 8))}, ["z"],
                    [Layer("c1", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w1"), ("y",)),
                     Layer("c2", O.Conv(kernel=(1, 1)), ("y", "w2"), ("z",))], weights={"w1": w1, "w2": w2})
    t = load_target("offload", {"onchip_bytes": "8192", "keep_outputs_on_chip": "true"})
    rep = compile(g, t, CompileOptions())
    c1, c2 = rep.layers
    assert c1["output_kept_on_chip"] and c2["input_on_chip"]
    assert c1["kept_saving_cycles"] + c2["kept_saving_cycles"] == rep.totals["kept_on_chip_saving_cycles"] > 0
    assert rep.totals["cycles"] == rep.totals["cycles_off_chip"] - rep.totals["kept_on_chip_saving_cycles"]


def test_z3_resource_limit_reports_feasible_with_gap():
    """When z3 runs out of its resource limit the layer is `feasible` (never `optimal`), with its gap."""
    p = Problem("l", 8, 8, 16, 16, 3, 3)
    r = solve_layer(p, _acc(onchip_bytes=20000, solver_timeout_s=1e-9, z3_certify=True), "l")
    assert r["solver_status"] == "feasible" and r["proof"] == "exhaustive (z3: resource limit)"
    assert r["gap"] >= 1.0
    r = solve_layer(p, _acc(onchip_bytes=20000, z3_certify=True), "l")
    assert r["solver_status"] == "optimal" and r["proof"] == "exhaustive+z3"
