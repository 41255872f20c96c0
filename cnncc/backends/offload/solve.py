"""One layer shape: the exact optimum of the regular space (branch and bound), its z3 certificate, the
step-level check on small decompositions, the simulator replay (which must equal the closed form), the lower
bound and its gap per term, and the hand baselines. Results are cached per anonymous layer shape."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from fractions import Fraction
from typing import Any

from cnncc.backends.offload.formalism import Regular
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.errors import CapacityError, MismatchError


@dataclasses.dataclass(frozen=True)
class Solved:
    """A layer's result: the report fields (plain JSON), and the simulation and strategy (for the trace)."""

    fields: dict[str, Any]
    sim: Any
    strategy: Any


def solve_layer(p: Problem, acc: Accel, layer_name: str, full: Accel | None = None) -> Solved:
    """Optimise, simulate and compare one layer (see the module docstring). ``full``: the accelerator before its
    capacity was reduced for tensors of other layers resident on chip (``acc`` is the reduced one)."""
    from cnncc.backends.offload import regular

    need = regular.min_capacity(p, acc)
    cap = acc.onchip_bytes if acc.split is None else min(acc.split)
    if need > acc.onchip_bytes or (acc.split and not _split_ok(p, acc)):
        raise CapacityError(f"layer {layer_name!r}: on-chip memory too small ({cap} B); the smallest strategy "
                            f"needs at least {need} B ({acc.overlap})")
    try:
        r = _solve_shape(dataclasses.replace(p, name=""), acc, full if full != acc else None)
    except MismatchError as e:
        raise MismatchError(f"layer {layer_name!r}: {e}") from None
    if r is None:
        raise CapacityError(f"layer {layer_name!r}: no strategy fits {cap} B on chip; at least {need} B needed")
    return r


@functools.lru_cache(maxsize=1024)
def _solve_shape(p: Problem, acc: Accel, full: Accel | None = None) -> Solved | None:
    from cnncc.backends.offload import exhaustive, regular
    from cnncc.backends.offload.formalism import expand
    from cnncc.backends.offload.simulate import simulate

    t0 = time.perf_counter()
    if full is not None and regular.min_capacity(p, full) <= full.onchip_bytes:
        whole = _solve_shape(p, full)
        if whole is not None and regular.fits(p, acc, whole.strategy):
            # the optimum of the whole capacity fits the reduced one: it is the reduced space's optimum (and
            # its proof covers the subset); its replay fits (peak checked), so it is replayed under acc too
            if whole.sim.peak_bytes > acc.onchip_bytes:
                raise MismatchError(f"replay peak {whole.sim.peak_bytes} B exceeds the footprint bound "
                                    f"{acc.onchip_bytes} B")
            f = whole.fields
            found = exhaustive.best_regular(p, full)
            r = _fields(p, acc, found, whole.strategy, f["solver_status"], f["proof"], f["z3_time_s"],
                        f["steplevel_check"], time.perf_counter() - t0, whole.sim)
            r.fields["proof_scope"] = (f"proved at {full.onchip_bytes} B; the optimum fits {acc.onchip_bytes} B, "
                                       "so it is the optimum there too")
            return r
    found = exhaustive.best_regular(p, acc)
    strat, status, proof = found.strategy, "optimal", "exhaustive"
    if strat is None or found.scaled_cycles is None:
        return None
    z3_s = None
    if acc.z3_certify:
        from cnncc.backends.offload.certify import prove

        tz = time.perf_counter()
        verdict, why = prove(p, acc, found.scaled_cycles, acc.solver_timeout_s, found.survivors)
        z3_s = round(time.perf_counter() - tz, 3)
        if verdict == "sat":  # the exhaustive search missed a faster strategy: never hidden
            raise MismatchError(f"z3 found a regular strategy faster than the exhaustive optimum ({why})")
        if verdict == "unsat":
            proof = "exhaustive+z3"
        else:  # z3 did not prove it: report the gap, claim no z3 proof
            status, proof = "feasible", f"exhaustive (z3: {why})"
    step_check = _step_check(p, acc, strat, Fraction(found.scaled_cycles, acc.scale))
    dt = time.perf_counter() - t0
    sim = simulate(p, acc, strat.tiling, expand(p, acc, strat))
    closed = regular.closed_form(p, acc, strat)
    if closed != sim.cycles or closed != Fraction(found.scaled_cycles, acc.scale):
        raise MismatchError(f"simulated {float(sim.cycles)} cycles != solver objective {float(closed)}")
    r = _fields(p, acc, found, strat, status, proof, z3_s, step_check, dt, sim)
    if full is not None:
        r.fields["proof_scope"] = f"proved for the reduced capacity {acc.onchip_bytes} B"
    return r


def _fields(p: Problem, acc: Accel, found: Any, strat: Regular, status: str, proof: str, z3_s: float | None,
            step_check: str, dt: float, sim: Any) -> Solved:
    """The report fields of a solved shape: the lower bound and its gap per term, the hand baselines (all on
    ``acc``, whose capacity they depend on)."""
    from cnncc.backends.offload import baselines
    from cnncc.backends.offload.bound import gap_terms, lower_bound

    base = {n: baselines.hand(p, acc, n) for n in baselines.CAPS}
    base_cycles = {n: _baseline_cycles(p, acc, s) for n, s in base.items() if s is not None}
    lb = lower_bound(p, acc)
    nbytes = sim.bytes_loaded + sim.bytes_stored
    best_hand = min(base_cycles.values()) if base_cycles else None
    fields = {"strategy": strat.summary(), "lower_bound_cycles": float(lb.cycles),
              "gap": float(sim.cycles / lb.cycles) if lb.cycles else None, "lower_bound_side": lb.side,
              "lower_bound_terms": {k: float(v) for k, v in lb.terms.items()},
              "gap_terms": gap_terms(lb, acc, sim.cycles, sim.compute_calls, sim.transfers, nbytes),
              "solver_status": status, "proof": proof, "steplevel_check": step_check,
              "candidates": found.feasible, "evaluated_exactly": found.exact, "solve_time_s": round(dt, 3),
              "z3_time_s": z3_s, "bytes_moved": nbytes, "transfers": sim.transfers,
              "mac_per_cycle": float(p.macs / sim.cycles) if sim.cycles else 0.0,
              "bound_detail": bound_detail(sim.pu_busy, sim.load_busy, sim.store_busy, acc),
              "baselines": {n: float(c) for n, c in sorted(base_cycles.items())},
              "speedup_vs_best_hand": float(best_hand / sim.cycles) if best_hand else None}
    return Solved(fields, sim, strat)


def _step_check(p: Problem, acc: Accel, strat, cycles: Fraction) -> str:
    """The step-level z3 search on small decompositions: is any step sequence faster than the regular one?"""
    from cnncc.backends.offload.steplevel import solve_steps, subconvs

    t = strat.tiling.as_dict()
    if p.in_free or p.out_keep or any(p.size(d) % t[d] for d in DIMS):
        return "not run (kept tensors or ragged tiles)"
    if p.rb:
        return "not run (fused residual: the step-level encoding has no accumulator initialisation)"
    if p.cb:
        return "not run (fused per-channel constants: not in the step-level encoding)"
    if len(subconvs(p, strat.tiling)) > acc.steplevel_max_subconvs:
        return "not run (more sub-convolutions than steplevel_max_subconvs)"
    r = solve_steps(p, acc, strat.tiling, acc.steplevel_timeout_s, below=cycles)
    if r.status == "infeasible":
        return "proved: no step sequence of this decomposition is faster"
    if r.steps is None:
        return "unknown (resource limit)"
    return f"faster step sequence found: {float(r.cycles or 0)} cycles"


def _baseline_cycles(p: Problem, acc: Accel, s: Regular) -> Fraction:
    """Cycles of a hand baseline: the scalar closed form of :mod:`fast` (with or without reuse; both equal the
    simulator on every regular strategy, tested)."""
    from cnncc.backends.offload.fast import durations

    res = {a: a in s.resident for a in ("I", "W", "O")}
    return Fraction(durations(p, acc, s.tiling.as_dict(), res, (s.order,), reuse=s.reuse)[0], acc.scale)


def _split_ok(p: Problem, acc: Accel) -> bool:
    from cnncc.backends.offload import regular

    A = regular.Concrete(p, {d: 1 for d in DIMS})
    fp = regular.footprints(A, p, acc, {"I": False, "W": False, "O": False})
    assert acc.split is not None
    return all(fp[a] <= c for a, c in zip(("I", "W", "O"), acc.split))


def streamed(graph, layer, acc: Accel) -> dict[str, Any]:
    """Layers with no problem form (Softmax, Resize, Pad, Slice, ...) stream through on-chip memory in chunks:
    each chunk loads its inputs and stores its output, one element per MAC slot."""
    ins = [graph.type_of(t).numel for t in graph.activation_inputs(layer)]
    out = sum(graph.type_of(t).numel for t in layer.outputs)
    elems = max([out] + ins)
    per = acc.act_bytes * (len(ins) + len(layer.outputs)) * acc.buffers
    chunks = math.ceil(elems / max(1, acc.onchip_bytes // per))
    nbytes = (sum(ins) + out) * acc.act_bytes
    dma = Fraction(nbytes) / acc.dma_bytes_per_cycle + acc.dma_latency_cycles * chunks * (len(ins) + 1)
    comp = acc.call_overhead_cycles * chunks + Fraction(elems, acc.macs_per_cycle)
    cyc = max(dma, comp) if acc.pipelined else dma + comp
    loads = Fraction(sum(ins) * acc.act_bytes) / acc.dma_bytes_per_cycle + acc.dma_latency_cycles * chunks * len(ins)
    return {"cycles": float(cyc), "bytes_moved": nbytes, "solver_status": "streamed",
            "bound_detail": bound_detail(comp, loads, dma - loads, acc)}


def bound_detail(pu: Fraction, loads: Fraction, stores: Fraction, acc: Accel) -> str:
    """What limits a layer: ``pu`` when the PU is busier than the DMA, else the busier DMA direction
    (``dma-load`` or ``dma-store``); on a shared channel the DMA is loads + stores, on separate ones the busier."""
    dma = loads + stores if acc.dma_channels == "shared" else max(loads, stores)
    if pu >= dma:
        return "pu"
    return "dma-load" if loads >= stores else "dma-store"
