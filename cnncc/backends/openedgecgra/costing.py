"""Per-layer costing (the best mapping, or the host CPU when none applies) and the functional check (every launch
simulated on seeded integer data, compared with the reference interpreter)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import host as H
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.kernels.common import NotApplicable
from cnncc.backends.openedgecgra.layer import ConvLayer, apply_act, conv_layer, from_chw, to_chw
from cnncc.backends.openedgecgra.search import Costed, cpu_conv_cost, cpu_only, search
from cnncc.backends.openedgecgra.spec import CgraSpec


def _r(v: float) -> float:
    return round(float(v), 6)


@dataclass(frozen=True)
class LayerChoice:
    """The costed layer: its report row (plain JSON values), the chosen candidate and the CGRA view of the
    layer (None for layers the CGRA does not run)."""

    row: dict[str, Any]
    best: Costed | None
    cl: ConvLayer | None


def layer_cost(graph: Any, layer: Any, spec: CgraSpec) -> LayerChoice:
    """The best mapping of one layer, or the host CPU when none applies."""
    try:
        cl = conv_layer(graph, layer)
    except NotApplicable as e:
        cost = H.other_layer_cpu(graph, layer)
        row = cpu_only(spec, cost, graph.macs(layer))
        row.update({"device": "cpu", "macs": graph.macs(layer), "reason": str(e),
                    "candidates": []})
        row["cpu_only_cycles"], row["cpu_only_energy_uj"] = row["cycles"], row["energy_uj"]
        row["speedup_vs_cpu"], row["energy_gain_vs_cpu"] = 1.0, 1.0
        return LayerChoice(row, None, None)
    cands, best = search(cl, spec)
    base = cpu_only(spec, cpu_conv_cost(cl), cl.macs)
    if best is None:
        row = dict(base)
        row.update({"device": "cpu", "reason": "no CGRA mapping applies"})
    else:
        row = dict(best.row)
        row["device"] = "cgra"
    row["macs"] = cl.macs
    if cl.quantised:
        row["weights"] = "float weights costed as int8 (immediates need integers)"
    row["candidates"] = [c.row for c in cands]
    row["cpu_only_cycles"], row["cpu_only_energy_uj"] = base["cycles"], base["energy_uj"]
    row["speedup_vs_cpu"] = _r(base["cycles"] / row["cycles"]) if row["cycles"] else 0.0
    row["energy_gain_vs_cpu"] = _r(base["energy_uj"] / row["energy_uj"]) if row["energy_uj"] else 0.0
    return LayerChoice(row, best, cl)


def layer_plans(cl: ConvLayer, best: Costed, spec: CgraSpec) -> list[tuple[P.Plan, tuple | None]]:
    """The plan(s) the chosen candidate runs: one, or one per part of a split layer with its placement
    (k0, k1, y0, y1, c0, c1, iy0) in the whole layer."""
    from cnncc.backends.openedgecgra import split as S

    mapping = best.row["mapping"]
    if best.split is None:
        if best.plan is None:           # costed in closed form (``ic4cost``): build the plan now
            return [(P.make_plan(mapping, cl, spec.sram_bytes, spec.sram_bank_bytes), None)]
        return [(best.plan, None)]
    return [(P.make_plan(mapping, replace(part, act=None), spec.sram_bytes, spec.sram_bank_bytes), where)
            for part, where in S.split(cl, *best.split)]


@dataclass(frozen=True)
class CheckData:
    """Seeded integer data of one layer: weights by tensor, the activation input, the reference output."""

    weights: dict[str, np.ndarray]
    x: np.ndarray
    ref: np.ndarray


def check_data(graph: Any, layer: Any, seed: int) -> CheckData:
    """The data ``--check`` and the ``-o DIR`` images use: integers in -8..8 from ``numpy.random
    .default_rng(seed)``, weights first (in ``graph.weight_inputs`` order), then the input."""
    from cnncc.ir import interp

    rng = np.random.default_rng(seed)
    ws = {t: rng.integers(-8, 9, graph.type_of(t).shape).astype(np.int64) for t in graph.weight_inputs(layer)}
    x = rng.integers(-8, 9, graph.type_of(layer.inputs[0]).shape).astype(np.int64)
    args = [ws[t] if t in ws else x for t in layer.inputs]
    ref = np.asarray(interp.run_layer(layer, args)[0]).astype(np.int64)
    return CheckData(ws, x, ref)


def run_layer(graph: Any, layer: Any, mapping: str, spec: CgraSpec, data: CheckData, split: tuple | None):
    """Simulate every launch of the layer on ``data``; returns (output in the layer's shape, Stats)."""
    from cnncc.backends.openedgecgra import sim
    from cnncc.backends.openedgecgra import split as S

    cl = conv_layer(graph, layer, weights=data.weights)
    xc = to_chw(graph, layer, data.x)
    if split is None:
        plan = P.make_plan(mapping, cl, spec.sram_bytes, spec.sram_bank_bytes)
        y, stats = P.run(plan, xc)
    else:
        xp = S.padded_input(cl, np.asarray(xc, np.int64))
        y = np.zeros((cl.K, cl.prob.OY, cl.prob.OX), np.int64)
        stats = sim.Stats()
        for part, (k0, k1, y0, y1, c0, c1, iy0) in S.split(cl, *split):
            part = replace(part, act=None)
            pl = P.make_plan(mapping, part, spec.sram_bytes, spec.sram_bank_bytes)
            yp, st = P.run(pl, xp[c0:c1, iy0:iy0 + part.prob.IY])
            y[k0:k1, y0:y1] = yp
            stats.add(st)
        y = apply_act(cl.act, y)
    assert y is not None
    return from_chw(graph, layer, y).astype(np.int64), stats


def check_layer(graph: Any, layer: Any, mapping: str, spec: CgraSpec, seed: int, predicted_cycles: int,
                split: tuple | None = None) -> dict[str, Any]:
    """Simulate every launch on seeded data; bit-exactness against the interpreter and prediction == simulation."""
    data = check_data(graph, layer, seed)
    got, stats = run_layer(graph, layer, mapping, spec, data, split)
    ok = got.shape == data.ref.shape and np.array_equal(got, data.ref)
    return {"bit_exact": bool(ok), "simulated_cgra_cycles": int(stats.cycles),
            "prediction_exact": int(stats.cycles) == int(predicted_cycles),
            "max_abs_error": 0 if ok or got.shape != data.ref.shape else int(np.max(np.abs(got - data.ref)))}
