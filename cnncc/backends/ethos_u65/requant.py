"""Integer requantisation on Ethos-U65 as the int8 TFLite export writes it and Vela 5.2.0 runs it.

Two things, both measured with Vela 5.2.0 on exported networks (tests/ethos_u65/test_requant.py):

1. An IR ``Quantize`` from an integer tensor to the same integer type (the ``DequantizeLinear →
   QuantizeLinear`` pairs onnxruntime's quantiser leaves after a Split, say) is written as no op at all: its
   readers read its input, each rescaling from that input's own scale as every int8 operator does. It costs
   nothing (``folded_requantizes`` names the ones left out of the network Vela compiles); one that is a graph
   output is kept, as the exporter keeps its output tensor.
2. A Concat input whose quantisation differs from the Concat output's is written as a QUANTIZE into a tensor
   with the output's scale and zero point (TFLite's CONCATENATION has one quantisation). Vela runs it as an NPU
   ``Quantize`` op — a 1×1 pooling pass with the output's rescale, as many cycles as a MemoryCopy of the same
   box (measured: 5,002 cycles for 20×20×16 either way, 51,649 for 80×80×16 from SRAM on u65-256) — that
   writes straight into its slot of the concatenated map. So such an input is always a copy (its producer does
   not write in place, even an NPU op), and a Split output read only through such copies, or by NPU ops reading
   a sub-box, is not copied out first (the Quantize reads the sub-box itself).
"""

from __future__ import annotations

from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer
from cnncc.ir.quant import Quantize

INTEGER = ("int8", "uint8", "int16", "int32")


def folded_requantize(graph: Graph, layer: Layer) -> bool:
    """An integer -> same integer type Quantize that is no graph output: the export writes no op for it."""
    if not isinstance(layer.op, Quantize) or layer.outputs[0] in graph.outputs:
        return False
    src = graph.type_of(layer.inputs[0])
    return src.dtype in INTEGER and src.dtype == graph.type_of(layer.outputs[0]).dtype


def fold_requantizes(graph: Graph) -> tuple[Graph, dict[str, str]]:
    """The network without the requantisations the export folds (module doc, 1): their readers read the
    Quantize's input. Returns the graph (``graph`` itself when none) and {folded layer: why}."""
    alias: dict[str, str] = {}
    why: dict[str, str] = {}
    for layer in graph.layers:
        if folded_requantize(graph, layer):
            src = layer.inputs[0]
            alias[layer.outputs[0]] = alias.get(src, src)
            why[layer.name] = "integer requantisation folded into its readers (the TFLite export writes no op)"
    if not alias:
        return graph, {}
    from dataclasses import replace

    kept = [replace(x, inputs=tuple(alias.get(t, t) for t in x.inputs)) for x in graph.layers if x.name not in why]
    return graph.with_layers(kept), why


def source_quant(graph: Graph, t: str):
    """The quantisation of the tensor the export stores for ``t``: through folded requantisations, their input's."""
    while True:
        prod = graph.producer(t)
        if prod is None or not folded_requantize(graph, prod):
            return graph.type_of(t).quant
        t = prod.inputs[0]


def requantised_input(graph: Graph, concat: Layer, index: int) -> bool:
    """Does input ``index`` of ``concat`` need the export's QUANTIZE (module doc, 2)? Both quantised, with another
    scale or zero point than the Concat's output (a float graph's inputs share the output's range: never)."""
    if not isinstance(concat.op, O.Concat):
        return False
    q_in = source_quant(graph, concat.inputs[index])
    q_out = graph.type_of(concat.outputs[0]).quant
    if q_in is None or q_out is None:
        return False
    import numpy as np

    # the export stores float32 scales: compare what it compares
    return (np.asarray(q_in.scale, np.float32).tolist(), q_in.zero_point) != \
        (np.asarray(q_out.scale, np.float32).tolist(), q_out.zero_point)
