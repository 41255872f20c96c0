"""fold-constants: evaluate layers whose inputs are all weights and store their outputs as weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cnncc.ir import Graph
from cnncc.passes.base import Pass, PassContext, drop_unused_weights


@dataclass(frozen=True)
class FoldConstants(Pass):
    """Evaluate (with the numpy reference interpreter) every layer whose inputs are all weights, replacing
    it by weights holding its outputs. Layers producing a graph output are kept. Exact.
    Counter: ``layers-folded``."""

    NAME: ClassVar[str] = "fold-constants"

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.count("layers-folded", 0)
        consts: dict = {}
        kept = []
        for layer in graph.layers:
            if (layer.inputs and all(graph.is_weight(t) or t in consts for t in layer.inputs)
                    and not set(layer.outputs) & set(graph.outputs)):
                consts.update(_evaluate(graph, layer, consts))
                ctx.count("layers-folded")
            else:
                kept.append(layer)
        if not consts:
            return graph
        weights = graph.weights.with_arrays(consts)
        return Graph.build(graph.name, {i: graph.types[i] for i in graph.inputs}, graph.outputs, kept,
                           drop_unused_weights(kept, weights), graph.meta)


def _evaluate(graph: Graph, layer, consts: dict) -> dict:
    """Run one all-constant layer through the reference interpreter; returns output name -> array."""
    from cnncc.ir.interp import run

    arrays = {t: (consts[t] if t in consts else graph.weights[t]) for t in layer.inputs}
    sub = Graph.build(f"{layer.name}.const", {}, layer.outputs, [layer], arrays)
    out = run(sub, {})
    return {t: out[t] for t in layer.outputs}
