"""Whole network: one optimised strategy per layer, kept-on-chip outputs, totals, the timeline and the trace.

Keeping outputs on chip: when a layer's output feeds only the next layer, and that layer has a loop nest too,
the output may stay on chip (no final stores; the next layer's input needs no loads) if both strategies still
fit with it resident. Whether to keep each such output is chosen by dynamic programming over the layer sequence
(state: is this layer's input already on chip), on the exact optimum of each layer under each choice; each
layer reports ``cycles_off_chip`` (its optimum with input and output off chip) and ``kept_saving_cycles``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from fractions import Fraction

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
    tot = {"cycles": 0.0, "macs": 0, "bytes_moved": 0, "best_hand_cycles": 0.0, "cycles_off_chip": 0.0}
    problems = [_problem(graph, layer, target) for layer in graph.layers]
    keep = choose_kept(graph, problems, acc) if acc.keep_outputs_on_chip else [False] * len(problems)
    for i, layer in enumerate(graph.layers):
        if options is not None and options.progress:
            options.progress("offload", i, len(graph.layers))
        row = layer_identity(layer, graph)
        p = problems[i]
        if p is not None:
            p = dataclasses.replace(p, in_free=i > 0 and keep[i - 1], out_keep=keep[i])
        if p is None:
            r = _streamed(graph, layer, acc)
            row.update(r)
            row.update({"macs": 0, "lower_bound_cycles": r["cycles"], "gap": 1.0 if r["cycles"] else None})
            tot["best_hand_cycles"] += r["cycles"]
        else:
            r = solve_layer(p, acc, layer.name)
            sim, strat = r.pop("_sim"), r.pop("_strategy")
            off = problems[i]
            r["input_on_chip"], r["output_kept_on_chip"] = p.in_free, p.out_keep
            r["cycles_off_chip"] = r["cycles"] if off == p else float(_optimum(off, acc))
            r["kept_saving_cycles"] = r["cycles_off_chip"] - r["cycles"]
            row.update(r)
            timeline.append(layer_timeline(layer.name, start, sim))
            traced.append((layer.name, start, sim))
            strategies[layer.name] = strat.summary()
            tot["best_hand_cycles"] += min(r["baselines"].values()) if r["baselines"] else r["cycles"]
        tot["cycles"] += row["cycles"]
        tot["cycles_off_chip"] += row.get("cycles_off_chip", row["cycles"])
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
    totals["kept_on_chip_saving_cycles"] = tot["cycles_off_chip"] - tot["cycles"]
    totals["kept_layers"] = sum(keep)
    statuses = sorted({r["solver_status"] for r in layers})
    totals["solver_statuses"] = ",".join(statuses)
    rep = Report(command="compile", inputs={}, layers=layers, totals=totals, columns=COLUMNS,
                 title=f"{graph.name} on {target.name}")
    rep.notes.append("cycles are simulated; each equals the closed-form duration of its strategy, the exact "
                     "optimum of the regular space (exhaustive search; see the proof field)")
    if acc.keep_outputs_on_chip:
        rep.notes.append(f"{sum(keep)} layer outputs kept on chip for the next layer (chosen by dynamic "
                         f"programming); saving {totals['kept_on_chip_saving_cycles']:,.0f} cycles")
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


@functools.lru_cache(maxsize=4096)
def _optimum(p, acc) -> Fraction | None:
    """Exact optimum (cycles) of the regular space of ``p``, None when nothing fits."""
    from cnncc.backends.offload import exhaustive, regular

    if regular.min_capacity(p, acc) > acc.onchip_bytes:
        return None
    b = exhaustive.best_regular(p, acc)
    return None if b.strategy is None else Fraction(b.scaled_cycles, acc.scale)


def keepable(graph, i: int, problems) -> bool:
    """Layer i's output may stay on chip: it has one output, read only by layer i+1 (not a graph output), and
    both layers have loop nests (layer i+1 reading it as its only activation input)."""
    if i + 1 >= len(problems) or problems[i] is None or problems[i + 1] is None:
        return False
    layer, nxt = graph.layers[i], graph.layers[i + 1]
    if len(layer.outputs) != 1 or layer.outputs[0] in graph.outputs:
        return False
    out = layer.outputs[0]
    return [c.name for c in graph.consumers(out)] == [nxt.name] and graph.activation_inputs(nxt) == [out]


def choose_kept(graph, problems, acc) -> list[bool]:
    """For each layer, keep its output on chip? Minimises the sum of exact per-layer optima (dynamic programming
    over 'input on chip'); a layer that cannot fit a variant never takes it."""
    n = len(problems)
    INF = None
    # best[i][inp] = (cost of layers i.., keep decisions) given layer i's input on chip (inp)
    best: list[dict[bool, tuple]] = [dict() for _ in range(n + 1)]
    best[n] = {False: (Fraction(0), []), True: (Fraction(0), [])}
    for i in range(n - 1, -1, -1):
        for inp in (False, True):
            if problems[i] is None:
                best[i][inp] = (Fraction(0) + best[i + 1][False][0], [False] + best[i + 1][False][1]) \
                    if not inp else INF
                continue
            options = []
            for out in ((False, True) if keepable(graph, i, problems) else (False,)):
                nxt = best[i + 1].get(out)
                if nxt is INF:
                    continue
                c = _optimum(dataclasses.replace(problems[i], in_free=inp, out_keep=out), acc)
                if c is not None:
                    options.append((c + nxt[0], not out, [out] + nxt[1]))
            best[i][inp] = (min(options)[0], min(options)[2]) if options else INF
    if best[0].get(False) is None:  # some layer fits no variant: the per-layer solve reports the error
        return [False] * n
    return best[0][False][1]
