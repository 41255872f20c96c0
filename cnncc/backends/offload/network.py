"""Whole network: one optimised strategy per layer, outputs kept on chip across layers, totals, the timeline and
the trace.

Keeping outputs on chip (:mod:`resident`): a unit's output read only by later loop-nest units (as their input,
or as a fused Add's second operand) may stay on chip until its last consumer — the next layer, or a residual
skip tensor read again at the end of its block — if every unit in between still fits with its bytes resident
(those units are solved with the capacity less the resident bytes). The choice is an exact dynamic programme
over the kept-tensor sets, on the exact optimum of each unit under each choice; each layer reports
``cycles_off_chip`` (its optimum with input and output off chip and the whole capacity) and
``kept_saving_cycles`` (negative for a layer slowed by the bytes it holds).
"""

from __future__ import annotations

import functools
import json
import math
from fractions import Fraction
from typing import Any

from cnncc.backends.base import LayerCost, MemoryUse, NetworkResult
from cnncc.backends.offload.model import Accel
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
    from cnncc.backends.offload.resident import plan as keep_plan
    from cnncc.backends.offload.resident import reduced

    kp = keep_plan(graph, problems, acc, fused, {i for i, ps in enumerate(parts) if ps is None}, _optimum)
    kept_by = {c.head: c for c in kp.kept}
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
            v = kp.variants[i]
            p, acc_i = v.problem(p), reduced(acc, v.resident)
            solved = solve_layer(p, acc_i, layer.name, full=acc if v.resident else None)
            extras = dict(solved.fields)
            detail = extras.pop("bound_detail")
            cyc = math.ceil(solved.sim.cycles)
            off = problems[i]
            extras["input_on_chip"], extras["output_kept_on_chip"] = p.in_free, p.out_keep
            extras["residual_on_chip"] = v.res_free
            if i in kept_by:
                extras["kept_on_chip"] = _reason(graph, kept_by[i], kp)
            if v.resident:
                extras["resident_bytes"], extras["resident_tensors"] = v.resident, list(v.held)
                extras["capacity_bytes"] = acc_i.onchip_bytes
            extras["cycles_off_chip"] = (float(solved.sim.cycles) if off == p and not v.resident
                                         else float(_optimum(off, acc) or 0))
            extras["kept_saving_cycles"] = extras["cycles_off_chip"] - float(solved.sim.cycles)
            if i in fused.members:
                extras["fused_layers"] = list(fused.members[i])
            cost = LayerCost.of(layer, graph, device="accel", cycles=cyc, macs=int(graph.macs(layer)),
                                bound=_shared(detail), bound_detail=_detail(detail),
                                onchip_bytes=solved.sim.peak_bytes + v.resident, extras=extras)
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
                     "tile; per-channel constants of a fused BatchNormalization or Mul/Add are loaded whole once); "
                     "their rows show 0 cycles and fused_into")
    multi = [c for c in kp.kept if c.last > c.pos + 1 or any("R" in r for _, r in c.roles)]
    if acc.keep_outputs_on_chip:
        notes.append(f"{len(kp.kept)} layer outputs kept on chip, {len(multi)} of them across more than the next "
                     f"layer or as a fused residual (an exact dynamic programme over the kept-tensor sets"
                     f"{'' if kp.exact else ', some candidates dropped: MAX_STATES'}); layers holding resident "
                     f"tensors are solved and proved optimal for the capacity less the resident bytes "
                     f"(capacity_bytes); saving {off_chip - total:,.0f} cycles")
    peak = max([c.onchip_bytes or 0 for c in costs] or [0])
    totals = {"bytes_moved": sum(int(c.extras.get("bytes_moved", 0)) for c in costs),
              "best_hand_cycles": best_hand, "cycles_off_chip": off_chip,
              "speedup_vs_best_hand": best_hand / total if total else None,
              "kept_on_chip_saving_cycles": off_chip - total, "kept_layers": len(kp.kept),
              "kept_across_layers": len(multi), "fused_layers": len(fused.into),
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
def _optimum(p, acc, full=None) -> Fraction | None:
    """Exact optimum (cycles) of the regular space of ``p``, None when nothing fits. ``full``: the accelerator
    before its capacity was reduced for resident tensors; when its optimum fits the reduced capacity it is the
    reduced space's optimum too (a subset's member minimal in the whole set; the tie-break keys are the same)."""
    from cnncc.backends.offload import exhaustive, regular

    if p is None:
        return None
    if full is not None and full != acc:
        if regular.min_capacity(p, acc) > acc.onchip_bytes:
            return None
        whole = exhaustive.best_regular(p, full)
        if whole.strategy is not None and whole.scaled_cycles is not None and regular.fits(p, acc, whole.strategy):
            return Fraction(whole.scaled_cycles, full.scale)
    if regular.min_capacity(p, acc) > acc.onchip_bytes:
        return None
    b = exhaustive.best_regular(p, acc)
    return None if b.strategy is None or b.scaled_cycles is None else Fraction(b.scaled_cycles, acc.scale)


def _reason(graph: Any, c: Any, kp: Any) -> str:
    """Why and how long a kept output stays on chip (its consumers and how they read it)."""
    units = sorted(kp.variants)
    names = [f"{graph.layers[units[q]].name} ({'+'.join(sorted(r))})" for q, r in c.roles]
    span = "next layer" if c.last == c.pos + 1 else f"{c.last - c.pos - 1} layers held across"
    return f"read from chip by {', '.join(names)}; {span}; {c.nbytes} B"
