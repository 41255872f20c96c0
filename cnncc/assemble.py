"""NetworkResult -> Report: the one place where totals, latency and the roofline are computed."""

from __future__ import annotations

from typing import Any

from cnncc.backends.base import NetworkResult
from cnncc.errors import InternalError
from cnncc.report import Report

#: totals the driver computes; a backend's ``totals_extra`` may not redefine them
CORE_TOTALS = ("cycles", "macs", "latency_ms", "clock_hz", "inferences_per_s", "energy_uj", "peak_sram_bytes",
               "sram_capacity_bytes", "fits")


def totals_of(result: NetworkResult) -> dict[str, Any]:
    """Network totals: cycles and MACs summed over the layers; latency (ms) at the result's clock; inferences/s;
    energy (µJ) when every costed layer has it; peak SRAM from the memory report (else the largest per-layer
    on-chip use), with the capacity and whether it fits."""
    cycles = sum(lc.cycles for lc in result.layers)
    latency_ms = cycles / result.clock_hz * 1e3
    t: dict[str, Any] = {"cycles": cycles, "macs": sum(lc.macs for lc in result.layers),
                         "latency_ms": round(latency_ms, 6), "clock_hz": result.clock_hz,
                         "inferences_per_s": round(1e3 / latency_ms, 3) if latency_ms else None}
    energies = [lc.energy_uj for lc in result.layers if lc.device != "none"]
    if energies and all(e is not None for e in energies):
        t["energy_uj"] = round(sum(e for e in energies if e is not None), 6)
    if result.memory is not None:
        t["peak_sram_bytes"] = int(result.memory.peak_bytes)
        if result.memory.capacity_bytes is not None:
            t["sram_capacity_bytes"] = int(result.memory.capacity_bytes)
            t["fits"] = result.memory.fits
    else:
        onchip = [lc.onchip_bytes for lc in result.layers if lc.onchip_bytes is not None]
        if onchip:
            t["peak_sram_bytes"] = int(max(onchip))
    for k, v in result.totals_extra.items():
        if k in CORE_TOTALS:
            raise InternalError(f"backend total {k!r} is computed by the driver")
        t[k] = v
    return t


def assemble_report(result: NetworkResult, target: Any) -> Report:
    """Build the compile Report of a backend's result (the driver fills ``inputs``)."""
    totals = totals_of(result)
    notes = list(result.notes)
    if result.memory is not None and not result.memory.fits:
        notes.append(f"warning: peak on-chip memory use {result.memory.peak_bytes:,} B exceeds the capacity "
                     f"{result.memory.capacity_bytes:,} B: the network does not fit as costed (fits: false)")
    sections: dict[str, Any] = {"roofline": {"peak_macs_per_cycle": float(result.peak_macs_per_cycle),
                                             "bandwidths_bytes_per_cycle": dict(result.bandwidths_bytes_per_cycle)}}
    if result.memory is not None and result.memory.detail:
        sections["memory"] = {"peak_bytes": result.memory.peak_bytes, "capacity_bytes": result.memory.capacity_bytes,
                              "fits": result.memory.fits, **dict(result.memory.detail)}
    for k, v in result.sections.items():
        sections[k] = v
    return Report(command="compile", inputs={}, layers=[lc.row() for lc in result.layers], totals=totals,
                  columns=result.columns, notes=notes, sections=sections,
                  title=result.title or getattr(target, "name", ""), artefacts=dict(result.artefacts),
                  trace=result.trace, mismatches=list(result.mismatches))
