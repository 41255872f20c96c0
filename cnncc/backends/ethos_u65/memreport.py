"""The memory report of an Ethos-U compile: where every tensor lives (SRAM / DRAM / flash), the allocator's peak
SRAM use next to the memory mode's capacity, and weights vs activations (bytes)."""

from __future__ import annotations

import math
from typing import Any

from cnncc.backends.base import MemoryUse
from cnncc.backends.ethos_u65.config import SRAM, U65Config
from cnncc.backends.ethos_u65.network import Estimate, encoded_weight_bytes
from cnncc.ir.graph import Graph
from cnncc.spec import FrozenMap


def _where(mem: str, arch: U65Config) -> str:
    """The report's name of a memory: sram, dram or flash."""
    if mem == SRAM:
        return "sram"
    return "flash" if "flash" in arch.offchip.name else "dram"


def memory_use(graph: Graph, est: Estimate, arch: U65Config) -> MemoryUse:
    """Peak SRAM bytes (feature maps, weight buffers and cascade buffers live at one time, as Vela's
    sram_memory_used counts them), the capacity of the memory mode (None: not bounded by the mode), and the
    per-tensor placement / weights vs activations split in ``detail``."""
    weights = sum(encoded_weight_bytes(lw, arch)[0] + encoded_weight_bytes(lw, arch)[1]
                  for _, lw, _ in est.rows if lw.weight_elems)
    pl = est.placement
    compiled = est.compiled or graph  # the maps placed are those of the network Vela compiles
    placement: dict[str, str] = {}
    act_sram = act_off = 0
    seen: set[str] = set()
    for t, mem in sorted(pl.memory.items()):
        if compiled.is_weight(t):
            continue
        placement[t] = _where(mem, arch)
        if t in seen:
            continue
        seen.add(t)
        size = int(math.prod(compiled.type_of(t).shape))
        if mem == SRAM:
            act_sram += size
        else:
            act_off += size
    # Vela reports the constants of Sram_Only in "on-chip flash", not in the SRAM arena: the SRAM peak is the
    # feature maps, weight buffers and cascade buffers live at one time
    peak = int(est.peak_sram_bytes)
    detail: dict[str, Any] = {
        "weights_bytes": int(weights), "weights_in": _where(arch.const_mem, arch),
        "weight_staging_bytes": int(est.staging_bytes),
        "activation_peak_sram_bytes": int(est.activation_peak_bytes),
        "activation_bytes_sram": act_sram, "activation_bytes_offchip": act_off,
        "memory_mode": arch.memory_mode, "placement": FrozenMap(placement),
    }
    return MemoryUse(peak_bytes=peak, capacity_bytes=arch.sram_capacity, detail=FrozenMap(detail))
