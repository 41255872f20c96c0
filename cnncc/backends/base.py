"""The typed contract between the core and the backends: per-layer costs that add up, one network result, and
the :class:`Backend` class every backend implements.

A backend is pure: it costs (and, with ``--check``, simulates) a graph and returns a :class:`NetworkResult`.
The driver alone computes the totals and the roofline, assembles the :class:`cnncc.report.Report` and writes
every file (reports and the backend's artefacts).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cnncc.spec import FrozenMap, TargetSpec

if TYPE_CHECKING:
    from cnncc.backends import CompileOptions
    from cnncc.ir.graph import Graph, Layer
    from cnncc.report import Column
    from cnncc.target import Target

#: The one shared ``bound`` vocabulary (what limits a layer). ``bound_detail`` carries the backend's own word.
#:
#: * ``compute``  — the MAC/ALU array is busy;
#: * ``memory``   — a memory, DMA channel or bank is the limit (detail: ``sram``, ``dram``, ``dma-load``, ``bank``);
#: * ``overhead`` — fixed per-op / per-block / configuration / launch costs (detail: ``weight-feed``, ``config``);
#: * ``host``     — the layer runs on the host CPU (detail: ``cpu-op``, ``layout``);
#: * ``none``     — the layer costs nothing (views, reshapes).
BOUNDS = ("compute", "memory", "overhead", "host", "none")

#: The devices a layer can run on.
DEVICES = ("npu", "cgra", "accel", "cpu", "none")


@dataclass(frozen=True)
class LayerCost:
    """The cost of one IR layer (or one part of it) on a target. Cycles are target clock cycles, everything
    included (host work too); ``onchip_bytes`` is the layer's peak on-chip working set in bytes; ``extras`` are
    backend-specific plain JSON values (shown as table columns)."""

    name: str
    op: str
    output: str
    onnx_nodes: tuple[str, ...] = ()
    part: str = ""
    device: str = "none"
    cycles: int = 0
    macs: int = 0
    bound: str = "none"
    bound_detail: str = ""
    energy_uj: float | None = None
    onchip_bytes: int | None = None
    extras: FrozenMap[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        if self.bound not in BOUNDS:
            raise ValueError(f"layer {self.name!r}: bound {self.bound!r} is not one of {BOUNDS}")
        if self.device not in DEVICES:
            raise ValueError(f"layer {self.name!r}: device {self.device!r} is not one of {DEVICES}")
        if not isinstance(self.cycles, int) or self.cycles < 0:
            raise ValueError(f"layer {self.name!r}: cycles must be a non-negative int, got {self.cycles!r}")
        if not isinstance(self.extras, FrozenMap):
            object.__setattr__(self, "extras", FrozenMap(self.extras))

    @classmethod
    def of(cls, layer: Layer, graph: Graph | None = None, **fields: Any) -> LayerCost:
        """A cost record carrying the identity of an IR layer (a derived layer reports under its origin). With
        ``graph`` and no ``macs``, the MACs are the graph's count (:meth:`cnncc.ir.graph.Graph.macs`: the one
        MAC-counting rule every report follows)."""
        if graph is not None and "macs" not in fields:
            fields["macs"] = int(graph.macs(layer))
        extras = fields.pop("extras", None) or {}
        return cls(name=layer.origin, op=layer.kind, output=layer.outputs[0], onnx_nodes=tuple(layer.onnx_nodes),
                   part=layer.name if layer.group else "", extras=FrozenMap(extras), **fields)

    def __add__(self, other: LayerCost) -> LayerCost:
        """Two parts of one layer: cycles, MACs, energy and numeric extras add; on-chip bytes take the max; the
        bound is the larger-cycle part's."""
        big = self if self.cycles >= other.cycles else other
        energy = None if self.energy_uj is None or other.energy_uj is None else self.energy_uj + other.energy_uj
        onchip = max((b for b in (self.onchip_bytes, other.onchip_bytes) if b is not None), default=None)
        extras = dict(big.extras)
        for k in set(self.extras) & set(other.extras):
            a, b = self.extras[k], other.extras[k]
            if _num(a) and _num(b):
                extras[k] = a + b
        return LayerCost(self.name, self.op, self.output, tuple(dict.fromkeys(self.onnx_nodes + other.onnx_nodes)),
                         "", big.device, self.cycles + other.cycles, self.macs + other.macs, big.bound,
                         big.bound_detail, energy, onchip, FrozenMap(extras))

    def row(self) -> dict[str, Any]:
        """The JSON layer row: identity, the shared fields, then the extras."""
        d: dict[str, Any] = {"name": self.name, "onnx_nodes": list(self.onnx_nodes), "output": self.output,
                             "op": self.op}
        if self.part:
            d["part"] = self.part
        d.update({"device": self.device, "cycles": self.cycles, "macs": self.macs, "bound": self.bound,
                  "bound_detail": self.bound_detail})
        if self.energy_uj is not None:
            d["energy_uj"] = self.energy_uj
        if self.onchip_bytes is not None:
            d["onchip_bytes"] = self.onchip_bytes
        for k, v in self.extras.items():
            d.setdefault(k, _json(v))
        return d


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_json(x) for x in v]
    return v


@dataclass(frozen=True)
class MemoryUse:
    """On-chip memory use of the whole network: the allocator's peak next to the capacity (bytes); ``detail``
    holds backend-specific splits (weights vs activations, per-tensor placement)."""

    peak_bytes: int
    capacity_bytes: int | None = None
    detail: FrozenMap[str, Any] = field(default_factory=FrozenMap)

    @property
    def fits(self) -> bool:
        return self.capacity_bytes is None or self.peak_bytes <= self.capacity_bytes


@dataclass(frozen=True)
class NetworkResult:
    """What a backend returns for a whole graph. The driver turns it into the Report: totals are computed once
    from ``layers`` (cycles, MACs, energy, latency at ``clock_hz``), the roofline from the two roofline fields."""

    layers: tuple[LayerCost, ...]
    clock_hz: float
    peak_macs_per_cycle: float
    bandwidths_bytes_per_cycle: FrozenMap[str, float] = field(default_factory=FrozenMap)
    columns: tuple[Column, ...] = ()
    title: str = ""
    notes: tuple[str, ...] = ()
    memory: MemoryUse | None = None
    totals_extra: FrozenMap[str, Any] = field(default_factory=FrozenMap)
    sections: FrozenMap[str, Any] = field(default_factory=FrozenMap)
    artefacts: FrozenMap[str, bytes] = field(default_factory=FrozenMap)
    trace: bytes | None = None
    mismatches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (self.clock_hz > 0 and math.isfinite(self.clock_hz)):
            raise ValueError(f"clock_hz must be positive, got {self.clock_hz!r}")
        for name in ("bandwidths_bytes_per_cycle", "totals_extra", "sections", "artefacts"):
            v = getattr(self, name)
            if not isinstance(v, FrozenMap):
                object.__setattr__(self, name, FrozenMap(v))
        for path in self.artefacts:
            if path.startswith("/") or ".." in path.split("/") or not path or "\0" in path:
                raise ValueError(f"artefact path {path!r} must be relative and inside the output folder")


class Backend(abc.ABC):
    """A backend: its name, its typed spec class and the cost functions. Subclasses live in
    ``cnncc/backends/<pkg>/backend.py`` and are registered in :mod:`cnncc.backends.registry`."""

    name: ClassVar[str]
    spec_class: ClassVar[type[TargetSpec]]

    @abc.abstractmethod
    def compile(self, graph: Graph, target: Target, options: CompileOptions) -> NetworkResult:
        """Cost (and with ``options.check`` simulate) every layer. Never writes files."""

    def layer_cycles(self, graph: Graph, layer: Layer, target: Target) -> float:
        """Cycles of one layer in isolation (the cost hook of ``abconv{select=cost}``)."""
        from cnncc.errors import UnsupportedError

        raise UnsupportedError(f"target {target.name!r} has no per-layer cost hook")

    def activation_bytes(self, target: Target, dtype: str) -> int:
        """Bytes per activation element as this target stores it (passes such as ``tile`` size tiles with it)."""
        from cnncc.ir.types import DTYPE_BYTES

        return DTYPE_BYTES.get(dtype, 1) if dtype not in ("float32", "float16") else 1

    def onchip_capacity_bytes(self, target: Target) -> int | None:
        """The on-chip memory ``tile`` fits layers into by default (None: no such memory)."""
        return None
