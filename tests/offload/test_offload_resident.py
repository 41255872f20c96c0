"""Outputs kept on chip across more than one layer (resident.py): the dynamic programme equals brute force over
every keep choice on seeded residual / inverted-residual networks; a layer holding resident tensors is solved
(and z3-proved) for the capacity less those bytes, and the shortcut that reuses the whole-capacity optimum when
it fits equals solving the reduced capacity directly; the chosen variants replay in the simulator with no DMA
for what is on chip, and never exceed the capacity together with the resident bytes."""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_offload import _acc, accels, compile, layers  # noqa: E402 (tests/offload is on sys.path)

from cnncc.backends.offload import fusion, network, resident
from cnncc.backends.offload.formalism import expand
from cnncc.backends.offload.layers import problems as problems_of
from cnncc.backends.offload.simulate import simulate


def _net(seed: int, family: str, c: int, hw: int, blocks: int):
    """A seeded residual (two 3x3 convs + Add) or inverted-residual (1x1 expand, 3x3 depthwise, 1x1 project +
    Add) network, with a stem and a 1x1 head."""
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O

    rng = np.random.default_rng(seed)
    ls, ws = [], {}

    def conv(name: str, x: str, cin: int, cout: int, k: int, group: int = 1) -> str:
        ws[f"w_{name}"] = rng.standard_normal((cout, cin // group, k, k)).astype(np.float32)
        ls.append(Layer(name, O.Conv(kernel=(k, k), pads=(k // 2,) * 4, groups=group), (x, f"w_{name}"), (name,)))
        return name

    t = conv("stem", "x", 3, c, 3)
    for b in range(blocks):
        if family == "resnet":
            y = conv(f"b{b}.conv2", conv(f"b{b}.conv1", t, c, c, 3), c, c, 3)
        else:
            e = 2 * c
            y = conv(f"b{b}.project", conv(f"b{b}.dw", conv(f"b{b}.expand", t, c, e, 1), e, e, 3, group=e), e, c, 1)
        ls.append(Layer(f"b{b}.add", O.Add(), (y, t), (f"b{b}.add",)))
        t = f"b{b}.add"
    return Graph.build(f"{family}{seed}", {"x": tensor_type((1, 3, hw, hw))}, [conv("head", t, c, c, 1)], ls,
                       weights=ws)


def _plan(g, acc):
    parts = [problems_of(g, ly, acc, "offload") for ly in g.layers]
    fz = fusion.plan(g, [ps[0] if ps else None for ps in parts], parts, acc, network._optimum)
    views = {i for i, ps in enumerate(parts) if ps is None}
    return fz, views, resident.plan(g, fz.problems, acc, fz, views, network._optimum)


def _brute(fz, acc, cands):
    """The best total over every subset of candidates, each unit's variant derived from the subset alone."""
    units = [i for i in range(len(fz.problems)) if i not in fz.into]
    best = None
    for r in range(len(cands) + 1):
        for kept in itertools.combinations(cands, r):
            total: Fraction | None = Fraction(0)
            for k, u in enumerate(units):
                p = fz.problems[u]
                roles = [(c, dict(c.roles).get(k, frozenset())) for c in kept if c.pos < k <= c.last]
                held = sum(c.nbytes for c, ro in roles if "I" not in ro)
                if p is None:
                    if held:
                        total = None
                        break
                    continue
                q = dataclasses.replace(p, in_free=any("I" in ro for _, ro in roles),
                                        out_keep=any(c.pos == k for c in kept),
                                        rb=0 if any("R" in ro for _, ro in roles) else p.rb)
                if held >= acc.onchip_bytes:
                    total = None
                    break
                red = dataclasses.replace(acc, onchip_bytes=acc.onchip_bytes - held)
                o = network._optimum(q, red)  # solved directly at the reduced capacity (no shortcut)
                if o is None:
                    total = None
                    break
                total += o
            if total is not None and (best is None or total < best):
                best = total
    return best


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["resnet", "inverted"]), st.sampled_from([4, 8]),
       st.sampled_from([6, 9]), st.sampled_from([900, 1200, 2500, 6000]), st.sampled_from(["pipelined", "sequential"]))
def test_dynamic_programme_equals_brute_force(seed, family, c, hw, mem, overlap):
    acc = _acc(onchip_bytes=mem, overlap=overlap, z3_certify=False)
    g = _net(seed, family, c, hw, 2)
    fz, _, kp = _plan(g, acc)
    units = [i for i in range(len(fz.problems)) if i not in fz.into]
    cands = resident.candidates(g, fz.problems, acc, fz, units)
    assert kp.exact and kp.candidates == len(cands)
    blocks = {c.tensor for c in cands if any("R" in r for _, r in c.roles)}
    assert blocks <= {"stem", "b0.add"}  # block inputs are read again by the fused Add as R
    dp = sum(network._optimum(kp.variants[u].problem(fz.problems[u]), resident.reduced(acc, kp.variants[u].resident),
                              acc) for u in units if fz.problems[u] is not None)
    assert dp == _brute(fz, acc, cands)


@settings(max_examples=12, deadline=None)
@given(layers, accels, st.sampled_from([0, 1, 2]), st.floats(0.05, 0.9))
def test_reduced_capacity_shortcut_equals_solving_it(p, acc, rb, share):
    """The whole capacity's optimum, when it fits the reduced capacity, is the reduced space's optimum (same
    strategy, same tie-break); otherwise the reduced capacity is solved and z3-proved for itself."""
    from cnncc.backends.offload import regular
    from cnncc.backends.offload.solve import solve_layer

    if acc.split is not None:
        return
    acc = dataclasses.replace(acc, z3_certify=True)
    p = dataclasses.replace(p, rb=rb)
    red = resident.reduced(acc, int(acc.onchip_bytes * share))
    if regular.min_capacity(p, red) > red.onchip_bytes:
        assert network._optimum(p, red, acc) is None
        return
    assert network._optimum(p, red, acc) == network._optimum(p, red)
    a, b = solve_layer(p, red, "l", full=acc), solve_layer(p, red, "l")
    assert a.strategy == b.strategy and a.sim.cycles == b.sim.cycles
    assert a.sim.peak_bytes <= red.onchip_bytes and a.fields["solver_status"] == b.fields["solver_status"]
    assert a.fields["proof"] == b.fields["proof"] == "exhaustive+z3"
    assert a.fields["proof_scope"].startswith("proved")


def test_skip_tensors_stay_on_chip_and_replay():
    """On an inverted-residual net at a capacity where block inputs fit, the block input is kept across the
    expand and depthwise layers and read as the fused residual from chip; every variant replays with no DMA for
    what is on chip, within the capacity less the resident bytes; the report says so."""
    from cnncc.backends import CompileOptions
    from cnncc.backends.offload.solve import solve_layer
    from cnncc.target import load_target

    mem = 6000
    g = _net(3, "inverted", 8, 6, 2)
    acc = _acc(onchip_bytes=mem)
    fz, views, kp = _plan(g, acc)
    across = [c for c in kp.kept if c.last > c.pos + 1]
    assert across and all(any("R" in r for _, r in c.roles) for c in across)
    live: dict[str, int] = {}
    for k, u in enumerate(sorted(kp.variants)):
        v, p = kp.variants[u], fz.problems[u]
        assert v.resident == sum(b for t, b in live.items() if t in v.held)
        if p is not None:
            q, red = v.problem(p), resident.reduced(acc, v.resident)
            s = solve_layer(q, red, "l", full=acc if v.resident else None).strategy
            steps = expand(q, red, s)
            sim = simulate(q, red, s.tiling, steps)
            assert sim.peak_bytes + v.resident <= mem
            kinds = {(tr.operand, tr.what) for st_ in steps for tr in st_.loads + st_.stores}
            assert not (v.in_free and ("I", "data") in kinds)
            assert not (v.res_free and ("O", "init") in kinds)
            assert not (v.out_keep and ("O", "final") in kinds)
        live = {t: b for t, b in live.items() if any(c.tensor == t and c.last > k for c in kp.kept)}
        live.update({c.tensor: c.nbytes for c in kp.kept if c.pos == k})
    rep = compile(g, load_target("offload", {"onchip_bytes": str(mem), "macs_per_cycle": "16",
                                             "dma_latency_cycles": "5", "dma_bytes_per_cycle": "4",
                                             "call_overhead_cycles": "3"}), CompileOptions())
    rows = {r["name"]: r for r in rep.layers}
    held = [r for r in rep.layers if r.get("resident_bytes")]
    assert held and all(r["capacity_bytes"] == mem - r["resident_bytes"] for r in held)
    assert all(r["solver_status"] == "optimal" and r["proof"] == "exhaustive+z3" for r in held)
    assert all((r.get("onchip_bytes") or 0) <= mem for r in rep.layers)
    assert rep.totals["kept_across_layers"] == len(across)
    heads = sorted(kp.variants)
    for c in across:
        why = rows[g.layers[c.head].name]["kept_on_chip"]
        assert "(R)" in why and "held across" in why and f"{c.nbytes} B" in why
    assert all(rows[g.layers[heads[q]].name]["residual_on_chip"] for c in across for q, r in c.roles if "R" in r)
    saving = sum(r.get("kept_saving_cycles", 0) for r in rep.layers)
    assert abs(saving - rep.totals["kept_on_chip_saving_cycles"]) < 1e-6
    off = compile(g, load_target("offload", {"onchip_bytes": str(mem), "macs_per_cycle": "16",
                                             "dma_latency_cycles": "5", "dma_bytes_per_cycle": "4",
                                             "call_overhead_cycles": "3", "keep_outputs_on_chip": "false"}),
                  CompileOptions())
    assert rep.totals["cycles"] < off.totals["cycles"]


def test_state_guard_drops_candidates_beyond_max_states():
    """Nine small tensors live at once give 512 kept-tensor sets at a boundary: more than MAX_STATES, so the
    reachable-state pass refuses (the plan then drops the longest-living candidate and reports exact False);
    with eight it has 256."""
    acc = _acc(onchip_bytes=10**6)
    cands = [resident.Candidate(f"t{k}", k, k, 10, ((9, frozenset("I")),)) for k in range(9)]
    assert resident._reachable(list(range(10)), cands, acc) is None
    states = resident._reachable(list(range(10)), cands[1:], acc)
    assert states is not None and len(states[9]) == 2 ** 8 == resident.MAX_STATES
