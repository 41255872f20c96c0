"""IR layers as offloading problems: every conv-family, pooling and elementwise layer is one or more
:class:`Problem` parts of the same formalism; views cost nothing; the rest is refused with the reason.

* Conv, any group count: ``groups`` equal channel groups (depthwise: one input channel per group).
* ConvTranspose (stride S, kernel F): the sub-pixel form — a stride-1 conv over the input with kernel
  ceil(F/S) and K * SY * SX output channels, one per output phase, whose output tiles the DMA stores
  interleaved (depth-to-space in the store addresses). Kernel taps beyond F are zeros the PU still multiplies.
* Gemm / MatMul: 1 x positions outputs, K outputs each, reducing over C (tiled like any reduction).
* Pooling (max, average, global): channelwise windows without weights.
* Binary elementwise (Add, Sub, Mul, Div, PRelu) of two same-shape activations: the second input plays the weight
  operand, following the output tile; with a per-channel constant it is a weight of K elements; activations and
  BatchNormalization are channelwise 1x1 layers (BatchNormalization: 2 weights per channel), and so are Pow
  and Sqrt.
* Concat: the producers store into slices of its output (a view; nothing moves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem
from cnncc.errors import UnsupportedError
from cnncc.ir.loopnest import CONV, CONVT, DEPTHWISE, FC, MATMUL, POOL
from cnncc.ir.types import DTYPE_BYTES, QUANT_RANGES

if TYPE_CHECKING:
    from cnncc.ir.graph import Graph, Layer

VIEWS = ("Reshape", "Flatten", "Identity", "Transpose", "Concat", "Dropout")
BINARY = ("Add", "Sub", "Mul", "Div", "PRelu")  # PRelu: x and its per-channel slope, as a Mul
#: channelwise 1x1 layers without weights (Pow: x·x for exponent 2, one operation per element as an activation)
UNARY = ("Relu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "BatchNormalization", "Pow",
         "Sqrt")


def esize(graph: Graph, tensor: str, default: int) -> int:
    """Bytes per element: the dtype size of an integer tensor, ``default`` for a float one (costed as int8)."""
    ty = graph.type_of(tensor)
    return DTYPE_BYTES[ty.dtype] if ty.dtype in QUANT_RANGES else default


def _hwc(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(rows, cols, channels) of an activation: NCHW, or (1, positions, last axis) for other ranks."""
    if len(shape) == 4:
        return shape[2], shape[3], shape[1]
    last = shape[-1] if shape else 1
    n = 1
    for v in shape[:-1]:
        n *= v
    return 1, n, last


def problems(graph: Graph, layer: Layer, acc: Accel, target: str) -> list[Problem] | None:
    """The problem parts of ``layer`` (None: a view that costs nothing). Raises UnsupportedError naming the op,
    the node, the target and the reason."""
    kind = layer.kind
    if kind in VIEWS:
        return None
    acts = graph.activation_inputs(layer)
    ib = esize(graph, acts[0], acc.act_bytes) if acts else acc.act_bytes
    ob = esize(graph, layer.outputs[0], acc.act_bytes)
    nest = graph.loop_nest(layer)

    def refuse(why: str) -> UnsupportedError:
        e = UnsupportedError.op(kind, layer.name, target)
        return UnsupportedError(f"{e}: {why}")

    if nest is not None:
        ws = graph.weight_inputs(layer)
        wb = esize(graph, ws[0], acc.weight_bytes) if ws else (esize(graph, acts[1], acc.act_bytes)
                                                                 if len(acts) > 1 else acc.weight_bytes)
        common: dict[str, Any] = dict(ib=ib, wb=wb, ob=ob, pb=acc.psum_bytes)
        if nest.kind in (CONV, DEPTHWISE):
            return [Problem(layer.name, nest.OY, nest.OX, nest.K, nest.c_per_group, nest.FY, nest.FX, nest.SY,
                            nest.SX, nest.DY, nest.DX, groups=nest.groups, **common)]
        if nest.kind == POOL:
            return [Problem(layer.name, nest.OY, nest.OX, nest.K, 1, nest.FY, nest.FX, nest.SY, nest.SX, nest.DY,
                            nest.DX, groups=nest.K, has_weights=False, **common)]
        if nest.kind in (FC, MATMUL):
            return [Problem(layer.name, nest.OY, nest.OX, nest.K, nest.C, **common)]
        if nest.kind == CONVT:
            if nest.groups != 1:
                raise refuse(f"grouped transposed convolution (group={nest.groups}) is not modelled")
            if (nest.DY, nest.DX) != (1, 1):
                raise refuse(f"dilated transposed convolution (dilations={nest.DY}x{nest.DX}) is not modelled")
            oy, ox, _ = _hwc(graph.type_of(layer.outputs[0]).shape)
            fy, fx = -(-nest.FY // nest.SY), -(-nest.FX // nest.SX)
            return [Problem(layer.name, -(-oy // nest.SY), -(-ox // nest.SX), nest.K * nest.SY * nest.SX, nest.C,
                            fy, fx, **common)]
        raise refuse(f"loop nest kind {nest.kind!r} is not modelled")
    oy, ox, k = _hwc(graph.type_of(layer.outputs[0]).shape)
    base: dict[str, Any] = dict(ib=ib, ob=ob, pb=ob, groups=k)
    if kind in BINARY:
        if len(acts) == 2 and graph.type_of(acts[0]).shape == graph.type_of(acts[1]).shape:
            return [Problem(layer.name, oy, ox, k, 1, w_follows_output=True,
                            wb=esize(graph, acts[1], acc.act_bytes), **base)]
        consts = [t for t in layer.inputs if t not in acts]
        if len(acts) == 1 and len(consts) == 1:
            n = graph.type_of(consts[0]).numel
            if n == 1:
                return [Problem(layer.name, oy, ox, k, 1, has_weights=False, **base)]
            if n == k:
                return [Problem(layer.name, oy, ox, k, 1, wb=esize(graph, consts[0], acc.weight_bytes), **base)]
        shapes = [graph.type_of(t).shape for t in layer.inputs]
        raise refuse(f"broadcast pattern {shapes} is not modelled (same-shape, per-channel or scalar only)")
    if kind in UNARY:
        if kind == "BatchNormalization":
            return [Problem(layer.name, oy, ox, k, 1, wb=2 * acc.weight_bytes, **base)]
        return [Problem(layer.name, oy, ox, k, 1, has_weights=False, **base)]
    return []  # no problem form: streamed (see solve.streamed)
