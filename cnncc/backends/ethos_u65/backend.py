"""The ``ethos_u65`` Backend (Arm Ethos-U65 and Ethos-U55): the per-layer Vela-calibrated cost model returned as a
:class:`cnncc.backends.base.NetworkResult`, the memory report, and the ``abconv{select=cost}`` hook.

Every layer is costed: NPU ops with Vela 5.2.0's rules (network.py), views cost 0 (bound ``none``), and ops the NPU
cannot run get a host-CPU cost (device ``cpu``, bound ``host``): ``cpu_cycles_per_elem`` per output element +
``cpu_cycles_per_mac`` per MAC at ``cpu_clock_hz``, converted to NPU core cycles (column ``cpu_cycles``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from cnncc.backends import CompileOptions
from cnncc.backends.base import Backend, LayerCost, NetworkResult
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config, from_spec
from cnncc.backends.ethos_u65.lower import Lowered
from cnncc.backends.ethos_u65.network import Estimate, OpCost, encoded_weight_bytes, estimate
from cnncc.backends.ethos_u65.spec import EthosU65Spec
from cnncc.ir.graph import Graph, Layer
from cnncc.report import Column
from cnncc.spec import FrozenMap
from cnncc.target import Target

COLUMNS = (
    Column("name", "layer"), Column("op", "op"), Column("device", "dev"), Column("macs", "MACs", ",d"),
    Column("npu_cycles", "NPU cyc", ",d"), Column("sram_access_cycles", "SRAM AC", ",d"),
    Column("dram_access_cycles", "DRAM AC", ",d"), Column("cpu_cycles", "CPU cyc", ",d"),
    Column("cycles", "cycles", ",d"), Column("utilisation_pct", "util %", ".1f"), Column("bound", "bound"),
)

#: the model's own bound words -> the shared vocabulary
SHARED_BOUND = {"compute": "compute", "weight-feed": "overhead", "sram": "memory", "dram": "memory",
                "cpu": "host", "none": "none"}


FUSED_PREFIX = "fused into "


def arch_of(target: Target) -> U65Config:
    spec = target.spec
    assert isinstance(spec, EthosU65Spec)
    return from_spec(spec, target.name)


def ceilings(arch: U65Config) -> dict[str, float]:
    """Compute ceilings below the MAC peak (MAC/cycle), from the model's per-block rules (cycles.py): an OFM block
    of one micro-block in W×H cannot hide the weight feed (4 cycles of MACs per ``weight_feed_cycles`` · depth/8),
    and a depthwise conv accumulates no IFM depth (one eighth of the array's MACs per micro-block step)."""
    wb = arch.weight_feed_cycles * arch.ublock[2] / 8
    peak = float(arch.peak_macs_per_cycle)
    return {"weight feed (1 micro-block)": round(peak * min(1.0, 4 / wb), 3), "depthwise": round(peak / 8, 3)}


def cpu_cycles(graph: Graph, layer: Layer, arch: U65Config) -> int:
    """Host-CPU cost of a layer in NPU core cycles (see module doc)."""
    elems = sum(math.prod(graph.type_of(o).shape) for o in layer.outputs)
    macs = graph.macs(layer)
    host = elems * arch.cpu_cycles_per_elem + macs * arch.cpu_cycles_per_mac
    return int(math.ceil(host * arch.clock_hz / arch.cpu_clock_hz))


def onchip_bytes(graph: Graph, layer: Layer, lw: Lowered, c: OpCost, est: Estimate, arch: U65Config) -> int:
    """A layer's SRAM working set (bytes): its feature maps placed in SRAM, plus its weights when they are staged
    in SRAM or live there (Sram_Only)."""
    maps = sum(int(math.prod(graph.type_of(t).shape)) for t in dict.fromkeys(list(layer.inputs) + list(layer.outputs))
               if not graph.is_weight(t) and est.placement.memory.get(t) == SRAM)
    wb = sum(encoded_weight_bytes(lw, arch)) if lw.weight_elems else 0
    staged = c.weight_dma_cycles > 0 or arch.const_mem == SRAM
    return maps + (wb if staged else 0)


def _row(layer: Layer, graph: Graph, c: OpCost, arch: U65Config, cpu: int, onchip: int) -> LayerCost:
    rd, wr = c.read_bytes, c.write_bytes
    cycles = int(c.cycles) + cpu
    util = 100.0 * c.macs / (cycles * arch.peak_macs_per_cycle) if cycles and c.device == "npu" else None
    extras: dict[str, Any] = {
        "npu_cycles": int(c.npu_cycles), "mac_cycles": int(c.mac_cycles), "weight_dma_cycles": int(c.weight_dma_cycles),
        "sram_access_cycles": int(c.access_cycles.get(SRAM, 0)),
        "dram_access_cycles": int(c.access_cycles.get(OFFCHIP, 0)), "cpu_cycles": cpu,
        "mac_per_cycle": round(c.macs / cycles, 4) if cycles else None,
        "utilisation_pct": round(util, 3) if util is not None else None,
        "sram_read_bytes": int(rd.get(SRAM, 0)), "sram_write_bytes": int(wr.get(SRAM, 0)),
        "dram_read_bytes": int(rd.get(OFFCHIP, 0)), "dram_write_bytes": int(wr.get(OFFCHIP, 0)),
        "ofm_block": list(c.block) if c.block else None, "traversal": c.traversal or None,
    }
    if c.copy_cycles:   # Vela's input_buffer_ copy of a graph input, run just before this layer
        extras["input_copy_cycles"] = int(c.copy_cycles)
    if c.device == "cpu":
        extras["reason"] = c.reason
    if c.reason.startswith(FUSED_PREFIX):
        extras["fused_into"] = c.reason[len(FUSED_PREFIX):]
    bound = "cpu" if c.device == "cpu" else c.bound
    return LayerCost.of(layer, graph, device=c.device, cycles=cycles, macs=int(graph.macs(layer)),
                        bound=SHARED_BOUND[bound],
                        bound_detail="cpu-op" if bound == "cpu" else ("" if bound == "none" else bound),
                        onchip_bytes=onchip, extras=extras)


class EthosU65Backend(Backend):
    """Arm Ethos-U55/U65 (see module doc)."""

    name: ClassVar[str] = "ethos_u65"
    spec_class: ClassVar[type[EthosU65Spec]] = EthosU65Spec

    def compile(self, graph: Graph, target: Target, options: CompileOptions) -> NetworkResult:
        from cnncc.backends.ethos_u65.memreport import memory_use

        _refuse_wide_activations(graph, target.name)
        arch = arch_of(target)
        est = estimate(graph, arch)
        layers, cpu_ops = [], []
        for layer, lw, c in est.rows:
            cpu = cpu_cycles(graph, layer, arch) if c.device == "cpu" else 0
            layers.append(_row(layer, graph, c, arch, cpu, onchip_bytes(graph, layer, lw, c, est, arch)))
            if c.device == "cpu":
                cpu_ops.append(f"{layer.name} ({layer.kind}, {cpu:,} cycles)")
        mem = memory_use(graph, est, arch)
        notes = [f"Ethos-U analytic model after Vela 5.2.0: system {arch.system}, memory mode {arch.memory_mode}, "
                 f"{arch.cores} core(s) x {arch.macs_per_cycle} MACs/cycle at {arch.clock_hz / 1e6:g} MHz",
                 f"encoded weight size: the exact size of Vela's weight encoding of each layer's int8 weights "
                 f"(cnncc's model of its encoder, in the NPU's read order for the chosen block; an entropy "
                 f"estimate where no weights are known), times weight_compression = "
                 f"{arch.weight_compression:g}"]
        if cpu_ops:
            notes.append(f"ops on the host CPU (costed at {arch.cpu_cycles_per_elem:g} cycles/element + "
                         f"{arch.cpu_cycles_per_mac:g} cycles/MAC at {arch.cpu_clock_hz / 1e6:g} MHz, included in "
                         f"the totals): " + ", ".join(cpu_ops))
        if not mem.fits:
            notes.append(f"warning: peak SRAM use {mem.peak_bytes:,} B exceeds the {arch.memory_mode} capacity "
                         f"{mem.capacity_bytes:,} B: the network does not fit this memory mode")
        extra = {"npu_ops": sum(1 for x in layers if x.device == "npu"), "cpu_ops": len(cpu_ops),
                 "cpu_cycles": sum(int(x.extras["cpu_cycles"]) for x in layers),
                 "npu_cycles": sum(int(x.extras["npu_cycles"]) for x in layers),
                 "sram_access_cycles": sum(int(x.extras["sram_access_cycles"]) for x in layers),
                 "dram_access_cycles": sum(int(x.extras["dram_access_cycles"]) for x in layers)}
        bws = FrozenMap({"sram": arch.sram.bytes_per_cycle, arch.offchip.name: arch.offchip.bytes_per_cycle})
        roof = FrozenMap({"peak_macs_per_cycle": float(arch.peak_macs_per_cycle), "bandwidths_bytes_per_cycle": bws,
                          "ceilings_macs_per_cycle": FrozenMap(ceilings(arch))})
        return NetworkResult(
            layers=tuple(layers), clock_hz=float(arch.clock_hz), peak_macs_per_cycle=float(arch.peak_macs_per_cycle),
            bandwidths_bytes_per_cycle=bws, sections=FrozenMap({"roofline": roof}),
            columns=COLUMNS, title=f"{target.name} ({arch.system}, {arch.memory_mode})", notes=tuple(notes),
            memory=mem, totals_extra=FrozenMap(extra))

    def layer_cycles(self, graph: Graph, layer: Layer, target: Target) -> float:
        """Cycles of one layer run in isolation: its op costed with its maps in SRAM (as inside a network) and its
        weights where the memory mode keeps them; data movement (Concat/Slice/Pad copies, Transpose) is costed
        too, so that a rewrite adding such layers (abconv) pays for them; views cost 0, host ops their CPU cost."""
        from cnncc.backends.ethos_u65.network import isolated_cycles

        arch = arch_of(target)
        return isolated_cycles(graph, layer, arch, cpu_cycles)

    def onchip_capacity_bytes(self, target: Target) -> int | None:
        return arch_of(target).sram_capacity

    def activation_bytes(self, target: Target, dtype: str) -> int:
        return 2 if dtype == "int16" else (4 if dtype == "int32" else 1)


def _refuse_wide_activations(graph: Graph, target_name: str) -> None:
    """The cost model sizes every feature map at 1 byte per element (int8, and float graphs costed as their int8
    export). An int16x8 model's 2-byte activations would be costed wrongly, so it is refused (exit 3) rather than
    silently under-costed."""
    from cnncc.errors import UnsupportedError

    for layer in graph.layers:
        for t in layer.outputs:
            dtype = graph.type_of(t).dtype
            if dtype in ("int16", "uint16"):
                raise UnsupportedError(f"target {target_name!r}: layer {layer.name!r} has {dtype} activations "
                                       f"(an int16x8 model); the Ethos-U model costs 8-bit feature maps only")
