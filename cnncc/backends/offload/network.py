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
import math
from fractions import Fraction
from typing import Any

from cnncc.backends.base import LayerCost, MemoryUse, NetworkResult
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem
from cnncc.report import Column
from cnncc.spec import FrozenMap

COLUMNS = (Column("name", "layer"), Column("op", "op"), Column("cycles", "cycles", ",d"),
           Column("lower_bound_cycles", "lower bound", ",.0f"), Column("gap", "gap", ".3f"),
           Column("bound", "bound"), Column("solver_status", "status"), Column("bytes_moved", "bytes", ",d"),
           Column("onchip_bytes", "on-chip B", ",d"), Column("speedup_vs_best_hand", "x hand", ".2f"))


def compile_network(graph, target, acc: Accel, want_trace: bool = False, progress=None,
                    want_artefacts: bool = False) -> NetworkResult:
    """Cost every layer (see the module docstring)."""
    from cnncc.backends.offload.layers import problems as problems_of
    from cnncc.backends.offload.solve import solve_layer, streamed
    from cnncc.backends.offload.trace import layer_timeline, trace_json

    costs, timeline, traced, strategies = [], [], [], {}
    start = 0.0
    best_hand = off_chip = 0.0
    from cnncc.backends.offload.fusion import plan

    parts = [problems_of(graph, layer, acc, target.name) for layer in graph.layers]
    fused = plan(graph, [ps[0] if ps else None for ps in parts], parts, acc, _optimum)
    problems = fused.problems
    keep = choose_kept(graph, problems, acc, fused) if acc.keep_outputs_on_chip else [False] * len(problems)
    prev_unit: dict[int, int] = {}
    last = -1
    for i in range(len(problems)):
        if i not in fused.into:
            prev_unit[i], last = last, i
    for i, layer in enumerate(graph.layers):
        if progress:
            progress("offload", i, len(graph.layers))
        p = problems[i]
        extras: dict[str, Any]
        if i in fused.into:
            cost = LayerCost.of(layer, graph, device="accel", cycles=0, bound="none", bound_detail="fused",
                                extras={"solver_status": "fused", "bytes_moved": 0,
                                        "fused_into": graph.layers[fused.into[i]].name})
        elif parts[i] is None:
            cost = LayerCost.of(layer, graph, device="none", bound="none", bound_detail="view",
                                extras={"solver_status": "none", "bytes_moved": 0})
        elif p is None:
            r = streamed(graph, layer, acc)
            cyc = math.ceil(r["cycles"])
            cost = LayerCost.of(layer, graph, device="accel", cycles=cyc, bound=_shared(r["bound_detail"]),
                                bound_detail=_detail(r["bound_detail"]),
                                extras={"lower_bound_cycles": r["cycles"], "gap": 1.0 if cyc else None,
                                        "solver_status": "streamed", "bytes_moved": r["bytes_moved"]})
            best_hand += cyc
            off_chip += cyc
        else:
            p = dataclasses.replace(p, in_free=prev_unit[i] >= 0 and keep[prev_unit[i]], out_keep=keep[i])
            solved = solve_layer(p, acc, layer.name)
            extras = dict(solved.fields)
            detail = extras.pop("bound_detail")
            cyc = math.ceil(solved.sim.cycles)
            off = problems[i]
            extras["input_on_chip"], extras["output_kept_on_chip"] = p.in_free, p.out_keep
            extras["cycles_off_chip"] = float(solved.sim.cycles) if off == p else float(_optimum(off, acc) or 0)
            extras["kept_saving_cycles"] = extras["cycles_off_chip"] - float(solved.sim.cycles)
            if i in fused.members:
                extras["fused_layers"] = list(fused.members[i])
            cost = LayerCost.of(layer, graph, device="accel", cycles=cyc, macs=int(graph.macs(layer)),
                                bound=_shared(detail), bound_detail=_detail(detail),
                                onchip_bytes=solved.sim.peak_bytes, extras=extras)
            timeline.append(layer_timeline(layer.name, start, solved.sim))
            if want_trace:
                traced.append((layer.name, start, solved.sim))
            strategies[layer.name] = solved.strategy.summary()
            best_hand += min(extras["baselines"].values()) if extras["baselines"] else cyc
            off_chip += extras["cycles_off_chip"]
        start += cost.cycles
        costs.append(cost)
    total = sum(c.cycles for c in costs)
    statuses = sorted({str(c.extras.get("solver_status")) for c in costs})
    notes = ["cycles are simulated; each equals the closed-form duration of its strategy, the exact optimum of "
             "the regular space (tile sizes with a ragged last tile, loop order, residency; see the proof field)",
             "lower bound: valid for every strategy (compute + stores chain, DMA chain; see bound.py); "
             "gap_terms splits the gap per term"]
    if fused.into:
        notes.append(f"{len(fused.into)} elementwise layers fused into their producers (activations in the output "
                     "stage; an Add's second operand initialises the producer's accumulators, one load per output "
                     "tile); their rows show 0 cycles and fused_into")
    if acc.keep_outputs_on_chip:
        notes.append(f"{sum(keep)} layer outputs kept on chip for the next layer (chosen by dynamic "
                     f"programming); saving {off_chip - total:,.0f} cycles")
    peak = max([c.onchip_bytes or 0 for c in costs] or [0])
    totals = {"bytes_moved": sum(int(c.extras.get("bytes_moved", 0)) for c in costs),
              "best_hand_cycles": best_hand, "cycles_off_chip": off_chip,
              "speedup_vs_best_hand": best_hand / total if total else None,
              "kept_on_chip_saving_cycles": off_chip - total, "kept_layers": sum(keep), "fused_layers": len(fused.into),
              "solver_statuses": ",".join(statuses)}
    artefacts = {"offload_strategies.json": (json.dumps(strategies, indent=2, sort_keys=True) + "\n").encode()
                 } if want_artefacts else {}
    return NetworkResult(
        layers=tuple(costs), clock_hz=float(acc.clock_hz), peak_macs_per_cycle=float(acc.macs_per_cycle),
        bandwidths_bytes_per_cycle=FrozenMap({"dram": float(acc.dma_bytes_per_cycle)}), columns=COLUMNS,
        title=f"{graph.name} on {target.name}", notes=tuple(notes),
        memory=MemoryUse(peak, acc.onchip_bytes), totals_extra=FrozenMap(totals),
        sections=FrozenMap({"timeline": {"unit": "cycles", "layers": timeline}}), artefacts=FrozenMap(artefacts),
        trace=trace_json(traced, acc) if want_trace else None)


def _shared(detail: str) -> str:
    """The shared bound word of the backend's detail (``pu`` -> compute, ``dma-load``/``dma-store`` -> memory)."""
    return "compute" if detail == "pu" else "memory"


def _detail(detail: str) -> str:
    """The backend's word: ``pu``, ``dma-load`` or ``dma-store``."""
    return detail


@functools.lru_cache(maxsize=4096)
def _optimum(p, acc) -> Fraction | None:
    """Exact optimum (cycles) of the regular space of ``p``, None when nothing fits."""
    from cnncc.backends.offload import exhaustive, regular

    if p is None:
        return None

    if regular.min_capacity(p, acc) > acc.onchip_bytes:
        return None
    b = exhaustive.best_regular(p, acc)
    return None if b.strategy is None or b.scaled_cycles is None else Fraction(b.scaled_cycles, acc.scale)


def keepable(graph, i: int, nx: int | None, problems, out: str) -> bool:
    """Unit i's output ``out`` (its own, or its last fused layer's) may stay on chip: read only by the next unit
    ``nx`` (not a graph output), both with loop nests (``nx`` reading it as its only activation input)."""
    if nx is None or problems[i] is None or problems[nx] is None:
        return False
    nxt = graph.layers[nx]
    if len(graph.layers[i].outputs) != 1 or out in graph.outputs:
        return False
    return [c.name for c in graph.consumers(out)] == [nxt.name] and graph.activation_inputs(nxt) == [out]


def choose_kept(graph: Any, problems: list[Problem | None], acc: Accel, fused: Any) -> list[bool]:
    """For each layer, keep its output on chip? Minimises the sum of exact per-layer optima (dynamic programming
    over 'input on chip', over the units: layers not fused into another); a layer that cannot fit a variant never
    takes it. Only the variants the recursion reaches are solved (a unit's input can be on chip only if the
    previous unit may keep it)."""
    units = [i for i in range(len(problems)) if i not in fused.into]
    keep_all = [False] * len(problems)
    probs = [problems[i] for i in units]
    n = len(units)
    can_keep = [keepable(graph, units[k], units[k + 1] if k + 1 < n else None, problems, fused.out[units[k]])
                for k in range(n)]
    problems = probs
    # best[i][inp] = (cost of layers i.., keep decisions) given layer i's input on chip (inp); None: infeasible
    best: list[dict[bool, tuple[Fraction, list[bool]] | None]] = [dict() for _ in range(n + 1)]
    best[n] = {False: (Fraction(0), []), True: (Fraction(0), [])}
    for i in range(n - 1, -1, -1):
        for inp in ((False, True) if i > 0 and can_keep[i - 1] else (False,)):
            p = problems[i]
            if p is None:
                nxt0 = best[i + 1][False]
                best[i][inp] = None if inp or nxt0 is None else (nxt0[0], [False] + nxt0[1])
                continue
            options = []
            for out in ((False, True) if can_keep[i] else (False,)):
                nxt = best[i + 1].get(out)
                if nxt is None:
                    continue
                c = _optimum(dataclasses.replace(p, in_free=inp, out_keep=out), acc)
                if c is not None:
                    options.append((c + nxt[0], not out, [out] + nxt[1]))
            best[i][inp] = (min(options)[0], min(options)[2]) if options else None
    first = best[0].get(False)
    if first is None:  # some layer fits no variant: the per-layer solve reports the error
        return keep_all
    for k, v in zip(units, first[1]):
        keep_all[k] = v
    return keep_all
