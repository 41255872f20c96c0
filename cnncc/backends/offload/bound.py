"""The lower bound of a layer (valid for every strategy of the formalism, regular or not) and the gap's
breakdown per term.

Terms (cycles): ``compute`` = MACs/pi + the call overhead of the fewest calls possible (2 when the whole layer
does not fit on chip at once, else 1); ``loads`` = compulsory load traffic / beta + lambda per operand moved (the
input rows and columns some window reads, the weights, a fused residual, each once); ``stores`` = the final
output / beta + lambda (0 when the output stays on chip); ``first_loads`` = what the first compute call waits
for (the smallest input and weight tiles); ``last_compute`` = the smallest call; ``last_store`` = the smallest
final store.

Why each combination bounds the duration (the timing of :mod:`simulate`): sequential, every transfer and call
runs alone: ``loads + compute + stores``. Pipelined, a phase runs the compute of step j-1 beside the loads of
step j, and the stores of step j-1 after that compute (separate store channel) or after both (shared channel):
every phase lasts at least its compute + its stores, so duration >= ``first_loads + compute + stores``; on a
shared channel every phase also lasts its loads + its stores: >= ``loads + stores + last_compute``; on separate
channels >= its loads: >= ``loads + last_compute + last_store``. The bound is the largest combination; its
``side`` is ``compute`` (the compute + stores chain) or ``memory`` (the DMA chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem


@dataclass(frozen=True)
class Bound:
    """The lower bound in cycles, the binding side and every term (cycles), plus the minimal work it assumes."""

    cycles: Fraction
    side: str
    terms: dict[str, Fraction]
    calls: int
    transfers: int
    nbytes: int


def _needed(n_out: int, stride: int, kernel: int, dilation: int) -> int:
    """Input rows (or columns) some window reads (padded coordinates)."""
    if stride >= (kernel - 1) * dilation + 1:
        return n_out * ((kernel - 1) * dilation + 1)
    return len({o * stride + f * dilation for o in range(n_out) for f in range(kernel)})


def lower_bound(p: Problem, acc: Accel) -> Bound:
    """The lower bound of layer ``p`` on ``acc`` (see the module docstring)."""
    moved = [a for a in p.operands if a != "O" and not (a == "I" and p.in_free)]
    load_bytes = 0
    for a in moved:
        if a == "I":
            chans = p.in_chans(p.K) * p.C
            load_bytes += _needed(p.OY, p.SY, p.FY, p.DY) * _needed(p.OX, p.SX, p.FX, p.DX) * chans * p.ib
        else:
            load_bytes += p.full_bytes(a)
    if p.rb:  # a fused residual: every element of the Add's second operand is loaded at least once
        moved = moved + ["R"]
        load_bytes += p.full_bytes("R")
    if p.cb:  # fused per-channel constants: each loaded at least once (not necessarily before the first compute)
        moved = moved + ["Q"]
        load_bytes += p.cb
    unit = {"y": 1, "x": 1, "k": 1, "c": 1}
    first_bytes = sum(p.tile_bytes(a, unit) for a in moved if a not in ("R", "Q"))
    whole = sum(p.full_bytes(a) for a in p.operands) + (p.full_bytes("O", final=True) if p.out_keep else 0)
    calls = 1 if whole <= acc.onchip_bytes else 2
    beta, lam = acc.dma_bytes_per_cycle, acc.dma_latency_cycles
    transfers, nbytes = len(moved), load_bytes
    stores = last_store = Fraction(0)
    if not p.out_keep:
        out = p.full_bytes("O", final=True)
        stores, last_store = lam + Fraction(out) / beta, lam + Fraction(p.ob) / beta
        nbytes += out
        transfers += 1
    terms = {"compute": Fraction(p.macs, acc.macs_per_cycle) + calls * acc.call_overhead_cycles,
             "loads": lam * len(moved) + Fraction(load_bytes) / beta,
             "stores": stores,
             "first_loads": lam * len([a for a in moved if a not in ("R", "Q")]) + Fraction(first_bytes) / beta,
             "last_compute": acc.compute(p.FY * p.FX),
             "last_store": last_store}
    if not acc.pipelined:
        cyc = terms["loads"] + terms["compute"] + terms["stores"]
        side = "compute" if terms["compute"] >= terms["loads"] + terms["stores"] else "memory"
    else:
        chain = terms["first_loads"] + terms["compute"] + terms["stores"]
        if acc.dma_channels == "shared":
            dma = terms["loads"] + terms["stores"] + terms["last_compute"]
        else:
            dma = terms["loads"] + terms["last_compute"] + terms["last_store"]
        cyc, side = (chain, "compute") if chain >= dma else (dma, "memory")
    return Bound(cyc, side, terms, calls, transfers, nbytes)


def gap_terms(b: Bound, acc: Accel, cycles: Fraction, calls: int, transfers: int, nbytes: int) -> dict[str, float]:
    """The gap ``cycles - bound`` per term: work beyond the bound's minimum (extra call overheads, extra DMA
    latencies, extra bytes / beta: halo and weight re-reads, partial-sum spills) and ``overlap``, the rest (time
    the pipeline does not hide; negative when part of the extra work is hidden behind the other side)."""
    extra_calls = (calls - b.calls) * acc.call_overhead_cycles
    extra_lat = (transfers - b.transfers) * acc.dma_latency_cycles
    extra_bytes = Fraction(nbytes - b.nbytes) / acc.dma_bytes_per_cycle
    gap = cycles - b.cycles
    return {"call_overhead": float(extra_calls), "dma_latency": float(extra_lat), "traffic": float(extra_bytes),
            "overlap": float(gap - extra_calls - extra_lat - extra_bytes)}
