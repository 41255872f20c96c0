"""fuse-act: fuse element-wise activations into the layer that produces their input (as NPUs do)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from cnncc.ir import Graph
from cnncc.passes.base import ACTIVATIONS, Pass, PassContext, consumers_count


def has_act_slot(op) -> bool:
    """Whether the op record has an ``act`` field (Conv, ConvTranspose, Gemm, MatMul, Add, Sub, Mul, Div)."""
    return any(f.name == "act" for f in fields(op))


@dataclass(frozen=True)
class FuseAct(Pass):
    """Fuse Relu, Clip, HardSwish, HardSigmoid, Sigmoid, LeakyRelu and Tanh into the producing layer's
    ``act`` field, when that layer has no activation yet and its output feeds only the activation (and is
    not a graph output). In a quantised graph only Relu and Clip fuse (TFLite's fused activations: a clamp of
    the requantised output); other activations keep their own layer with their own quantisation. Exact.
    Counter: ``acts-fused``."""

    NAME: ClassVar[str] = "fuse-act"

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        uses = consumers_count(graph)
        producers = {t: layer for layer in graph.layers for t in layer.outputs}
        fused: dict = {}
        dropped: set[str] = set()
        ctx.count("acts-fused", 0)
        for act in graph.layers:
            if act.kind not in ACTIVATIONS or len(act.inputs) != 1:
                continue
            prod = producers.get(act.inputs[0])
            if prod is None or uses.get(act.inputs[0], 0) != 1 or prod.name in dropped:
                continue
            prod = fused.get(prod.name, prod)
            if not has_act_slot(prod.op) or prod.op.act is not None or len(prod.outputs) != 1:
                continue
            quantised = graph.type_of(prod.outputs[0]).quant is not None
            if quantised and act.kind not in ("Relu", "Clip"):
                continue
            fused[prod.name] = replace(prod, op=replace(prod.op, act=act.op), outputs=act.outputs,
                                       onnx_nodes=prod.onnx_nodes + act.onnx_nodes)
            dropped.add(act.name)
            ctx.count("acts-fused")
        if not fused:
            return graph
        return graph.with_layers([fused.get(layer.name, layer) for layer in graph.layers
                                  if layer.name not in dropped])
