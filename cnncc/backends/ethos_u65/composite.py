"""Layers the TFLite exporter writes as short chains of NPU operators (cnncc/frontend/tflite/writer_lower.py), costed
as that chain: every operator is an NPU op the model already costs (elementwise, LUT pass, 1×1 convolution).

* BatchNormalization (not folded) -> MUL by a per-channel constant, ADD a per-channel constant;
* Div by a constant -> MUL by the reciprocal (a constant of the divisor's shape);
* HardSigmoid -> MUL by a scalar, ADD a scalar;
* PRelu -> MUL / MAXIMUM or RELU / MINIMUM / MUL / ADD, as Vela lowers the PRELU (prelu.py);
* MaxPool/AveragePool with padding TFLite pools cannot express -> the pad's copies and the VALID pool (poolpad.py);
* LRN with 4β ∈ {1, 2, 3, 4} -> x·x, a 1×1 convolution C -> C summing the channel window (a banded weight matrix),
  ADD the bias, RSQRT (a LUT pass), for odd quarters a MUL and a second RSQRT, then one MUL per factor.

Constants are read from the memory holding constants; intermediates stay where the layer's output is.
"""

from __future__ import annotations

import math

import numpy as np

from cnncc.backends.ethos_u65.blocks import CONV, ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import U65Config
from cnncc.backends.ethos_u65.lower import Lowered, hwc
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer


def lowers_to_chain(graph: Graph, layer: Layer) -> bool:
    """Does the exporter write this layer as a chain of NPU operators?"""
    op = layer.op
    if isinstance(op, O.BatchNormalization):
        return graph.type_of(layer.inputs[0]).rank == 4 and all(graph.is_weight(t) for t in layer.inputs[1:5])
    if isinstance(op, O.Div):
        return graph.is_weight(layer.inputs[1]) and not graph.is_weight(layer.inputs[0])
    if isinstance(op, (O.HardSigmoid, O.PRelu)):
        return True
    if isinstance(op, O._Pool):
        from cnncc.backends.ethos_u65.poolpad import exported_padding

        return exported_padding(graph, layer) is not None
    if isinstance(op, O.LRN):
        k4 = op.beta * 4
        return (graph.type_of(layer.inputs[0]).rank == 4 and abs(k4 - round(k4)) <= 1e-9 and 1 <= round(k4) <= 4
                and op.bias > 0)
    return False


def cascade_parts(graph: Graph, layer: Layer, lw: Lowered) -> list[Lowered]:
    """The chain's NPU ops as the cascade rules see them (network.cascades_of), when every one is an elementwise op
    on the layer's map with a constant second operand (BatchNormalization's MUL + ADD, Div's MUL, HardSigmoid's
    MUL + ADD): Vela 5.2.0 cascades each exported operator like any other elementwise op (measured with
    ``--verbose-schedule`` on conv -> BatchNormalization -> conv and Add -> BatchNormalization chains,
    tests/ethos_u65/test_cascade_chain.py). Empty for the other chains (never cascaded)."""
    op = layer.op
    x = lw.ifm
    if isinstance(op, O.BatchNormalization):
        kinds = [("mul", (1, 1, x[2])), ("add_sub", (1, 1, x[2]))]
    elif isinstance(op, O.Div):
        kinds = [("mul", hwc(graph.type_of(layer.inputs[1]).shape))]
    elif isinstance(op, O.HardSigmoid):
        kinds = [("mul", (1, 1, 1)), ("add_sub", (1, 1, 1))]
    else:
        return []
    return [Lowered(ELEMENTWISE, ifm=x, ofm=x, ifm2=i2, ao_kind=kind) for kind, i2 in kinds]


def chain_ops(graph: Graph, layer: Layer, arch: U65Config, src: str, dst: str, fmts: tuple[str, str]
              ) -> list[NpuOp]:
    """The NPU ops of a layer for which :func:`lowers_to_chain` holds, in order."""
    op = layer.op
    x = hwc(graph.type_of(layer.inputs[0]).shape)
    c = x[2]
    const = arch.const_mem

    def ew(kind: str, ifm2: tuple[int, int, int], i2mem: str, first: bool, last: bool) -> NpuOp:
        return NpuOp(ELEMENTWISE, x, x, ifm2=ifm2, ao_kind=kind, ifm_fmt=fmts[0] if first else "NHCWB16",
                     ofm_fmt=fmts[1] if last else "NHCWB16", ifm_mem=src if first else dst, ifm2_mem=i2mem,
                     ofm_mem=dst, ifm2_fmt="NHWC" if i2mem == const else "")  # constants are linear (memory.py)

    one = (1, 1, 1)
    if isinstance(op, O._Pool):
        from cnncc.backends.ethos_u65.poolpad import chain as pool_chain

        return pool_chain(graph, layer, arch, src, dst, fmts)
    if isinstance(op, O.PRelu):
        from cnncc.backends.ethos_u65.prelu import chain

        return chain(graph, layer, arch, x, src, dst, fmts)
    if isinstance(op, O.BatchNormalization):
        return [ew("mul", (1, 1, c), const, True, False), ew("add_sub", (1, 1, c), const, False, True)]
    if isinstance(op, O.Div):
        return [ew("mul", hwc(graph.type_of(layer.inputs[1]).shape), const, True, True)]
    if isinstance(op, O.HardSigmoid):
        return [ew("mul", one, const, True, False), ew("add_sub", one, const, False, True)]
    assert isinstance(op, O.LRN)
    k4 = int(round(op.beta * 4))
    band = np.zeros((c, c), dtype=np.float32)
    lo, hi = (op.size - 1) // 2, -(-(op.size - 1) // 2)
    for i in range(c):
        band[i, max(0, i - lo):min(c, i + hi + 1)] = 1.0
    from cnncc.backends.ethos_u65.weights import encoded_ratio

    wbytes = int(math.ceil(c * c * encoded_ratio(band, 0)))
    ops = [NpuOp(ELEMENTWISE, x, x, ifm2=x, ao_kind="mul", ifm_fmt=fmts[0], ofm_fmt="NHCWB16", ifm_mem=src,
                 ifm2_mem=src, ofm_mem=dst),
           NpuOp(CONV, x, x, ifm_fmt="NHCWB16", ofm_fmt="NHCWB16", ifm_mem=dst, ofm_mem=dst, weight_bytes=wbytes,
                 scale_bytes=arch.scale_bytes_per_channel * c),
           ew("add_sub", one, const, False, False),
           NpuOp(POOL, x, x, ifm_fmt="NHCWB16", ofm_fmt="NHCWB16", ifm_mem=dst, ofm_mem=dst, lut=True)]
    if k4 % 2:  # d^-1/4 = rsqrt(d · d^-1/2)
        ops += [NpuOp(ELEMENTWISE, x, x, ifm2=x, ao_kind="mul", ifm_fmt="NHCWB16", ofm_fmt="NHCWB16",
                      ifm_mem=dst, ifm2_mem=dst, ofm_mem=dst),
                NpuOp(POOL, x, x, ifm_fmt="NHCWB16", ofm_fmt="NHCWB16", ifm_mem=dst, ofm_mem=dst, lut=True)]
    factors = {1: 1, 2: 1, 3: 2, 4: 2}[k4]
    for k in range(factors):
        ops.append(NpuOp(ELEMENTWISE, x, x, ifm2=x, ao_kind="mul", ifm_fmt=fmts[0] if k == 0 else "NHCWB16",
                         ofm_fmt=fmts[1] if k == factors - 1 else "NHCWB16", ifm_mem=src if k == 0 else dst,
                         ifm2_mem=dst, ofm_mem=dst))
    return ops
