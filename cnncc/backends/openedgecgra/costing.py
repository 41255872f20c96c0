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
class QuantRef:
    """A quantised layer's own-data reference: the integer input, the integer interpreter's output."""

    x: np.ndarray
    ref: np.ndarray | None              # None: the integer interpreter cannot run the layer (``why``)
    why: str = ""


@dataclass(frozen=True)
class CheckData:
    """Seeded integer data of one layer as the CGRA sees it: weights by tensor, the activation input, the
    expected output (a float layer: the reference interpreter's; a quantised layer: the int32 accumulators,
    bias included, before the host requantises), and for a quantised layer its own-data reference."""

    weights: dict[str, np.ndarray]
    x: np.ndarray
    ref: np.ndarray
    quant: QuantRef | None = None


def check_data(graph: Any, layer: Any, seed: int) -> CheckData:
    """The data ``--check`` and the ``-o DIR`` images use, from ``numpy.random.default_rng(seed)``. A float layer:
    integers in -8..8, weights first (in ``graph.weight_inputs`` order), then the input. A quantised layer: the
    model's own integer weights (zero points subtracted) and biases, and a random input over its dtype's range;
    the CGRA reads the input minus its zero point (the host pre-step)."""
    from cnncc.ir import interp

    if _quantised(graph, layer):
        return _quant_data(graph, layer, seed)
    rng = np.random.default_rng(seed)
    ws = {t: rng.integers(-8, 9, graph.type_of(t).shape).astype(np.int64) for t in graph.weight_inputs(layer)}
    x = rng.integers(-8, 9, graph.type_of(layer.inputs[0]).shape).astype(np.int64)
    args = [ws[t] if t in ws else x for t in layer.inputs]
    ref = np.asarray(interp.run_layer(layer, args)[0]).astype(np.int64)
    return CheckData(ws, x, ref)


def _quantised(graph: Any, layer: Any) -> bool:
    return (graph.type_of(layer.inputs[0]).quant is not None and graph.type_of(layer.outputs[0]).quant is not None
            and all(graph.type_of(t).quant is not None for t in graph.weight_inputs(layer)[:1]))


def _quant_data(graph: Any, layer: Any, seed: int) -> CheckData:
    from cnncc.errors import CnnccError
    from cnncc.ir import interp, interp_int
    from cnncc.ir.quant import qrange

    rng = np.random.default_rng(seed)
    tin = graph.type_of(layer.inputs[0])
    lo, hi = qrange(tin.dtype)
    x = rng.integers(lo, hi + 1, tin.shape).astype(np.int64)
    ws = {}
    for t in graph.weight_inputs(layer):
        w, q = np.asarray(graph.weights[t]).astype(np.int64), graph.type_of(t).quant
        if t == layer.inputs[1] and q is not None and any(q.zero_point):
            z = np.asarray(q.zero_point, np.int64)
            shape = [1] * w.ndim
            if q.axis is not None:
                shape[q.axis] = -1
            w = w - z.reshape(shape)
        ws[t] = w
    args = [np.asarray(graph.weights[t]) if t in ws else x.astype(tin.dtype) for t in layer.inputs]
    qref: np.ndarray | None = None
    why = ""
    try:
        qref = np.asarray(interp_int.run_layer(interp_int.Ctx(graph, layer, graph.meta.get("quant_rounding",
                                                                                               "tflite")), args)[0])
    except (CnnccError, ValueError) as e:
        why = f"no integer reference for this quantised layer: {e}"
    xz = x - int(tin.quant.zero_point[0])
    plain = replace(layer, op=replace(layer.op, act=None)) if getattr(layer.op, "act", None) is not None else layer
    acc = np.asarray(interp.run_layer(plain, [ws[t] if t in ws else xz for t in layer.inputs])[0])
    return CheckData(ws, xz, np.rint(acc).astype(np.int64),
                     QuantRef(x, None if qref is None else qref.astype(np.int64), why))


def requantise(graph: Any, layer: Any, acc: np.ndarray) -> np.ndarray:
    """The host post-step of a quantised layer on its (K, OY, OX) int32 accumulators: TFLite's per-channel Q0.31
    multiplier and shift (int16 inputs: the 64-bit single-rounding variant; models from ONNX: onnxruntime's
    float32 rescale), the output zero point, and the clamp of the dtype and the fused activation."""
    from cnncc.ir.quant import act_range, multipliers, rescale, rescale64, rescale_float

    qx = graph.type_of(layer.inputs[0]).quant
    qw = graph.type_of(layer.inputs[1]).quant
    to = graph.type_of(layer.outputs[0])
    real = qx.scale[0] * np.asarray(qw.scale, np.float64) / to.quant.scale[0]
    real = np.broadcast_to(real, (acc.shape[0],)).reshape(-1, 1, 1)
    if graph.meta.get("quant_rounding", "tflite") == "onnx":
        y = rescale_float(acc, real)
    else:
        m, s = multipliers(real.ravel())
        fn = rescale64 if graph.type_of(layer.inputs[0]).dtype == "int16" else rescale
        y = fn(acc, m.reshape(-1, 1, 1), s.reshape(-1, 1, 1))
    try:
        lo, hi = act_range(getattr(layer.op, "act", None), to.quant, to.dtype)
    except ValueError as e:
        raise NotApplicable(str(e)) from e
    return np.clip(np.asarray(y, np.int64) + int(to.quant.zero_point[0]), lo, hi)


def run_layer(graph: Any, layer: Any, mapping: str, spec: CgraSpec, data: CheckData, split: tuple | None):
    """Simulate every launch of the layer on ``data``; returns (output in the layer's shape, Stats)."""
    from cnncc.backends.openedgecgra import sim
    from cnncc.backends.openedgecgra import split as S

    cl = conv_layer(graph, layer, weights=data.weights)
    if data.quant is not None:
        cl = replace(cl, act=None)           # the activation is the requantisation's clamp
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
    if data.quant is not None and data.quant.ref is None:
        raise NotApplicable(data.quant.why)
    got, stats = run_layer(graph, layer, mapping, spec, data, split)
    ok = got.shape == data.ref.shape and np.array_equal(got, data.ref)
    err = 0 if ok or got.shape != data.ref.shape else int(np.max(np.abs(got - data.ref)))
    res = {"bit_exact": bool(ok), "simulated_cgra_cycles": int(stats.cycles),
           "prediction_exact": int(stats.cycles) == int(predicted_cycles), "max_abs_error": err}
    if data.quant is not None:           # the host requantises the simulated accumulators
        acc = to_chw_out(graph, layer, got)
        y = from_chw(graph, layer, requantise(graph, layer, acc))
        assert data.quant.ref is not None
        q_ok = y.shape == data.quant.ref.shape and np.array_equal(y, data.quant.ref)
        res["quantised_bit_exact"] = bool(q_ok)
        res["bit_exact"] = bool(ok and q_ok)
        if not q_ok and y.shape == data.quant.ref.shape:
            res["max_abs_error"] = max(err, int(np.max(np.abs(y - data.quant.ref))))
    return res


def to_chw_out(graph: Any, layer: Any, y: np.ndarray) -> np.ndarray:
    """The inverse of ``from_chw``: a layer output in the CGRA's (K, OY, OX) order."""
    from cnncc.ir import ops as O

    shape = graph.type_of(layer.outputs[0]).shape
    y = np.asarray(y)
    if isinstance(layer.op, O.Conv):
        return y.reshape(shape[1:])
    if isinstance(layer.op, O.MatMul) and graph.is_weight(layer.inputs[0]):
        return y.reshape(y.shape[-2], 1, y.shape[-1])
    flat = y.reshape(-1, shape[-1])               # positions x K
    return flat.T.reshape(shape[-1], 1, -1)
