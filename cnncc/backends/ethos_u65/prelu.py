"""PRelu on Ethos-U as Vela 5.2.0 runs the exporter's PRELU: on the NPU, as one of three lowerings chosen by the
alpha tensor's int8 values (measured with ``vela --verbose-performance`` on conv → PRELU → conv nets, 16×16×16 and
40×40×32, u65-256; the rule matches the op conversion in Vela's Python graph optimiser, read, not copied):

* every alpha integer equal: a LeakyRelu of that alpha (a Relu when it is 0) — which then fuses into its producer
  as a LUT like any LeakyRelu (:func:`uniform_as_leaky`, applied to the network Vela compiles);
* the largest real alpha below 1: ``max(x·α, x·1)``: an elementwise MUL by the per-channel alpha constant, a MUL by
  one that rescales to the output scale (left out when the input and the output share scale and zero point; Vela's
  row ``<name>_rescaled``), and a MAXIMUM of the two (AO 0.25 cycles/element, the conv row of the table);
* otherwise ``relu(x) + min(x, 0)·α``: a ReLU pass, a MINIMUM with a scalar 0, a MUL by alpha, an ADD.

Alpha is the int8 tensor the exporter writes (cnncc/frontend/tflite/writer_ops.py: the model's own per-tensor
integers, else asymmetric over the slope's range). Constants are read from the memory holding constants;
intermediates stay where the layer's output is. Cycles come from :mod:`cost_npu_op` like every other NPU op.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import U65Config
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

LEAKY, MULMAX, GENERAL = "leaky", "mulmax", "general"


def alpha_ints(graph: Graph, layer: Layer) -> tuple[np.ndarray, float, int] | None:
    """(int8 values, scale, zero point) of the alpha tensor the exporter writes for a PRelu with a constant
    slope; None when the slope is an activation."""
    from cnncc.frontend.tflite.writer import quant_params
    from cnncc.ir.quant import dequantize

    name = layer.inputs[1]
    if not graph.is_weight(name):
        return None
    a = np.asarray(graph.weights[name])
    q = graph.weights.quant.get(name)
    if q is not None and np.issubdtype(a.dtype, np.integer):
        a = dequantize(a, q)
    a = a.astype(np.float64)
    if q is not None and not q.per_axis and -128 <= q.zero_point[0] <= 127:
        scale, zp = float(q.scale[0]), int(q.zero_point[0])
    else:
        scale, zp = quant_params(float(a.min(initial=0.0)), float(a.max(initial=0.0)))
    return np.clip(np.round(a / scale) + zp, -128, 127).astype(np.int64), scale, zp


def form(graph: Graph, layer: Layer) -> str:
    """Which of the three lowerings Vela runs for this PRelu (module doc): LEAKY, MULMAX or GENERAL."""
    got = alpha_ints(graph, layer)
    if got is None:
        return GENERAL
    ints, scale, zp = got
    if ints.size and int(ints.min()) == int(ints.max()):
        return LEAKY
    return MULMAX if (int(ints.max()) - zp) * scale < 1 else GENERAL


def uniform_as_leaky(graph: Graph) -> Graph:
    """``graph`` with every PRelu of one alpha value replaced by that LeakyRelu (a Relu for alpha 0), as Vela
    converts it; ``graph`` itself when there is none."""
    layers, changed = [], False
    for layer in graph.layers:
        if isinstance(layer.op, O.PRelu) and form(graph, layer) == LEAKY:
            got = alpha_ints(graph, layer)
            assert got is not None
            ints, scale, zp = got
            alpha = (int(ints.reshape(-1)[0]) - zp) * scale
            op: O.Op = O.Relu() if alpha == 0 else O.LeakyRelu(float(alpha))
            layers.append(replace(layer, op=op, inputs=layer.inputs[:1]))
            changed = True
        else:
            layers.append(layer)
    return graph.with_layers(layers) if changed else graph


def _same_quant(graph: Graph, layer: Layer) -> bool:
    qi, qo = graph.type_of(layer.inputs[0]).quant, graph.type_of(layer.outputs[0]).quant
    return qi is not None and qo is not None and (qi.scale, qi.zero_point) == (qo.scale, qo.zero_point)


def chain(graph: Graph, layer: Layer, arch: U65Config, x: tuple[int, int, int], src: str, dst: str,
          fmts: tuple[str, str]) -> list[NpuOp]:
    """The NPU ops of a PRelu of form MULMAX or GENERAL on the (H, W, C) map ``x``, in Vela's order; ``src`` /
    ``dst``: the memories of its input and output, ``fmts`` their formats."""
    from cnncc.backends.ethos_u65.lower import hwc

    const = arch.const_mem
    rank = graph.type_of(layer.inputs[0]).rank
    shape = graph.type_of(layer.inputs[1]).shape
    a = hwc((1,) * (rank - len(shape)) + shape) if graph.is_weight(layer.inputs[1]) else x  # as broadcast
    a_const = graph.is_weight(layer.inputs[1])
    a_mem = const if a_const else src
    mid = "NHCWB16"

    def ew(kind: str, ifm2: tuple[int, int, int], from_src: bool, i2mem: str, last: bool, constant: bool
           ) -> NpuOp:
        # a constant IFM2 (the scalar, the alpha tensor) is stored NHWC — of any shape, also alpha as large as the
        # map (a [N, C] vector): read once per OFM element, in bursts of its depth; a map IFM2 keeps its format
        return NpuOp(ELEMENTWISE, x, x, ifm2=ifm2, ao_kind=kind, ifm_fmt=fmts[0] if from_src else mid,
                     ofm_fmt=fmts[1] if last else mid, ifm_mem=src if from_src else dst, ifm2_mem=i2mem,
                     ofm_mem=dst, ifm2_fmt="NHWC" if constant else "")

    one = (1, 1, 1)
    kind = form(graph, layer)
    if kind == LEAKY:  # not converted beforehand (uniform_as_leaky): a standalone LUT pass
        return [NpuOp(POOL, x, x, ifm_fmt=fmts[0], ofm_fmt=fmts[1], ifm_mem=src, ofm_mem=dst, lut=True)]
    if kind == MULMAX:
        ops = [] if _same_quant(graph, layer) else [ew("mul", one, True, const, False, True)]
        return ops + [ew("mul", a, True, a_mem, False, a_const), ew("conv", x, False, dst, True, False)]
    relu = NpuOp(POOL, x, x, ifm_fmt=fmts[0], ofm_fmt=mid, ifm_mem=src, ofm_mem=dst)
    return [relu, ew("conv", one, True, const, False, True), ew("mul", a, False, a_mem, False, a_const),
            ew("add_sub", x, False, dst, True, False)]
