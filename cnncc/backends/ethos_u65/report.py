"""``compile``: the per-layer Ethos-U65 report, and ``estimate_layer_cycles`` for the abconv pass."""

from __future__ import annotations

from cnncc.backends import CompileOptions
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, from_params
from cnncc.backends.ethos_u65.network import estimate
from cnncc.report import Column, Report, layer_identity

COLUMNS = (
    Column("name", "layer"), Column("op", "op"), Column("device", "dev"), Column("macs", "MACs", ",d"),
    Column("npu_cycles", "NPU cyc", ",d"), Column("sram_access_cycles", "SRAM AC", ",d"),
    Column("dram_access_cycles", "DRAM AC", ",d"), Column("cycles", "cycles", ",d"),
    Column("utilisation_pct", "util %", ".1f"), Column("bound", "bound"), Column("ai", "AI", ".1f"),
)


def _arch(target):
    params = target.params if hasattr(target, "params") else target
    return from_params(params, getattr(target, "name", "ethos-u65"))


def estimate_layer_cycles(graph, layer, target) -> float:
    """Cycles of one layer run in isolation on ``target`` (a Target or its params mapping): the layer's op
    costed with its maps in SRAM (as inside a network) and its weights where the memory mode keeps them.
    Data movement is costed too (Concat/Slice/Pad memory copies, Transpose), so that a rewrite adding such
    layers (abconv) pays for them; views and host-CPU ops cost 0."""
    from types import SimpleNamespace

    from cnncc.backends.ethos_u65.lower import CPU, FREE, MEMCOPY, TRANSPOSE, lower
    from cnncc.backends.ethos_u65.network import cost_copies, cost_npu_op, cost_transpose, npu_op

    arch = _arch(target)
    lw = lower(graph, layer)
    if lw.kind in (FREE, CPU):
        return 0.0
    if lw.kind == TRANSPOSE:
        return float(cost_transpose(lw, arch, SRAM, SRAM).cycles)
    if lw.kind == MEMCOPY:
        kinds = {x.name: lower(graph, x).kind for x in graph.layers}
        pl = SimpleNamespace(memory=_Const(SRAM), fmt=_Const("NHCWB16"))
        return float(cost_copies(graph, layer, kinds, pl, arch).cycles)
    op = npu_op(lw, arch, (SRAM, SRAM, SRAM), ("NHCWB16", "NHCWB16"))
    return float(cost_npu_op(op, arch, 0)[0].cycles)


class _Const(dict):
    """A mapping that answers every key with one value (placement of an isolated layer: all maps in SRAM)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, key):
        return self.value


def compile(graph, target, options: CompileOptions | None = None) -> Report:
    """Cost every layer of ``graph`` on the Ethos-U65 ``target``; returns the report (see module doc of the
    backend contract). Ops the NPU cannot run are listed with device ``cpu`` and 0 NPU cycles (as Vela does)."""
    arch = _arch(target)
    rows, peak = estimate(graph, arch)
    layers = []
    tot = {"cycles": 0, "npu_cycles": 0, "sram_access_cycles": 0, "dram_access_cycles": 0, "macs": 0}
    cpu_ops = []
    for layer, _lw, c in rows:
        d = layer_identity(layer, graph)
        ai = graph.intensities(layer).as_dict() if graph.loop_nest(layer) else {}
        util = 100.0 * c.macs / (c.cycles * arch.peak_macs_per_cycle) if c.cycles else None
        rd, wr = c.read_bytes, c.write_bytes
        d.update({
            "device": c.device, "macs": int(c.macs), "npu_cycles": int(c.npu_cycles),
            "mac_cycles": int(c.mac_cycles), "weight_dma_cycles": int(c.weight_dma_cycles),
            "sram_access_cycles": int(c.access_cycles.get(SRAM, 0)),
            "dram_access_cycles": int(c.access_cycles.get(OFFCHIP, 0)),
            "cycles": int(c.cycles), "mac_per_cycle": round(c.macs / c.cycles, 4) if c.cycles else None,
            "utilisation_pct": round(util, 3) if util is not None else None, "bound": c.bound,
            "sram_read_bytes": int(rd.get(SRAM, 0)), "sram_write_bytes": int(wr.get(SRAM, 0)),
            "dram_read_bytes": int(rd.get(OFFCHIP, 0)), "dram_write_bytes": int(wr.get(OFFCHIP, 0)),
            "ofm_block": list(c.block) if c.block else None, "traversal": c.traversal or None,
            "ai": ai.get("ai"), "ai_in": ai.get("ai_in"), "ai_w": ai.get("ai_w"), "ai_out": ai.get("ai_out"),
            "ai_bound": ai.get("ai_bound"),
        })
        if c.device == "cpu":
            d["reason"] = c.reason
            cpu_ops.append(f"{layer.name} ({layer.kind})")
        layers.append(d)
        for k in tot:
            tot[k] += int(d[k])
    cycles = tot["cycles"]
    latency_ms = cycles / arch.clock_hz * 1e3
    totals = dict(tot, latency_ms=round(latency_ms, 6), clock_hz=arch.clock_hz,
                  inferences_per_s=round(1e3 / latency_ms, 3) if latency_ms else None,
                  peak_sram_bytes=int(peak), utilisation_pct=round(100.0 * tot["macs"] /
                                                                   (cycles * arch.peak_macs_per_cycle), 3)
                  if cycles else None, npu_ops=sum(1 for d in layers if d["device"] == "npu"),
                  cpu_ops=len(cpu_ops))
    notes = [f"Ethos-U65 analytic model after Vela 5.2.0: system {arch.system}, memory mode {arch.memory_mode}, "
             f"{arch.cores} core(s) x {arch.macs_per_cycle} MACs/cycle at {arch.clock_hz / 1e6:g} MHz",
             f"encoded weight size: estimated per layer from the entropy of the int8 weights (as Vela's "
             f"weight codec compresses them), times weight_compression = {arch.weight_compression:g}"]
    if cpu_ops:
        notes.append("ops on the host CPU (not timed): " + ", ".join(cpu_ops))
    sections = {"roofline": {"peak_macs_per_cycle": float(arch.peak_macs_per_cycle),
                             "bandwidths_bytes_per_cycle": {"sram": arch.sram.bytes_per_cycle,
                                                            arch.offchip.name: arch.offchip.bytes_per_cycle}}}
    return Report(command="compile", inputs={}, layers=layers, totals=totals, columns=COLUMNS, notes=notes,
                  sections=sections, title=f"{getattr(target, 'name', 'ethos-u65')} ({arch.system}, "
                                             f"{arch.memory_mode})")
