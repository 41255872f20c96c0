"""remove-identity: drop layers that do not change their input."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.passes.base import Pass, PassContext


def is_noop(graph: Graph, layer: Layer) -> bool:
    """Identity, a single-input Concat, a Reshape/Flatten to the same shape, an identity Transpose, a
    zero Pad, a Slice that keeps everything, a Dropout-free copy."""
    op = layer.op
    if len(layer.outputs) != 1 or not layer.inputs or graph.is_weight(layer.inputs[0]):
        return False
    same_shape = graph.type_of(layer.inputs[0]).shape == graph.type_of(layer.outputs[0]).shape
    if isinstance(op, O.Identity):
        return True
    if isinstance(op, O.Concat):
        return len(layer.inputs) == 1
    if isinstance(op, (O.Reshape, O.Flatten)):
        return same_shape
    if isinstance(op, O.Transpose):
        return bool(op.perm) and tuple(op.perm) == tuple(range(len(op.perm)))
    if isinstance(op, O.Pad):
        return not any(op.pads)
    if isinstance(op, O.Slice):
        return same_shape and all(s == 1 for s in op.steps)
    return False


@dataclass(frozen=True)
class RemoveIdentity(Pass):
    """Remove Identity layers and no-op Reshape/Flatten/Transpose/Pad/Slice/Concat; readers are rewired to
    the input (or, when the output is a graph output, the input's producer is renamed). Exact.
    Counter: ``identities-removed``."""

    NAME: ClassVar[str] = "remove-identity"

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.count("identities-removed", 0)
        layers = list(graph.layers)
        changed = True
        while changed:
            changed = False
            g = graph.with_layers(layers) if layers != list(graph.layers) else graph
            for i, layer in enumerate(layers):
                if not is_noop(g, layer):
                    continue
                src, dst = layer.inputs[0], layer.outputs[0]
                rest = layers[:i] + layers[i + 1:]
                if dst not in g.outputs:
                    mapping = {dst: src}
                elif src not in g.inputs and src not in g.outputs:
                    mapping = {src: dst}
                    rest = [replace(x, outputs=tuple(dst if t == src else t for t in x.outputs))
                            for x in rest]
                else:
                    continue
                layers = [replace(x, inputs=tuple(mapping.get(t, t) for t in x.inputs)) for x in rest]
                ctx.count("identities-removed")
                changed = True
                break
        return graph if layers == list(graph.layers) else graph.with_layers(layers)
