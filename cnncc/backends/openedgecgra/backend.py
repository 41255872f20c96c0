"""``compile`` for the OpenEdgeCGRA target: per-layer mapping search, report, functional check, artefacts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from cnncc.backends.openedgecgra import host as H
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.artefacts import write_layer
from cnncc.backends.openedgecgra.kernels.common import NotApplicable
from cnncc.backends.openedgecgra.layer import apply_act, conv_layer, from_chw, to_chw
from cnncc.backends.openedgecgra.params import resolved
from cnncc.backends.openedgecgra.search import cpu_conv_cost, cpu_only, search
from cnncc.errors import MismatchError
from cnncc.report import Column, Report, layer_identity

COLUMNS = (Column("name", "layer"), Column("op", "op"), Column("device", "device"), Column("mapping", "mapping"),
           Column("cycles", "cycles", ",d"), Column("mac_per_cycle", "MAC/cyc", ".3f"),
           Column("energy_uj", "energy µJ", ".3f"), Column("speedup_vs_cpu", "× CPU", ".2f"))


def _r(v: float) -> float:
    return round(float(v), 6)


def layer_cost(graph, layer, target, prm: dict | None = None) -> dict:
    """Report row (without identity) of one layer: the best mapping, or the host CPU when none applies."""
    prm = prm or resolved(target.params)
    try:
        cl = conv_layer(graph, layer)
    except NotApplicable as e:
        cost = H.other_layer_cpu(graph, layer)
        row = cpu_only(prm, cost, graph.macs(layer))
        row.update({"device": "cpu", "macs": graph.macs(layer), "reason": str(e), "candidates": []})
        row["cpu_only_cycles"], row["cpu_only_energy_uj"] = row["cycles"], row["energy_uj"]
        row["speedup_vs_cpu"], row["energy_gain_vs_cpu"] = 1.0, 1.0
        return row
    cands, best = search(cl, prm)
    base = cpu_only(prm, cpu_conv_cost(cl), cl.macs)
    if best is None:
        row = dict(base)
        row.update({"device": "cpu", "reason": "no CGRA mapping applies"})
    else:
        row = dict(best.row)
        row["device"] = "cgra"
        row["_best"] = best
    row["macs"] = cl.macs
    if cl.quantised:
        row["weights"] = "float weights costed as int8 (immediates need integers)"
    row["candidates"] = [c.row for c in cands]
    row["cpu_only_cycles"], row["cpu_only_energy_uj"] = base["cycles"], base["energy_uj"]
    row["speedup_vs_cpu"] = _r(base["cycles"] / row["cycles"]) if row["cycles"] else 0.0
    row["energy_gain_vs_cpu"] = _r(base["energy_uj"] / row["energy_uj"]) if row["energy_uj"] else 0.0
    row["_cl"] = cl
    return row


def _run_split(cl, mapping, prm, split, xc):
    from cnncc.backends.openedgecgra import sim
    from cnncc.backends.openedgecgra import split as S

    xp = S.padded_input(cl, np.asarray(xc, np.int64))
    y = np.zeros((cl.K, cl.prob.OY, cl.prob.OX), np.int64)
    total = sim.Stats()
    for part, (k0, k1, y0, y1, c0, c1, iy0) in S.split(cl, *split):
        part = replace(part, act=None)
        plan = P.make_plan(mapping, part, prm["sram_bytes"], prm["sram_bank_bytes"])
        yp, st = P.run(plan, xp[c0:c1, iy0:iy0 + part.prob.IY])
        y[k0:k1, y0:y1] = yp
        total.add(st)
    return apply_act(cl.act, y), total


def check_layer(graph, layer, mapping: str, prm: dict, predicted_cycles: int, split=None) -> dict:
    """Simulate every launch of the layer on seeded integer data and compare with the reference interpreter."""
    from cnncc.ir import interp

    rng = np.random.default_rng(prm["check_seed"])
    ws = {t: rng.integers(-8, 9, graph.type_of(t).shape).astype(np.int64) for t in graph.weight_inputs(layer)}
    x = rng.integers(-8, 9, graph.type_of(layer.inputs[0]).shape).astype(np.int64)
    args = [ws[t] if t in ws else x for t in layer.inputs]
    ref = np.asarray(interp.run_layer(layer, args)[0]).astype(np.int64)
    cl = conv_layer(graph, layer, weights=ws)
    xc = to_chw(graph, layer, x)
    if split is None:
        plan = P.make_plan(mapping, cl, prm["sram_bytes"], prm["sram_bank_bytes"])
        y, stats = P.run(plan, xc)
    else:
        y, stats = _run_split(cl, mapping, prm, split, xc)
    got = from_chw(graph, layer, y).astype(np.int64)
    ok = got.shape == ref.shape and np.array_equal(got, ref)
    return {"bit_exact": bool(ok), "simulated_cgra_cycles": int(stats.cycles),
            "prediction_exact": int(stats.cycles) == int(predicted_cycles),
            "max_abs_error": 0 if ok or got.shape != ref.shape else int(np.max(np.abs(got - ref)))}


def compile_graph(graph, target, options) -> Report:
    prm = resolved(target.params)
    layers, notes = [], []
    mismatches = []
    n = len(graph.layers)
    for i, layer in enumerate(graph.layers):
        if options.progress:
            options.progress("cgra", i, n)
        row = layer_cost(graph, layer, target, prm)
        best = row.pop("_best", None)
        cl = row.pop("_cl", None)
        d = layer_identity(layer, graph)
        d.update(row)
        if best is not None and options.check:
            try:
                apply_act(cl.act, np.zeros(1, np.int64))
                res = check_layer(graph, layer, best.row["mapping"], prm, best.stats.cycles, best.split)
            except NotApplicable as e:
                res = {"bit_exact": None, "skipped": str(e)}
                notes.append(f"--check skipped layer {layer.name}: {e}")
            d["check"] = res
            if res.get("bit_exact") is False:
                mismatches.append(layer.name)
            if res.get("prediction_exact") is False:
                notes.append(f"layer {layer.name}: simulated CGRA cycles {res['simulated_cgra_cycles']} differ "
                             f"from the prediction {best.stats.cycles}")
        if best is not None and options.out_dir is not None:
            if best.plan is not None:
                write_layer(Path(options.out_dir), layer.name, best.plan)
            else:
                from cnncc.backends.openedgecgra import split as S

                for j, (part, _) in enumerate(S.split(cl, *best.split)):
                    plan = P.make_plan(best.row["mapping"], part, prm["sram_bytes"], prm["sram_bank_bytes"])
                    write_layer(Path(options.out_dir), f"{layer.name}.part{j}", plan)
        layers.append(d)
    if options.progress:
        options.progress("cgra", n, n)
    clock = prm["clock_hz"]
    cyc = sum(int(r["cycles"]) for r in layers)
    cpu_cyc = sum(int(r["cpu_only_cycles"]) for r in layers)
    en = sum(float(r["energy_uj"]) for r in layers)
    cpu_en = sum(float(r["cpu_only_energy_uj"]) for r in layers)
    split = {k: _r(sum(float(r["energy_split_uj"].get(k, 0.0)) for r in layers)) for k in ("cgra", "memory", "cpu")}
    macs = sum(int(r.get("macs", 0)) for r in layers)
    totals = {"cycles": cyc, "latency_ms": _r(cyc / clock * 1e3), "clock_hz": clock, "macs": macs,
              "inferences_per_s": _r(clock / cyc) if cyc else 0.0, "energy_uj": _r(en), "energy_split_uj": split,
              "mac_per_cycle": _r(macs / cyc) if cyc else 0.0, "cpu_only_cycles": cpu_cyc,
              "cpu_only_energy_uj": _r(cpu_en), "speedup_vs_cpu": _r(cpu_cyc / cyc) if cyc else 0.0,
              "energy_gain_vs_cpu": _r(cpu_en / en) if en else 0.0,
              "peak_sram_bytes": max([int(r.get("sram_bytes", 0)) for r in layers] or [0]),
              "cgra_layers": sum(r["device"] == "cgra" for r in layers)}
    notes.append("energies are estimates (65 nm per-op figures; memory/CPU constants fitted to the CF'24 table)")
    notes.append("cycles: CGRA cycles predicted by simulating one launch per timing signature, plus kernel "
                 "configuration and the host CPU model; layers the CGRA cannot run are costed on the host CPU")
    rep = Report("compile", {}, layers, totals, COLUMNS, notes,
                 {"roofline": {"peak_macs_per_cycle": 4.0, "bandwidths_bytes_per_cycle": {"sram": 16.0}}},
                 title=f"{target.name}: {graph.name}")
    if mismatches:
        if options.out_dir is not None:
            from cnncc.report import atomic_write

            atomic_write(Path(options.out_dir) / "report.json", rep.to_json())
        raise MismatchError(f"--check: CGRA simulation differs from the reference interpreter on layer(s) "
                            f"{', '.join(mismatches)}")
    return rep


def layer_plan_json(plan: P.Plan) -> str:
    return json.dumps(plan, default=str)
