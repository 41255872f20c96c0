"""Whole network: one optimised strategy per layer, totals, the compact timeline and the optional trace."""

from __future__ import annotations

import json

from cnncc.backends.offload.model import accel_from_params
from cnncc.report import Column, Report, atomic_write, layer_identity

COLUMNS = (Column("name", "layer"), Column("op", "op"), Column("cycles", "cycles", ",.0f"),
           Column("lower_bound_cycles", "bound", ",.0f"), Column("gap", "gap", ".3f"),
           Column("solver_status", "status"), Column("bytes_moved", "bytes", ",d"),
           Column("peak_onchip_bytes", "peak B", ",d"), Column("speedup_vs_best_hand", "x hand", ".2f"))


def compile_network(graph, target, options) -> Report:
    from cnncc.backends.offload import _problem, _streamed, solve_layer
    from cnncc.backends.offload.trace import layer_timeline, write_trace

    acc = accel_from_params(dict(target.params))
    layers, timeline, traced, strategies = [], [], [], {}
    start = 0.0
    tot = {"cycles": 0.0, "macs": 0, "bytes_moved": 0, "best_hand_cycles": 0.0}
    for i, layer in enumerate(graph.layers):
        if options is not None and options.progress:
            options.progress(layer.name, i, len(graph.layers))
        row = layer_identity(layer, graph)
        p = _problem(graph, layer, target)
        if p is None:
            r = _streamed(graph, layer, acc)
            row.update(r)
            row.update({"macs": 0, "lower_bound_cycles": r["cycles"], "gap": 1.0 if r["cycles"] else None})
            tot["best_hand_cycles"] += r["cycles"]
        else:
            r = solve_layer(p, acc, layer.name)
            sim, strat = r.pop("_sim"), r.pop("_strategy")
            row.update(r)
            timeline.append(layer_timeline(layer.name, start, sim))
            traced.append((layer.name, start, sim))
            strategies[layer.name] = strat.summary()
            tot["best_hand_cycles"] += min(r["baselines"].values()) if r["baselines"] else r["cycles"]
        tot["cycles"] += row["cycles"]
        tot["macs"] += row.get("macs", 0)
        tot["bytes_moved"] += row.get("bytes_moved", 0)
        start += row["cycles"]
        layers.append(row)
    totals = dict(tot)
    totals["clock_hz"] = acc.clock_hz
    totals["latency_ms"] = tot["cycles"] / acc.clock_hz * 1e3
    totals["inferences_per_s"] = acc.clock_hz / tot["cycles"] if tot["cycles"] else None
    totals["speedup_vs_best_hand"] = tot["best_hand_cycles"] / tot["cycles"] if tot["cycles"] else None
    totals["peak_sram_bytes"] = max([r.get("peak_onchip_bytes", 0) for r in layers] or [0])
    totals["kept_on_chip_saving_cycles"] = 0.0
    statuses = sorted({r["solver_status"] for r in layers})
    totals["solver_statuses"] = ",".join(statuses)
    rep = Report(command="compile", inputs={}, layers=layers, totals=totals, columns=COLUMNS,
                 title=f"{graph.name} on {target.name}")
    rep.notes.append("cycles are simulated; each equals the z3 objective of its regular strategy")
    rep.notes.append("keeping a layer's output on chip for the next layer is modelled per layer (Problem.out_keep) "
                     "but not yet chosen across layers: saving reported as 0")
    bw = float(acc.dma_bytes_per_cycle)
    rep.sections["roofline"] = {"peak_macs_per_cycle": float(acc.macs_per_cycle),
                                "bandwidths_bytes_per_cycle": {"dram": bw}}
    rep.sections["timeline"] = {"unit": "cycles", "layers": timeline}
    if options is not None and options.trace:
        write_trace(options.trace, traced, acc)
    if options is not None and options.out_dir:
        atomic_write(options.out_dir / "offload_strategies.json",
                     json.dumps(strategies, indent=2, sort_keys=True) + "\n")
    return rep
