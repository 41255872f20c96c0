"""The ``offload`` backend: a generic offloading accelerator (on-chip memory + PU + DMA), one exactly optimal
regular strategy per layer (branch and bound, certified by z3), replayed by an independent simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cnncc.backends.base import Backend, NetworkResult
from cnncc.backends.offload.spec import OffloadSpec

if TYPE_CHECKING:
    from cnncc.backends import CompileOptions
    from cnncc.backends.offload.model import Accel
    from cnncc.ir.graph import Graph, Layer
    from cnncc.target import Target


class OffloadBackend(Backend):
    """See the module docstring; the formalism is in ``shared/reference/offload.md`` and ``formalism.py``."""

    name: ClassVar[str] = "offload"
    spec_class: ClassVar[type[OffloadSpec]] = OffloadSpec

    def compile(self, graph: Graph, target: Target, options: CompileOptions) -> NetworkResult:
        from cnncc.backends.offload.network import compile_network

        return compile_network(graph, target, _accel(target), want_trace=options.want_trace,
                               progress=options.progress,
                               want_artefacts=bool(getattr(options, "want_artefacts", False)))

    def layer_cycles(self, graph: Graph, layer: Layer, target: Target) -> float:
        """Cycles of one layer alone (input and output off chip): its optimum, simulated."""
        from cnncc.backends.offload.layers import problems
        from cnncc.backends.offload.solve import solve_layer, streamed

        acc = _accel(target)
        ps = problems(graph, layer, acc, target.name)
        if ps is None:
            return 0.0
        if not ps:
            return float(streamed(graph, layer, acc)["cycles"])
        return float(sum(solve_layer(p, acc, layer.name).sim.cycles for p in ps))

    def activation_bytes(self, target: Target, dtype: str) -> int:
        """Integer tensors: their dtype size; float tensors: the target's ``act_bytes`` (int8 equivalent: 1)."""
        from cnncc.ir.types import DTYPE_BYTES, QUANT_RANGES

        spec = target.spec
        assert isinstance(spec, OffloadSpec)
        return DTYPE_BYTES[dtype] if dtype in QUANT_RANGES else spec.act_bytes

    def onchip_capacity_bytes(self, target: Target) -> int | None:
        spec = target.spec
        assert isinstance(spec, OffloadSpec)
        return spec.onchip_bytes


def _accel(target: Target) -> Accel:
    from cnncc.backends.offload.model import accel_of

    spec = target.spec
    assert isinstance(spec, OffloadSpec)
    return accel_of(spec)
