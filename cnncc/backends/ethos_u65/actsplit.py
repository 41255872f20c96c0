"""Activations Vela 5.2.0 runs as ops of their own: those of a convolution with fewer than 8 output channels.

Vela reads every fused activation of a TFLite file as an op of its own and packs it back into the op before it
(Regor's TFLite reader and scheduler packing). Measured on Vela 5.2.0 (not found in the public Regor source): a
CONV_2D or DEPTHWISE_CONV_2D whose OFM has fewer than 8 channels keeps its ReLU / ReLU6 / LUT activation apart —
the convolution writes its raw output (Vela's row ``<name>_act`` or ``<name>/pre_act``) and an elementwise pass
applies the activation (Vela's row ``<name>``); 3, 4, 5, 6 and 7 channels all split, 8 … 13 do not, a fully
connected layer or an Add with 4 channels does not (u65-256 Client_Server Shared_Sram, ``tests/ethos_u65/padnet.py``
networks pad81 / pad97 and hand-built 12×20 maps).

:func:`split_activations` returns the network with such a convolution written as the two ops (the activation an IR
layer of its own, which ``lower.fuse_activations`` then leaves unfused: the same rule) and, for each convolution
split, the layers whose costs are its own.
"""

from __future__ import annotations

from dataclasses import replace

from cnncc.backends.ethos_u65.lower import MIN_FUSED_DEPTH
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer


def keeps_activation_apart(graph: Graph, layer: Layer) -> bool:
    """Whether Vela runs ``layer``'s own activation as a separate op (module doc)."""
    op = layer.op
    if not isinstance(op, O.Conv) or op.act is None:
        return False
    shape = graph.type_of(layer.outputs[0]).shape
    return len(shape) == 4 and shape[1] < MIN_FUSED_DEPTH


def split_activations(graph: Graph) -> tuple[Graph, dict[str, tuple[str, ...]]]:
    """(the network with each such convolution as conv + activation layer, {conv: (conv, its activation layer)}).
    The conv keeps its name and writes ``<name>/pre_act``; the activation layer ``<name>/act`` writes the conv's
    original output."""
    parts: dict[str, tuple[str, ...]] = {}
    layers: list[Layer] = []
    for layer in graph.layers:
        if not keeps_activation_apart(graph, layer):
            layers.append(layer)
            continue
        assert isinstance(layer.op, O.Conv) and layer.op.act is not None
        raw = f"{layer.name}/pre_act"
        layers.append(replace(layer, op=replace(layer.op, act=None), outputs=(raw,)))
        layers.append(Layer(f"{layer.name}/act", layer.op.act, (raw,), layer.outputs, group=layer.name))
        parts[layer.name] = (layer.name, f"{layer.name}/act")
    return (graph.with_layers(layers) if parts else graph), parts
