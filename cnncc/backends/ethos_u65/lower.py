"""IR layer -> Ethos-U65 op description (which hardware op class runs it, with what shapes), or host CPU.

Follows what Vela 5.2.0 supports on Ethos-U: convs (incl. depthwise), fully connected, pooling, elementwise
Add/Sub/Mul, standalone activations (an AvgPool no-op with the activation, LUT for sigmoid/tanh); Reshape/
Flatten/Identity and (NPU-produced) Concat inputs cost nothing extra (they are views/write offsets); the rest runs on
the host CPU and is listed as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL, VECTOR
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

FREE = "free"        # no NPU work (reshape/view); costs 0
CPU = "cpu"          # runs on the host CPU
TRANSPOSE = "transpose"
MEMCOPY = "memcopy"  # Concat/Slice/Split/Pad: NPU memory copies (datamove.py)
CHAIN = "chain"      # written by the exporter as a chain of NPU operators (composite.py)
MEAN = "mean"        # ReduceMean over H and W as Vela lowers it (mean.py)
SOFTMAX = "softmax"  # an int8 Softmax as Vela lowers it (softmax.py)
FUSED = "fused"      # a standalone activation Vela fuses into the NPU op producing its input; costs 0 itself


@dataclass(frozen=True)
class Lowered:
    """How one IR layer maps to the NPU: ``kind`` (an NpuOp kind, FREE, CPU or TRANSPOSE) and the NpuOp fields
    that do not depend on memory placement."""

    kind: str
    ifm: tuple[int, int, int] = (1, 1, 1)
    ofm: tuple[int, int, int] = (1, 1, 1)
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    ifm2: tuple[int, int, int] | None = None
    ao_kind: str = "conv"
    act: str = "none"
    weight_elems: int = 0
    out_channels: int = 0
    weight_ratio: float = 1.0  # estimated encoded bytes per int8 weight (weights.py)
    reason: str = ""
    lut: bool = False          # a standalone LUT op (Sigmoid, Tanh, HardSwish, LeakyRelu as Vela lowers int8 ones)
    deepened: bool = False     # run on the map reshaped to >= 16 channels, its maps NHWC (actsplit.deepened)
    codes: object = field(default=None, compare=False, repr=False)  # weights.WeightCodes: exact encoded size
    resample: str = "none"     # the hardware upscales the IFM ×2: none | nearest | zeros (resize.py, transconv.py)
    upscale: int = 1           # a Resize's whole factor (2, 4, 8): log2 of it ×2 NPU ops (resize.py)


def hwc(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(H, W, C) of an IR activation: NCHW maps, [N, C] vectors (as 1×N×C), other ranks flattened."""
    if len(shape) == 4:
        return (shape[2], shape[3], shape[1])
    if len(shape) == 2:
        return (1, shape[0], shape[1])
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    return (1, 1, int(math.prod(shape)))


def act_kind(act) -> str:
    """Activation-unit class of a fused activation: none | relu (ReLU family, clamps) | lut (sigmoid/tanh/...)."""
    if act is None:
        return "none"
    if isinstance(act, (O.Relu, O.Clip)):
        return "relu"
    return "lut"


def _ratio(graph: Graph, name: str, axis: int) -> float:
    import numpy as np

    from cnncc.backends.ethos_u65.weights import encoded_ratio

    w = graph.weights.get(name) if hasattr(graph.weights, "get") else None
    return encoded_ratio(w, axis) if w is not None and np.asarray(w).size else 1.0


def _codes(graph: Graph, name: str, depthwise: bool, dilation: tuple[int, int], transposed: bool, axis: int):
    import numpy as np

    from cnncc.backends.ethos_u65.weights import codes_for

    w = graph.weights.get(name) if hasattr(graph.weights, "get") else None
    return codes_for(w, depthwise, dilation, transposed, axis) if w is not None and np.asarray(w).size else None


def reset_kernel(lw: Lowered) -> Lowered:
    """Vela's kernel normalisation (Regor's ResetKernelAttributes): the stride along an OFM axis of one element
    and the dilation along a kernel axis of one element have no effect and are set to 1."""
    sh, sw = lw.stride
    dh, dw = lw.dilation
    stride = (1 if lw.ofm[0] == 1 else sh, 1 if lw.ofm[1] == 1 else sw)
    dilation = (1 if lw.kernel[0] == 1 else dh, 1 if lw.kernel[1] == 1 else dw)
    return lw if (stride, dilation) == (lw.stride, lw.dilation) else replace(lw, stride=stride, dilation=dilation)


def lower(graph: Graph, layer: Layer) -> Lowered:
    """The Ethos-U65 view of one IR layer (pure function of the graph types), convs and pools with Vela's kernel
    normalisation (:func:`reset_kernel`)."""
    lw = _lower(graph, layer)
    return reset_kernel(lw) if lw.kind in (CONV, DEPTHWISE, POOL) else lw


def _lower(graph: Graph, layer: Layer) -> Lowered:
    op = layer.op
    out = hwc(graph.type_of(layer.outputs[0]).shape)
    acts = [t for t in layer.inputs if not graph.is_weight(t)]
    if isinstance(op, O.Conv):
        ifm = hwc(graph.type_of(layer.inputs[0]).shape)
        w = graph.type_of(layer.inputs[1]).shape
        if op.groups in (1, ifm[2]):
            dw = op.groups != 1
            return Lowered(DEPTHWISE if dw else CONV, ifm=ifm, ofm=out, kernel=op.kernel, stride=op.strides,
                           dilation=op.dilations, act=act_kind(op.act), weight_elems=int(math.prod(w)),
                           out_channels=out[2], weight_ratio=_ratio(graph, layer.inputs[1], 0),
                           codes=_codes(graph, layer.inputs[1], dw, op.dilations, False, 0))
        return Lowered(CPU, ifm=ifm, ofm=out, reason=f"grouped conv (groups={op.groups}) is not supported")
    if isinstance(op, (O.Gemm, O.MatMul)):
        a = graph.type_of(layer.inputs[0]).shape
        if len(a) != 2 or not graph.is_weight(layer.inputs[1]) or getattr(op, "trans_a", False):
            return Lowered(CPU, ofm=out, reason="matmul of two activations")
        n = out[2]
        return Lowered(VECTOR, ifm=(1, a[0], a[1]), ofm=(1, a[0], n), act=act_kind(op.act),
                       weight_elems=int(a[1] * n), out_channels=n,
                       weight_ratio=_ratio(graph, layer.inputs[1], 0 if getattr(op, "trans_b", False) else 1),
                       codes=_codes(graph, layer.inputs[1], False, (1, 1), bool(getattr(op, "trans_b", False)),
                                    0 if getattr(op, "trans_b", False) else 1))
    if isinstance(op, O._Pool):
        from cnncc.backends.ethos_u65.poolpad import exported_padding

        ifm = hwc(graph.type_of(layer.inputs[0]).shape)
        if exported_padding(graph, layer) is not None:  # an explicit pad before a VALID pool (poolpad.py)
            return Lowered(CHAIN, ifm=ifm, ofm=out)
        return Lowered(POOL, ifm=ifm, ofm=out, kernel=op.kernel, stride=op.strides,
                       ao_kind="maxpool" if isinstance(op, O.MaxPool) else "conv")
    if isinstance(op, (O.GlobalAveragePool, O.GlobalMaxPool, O.ReduceMean)):
        ifm = hwc(graph.type_of(layer.inputs[0]).shape)
        if isinstance(op, O.ReduceMean):  # exported as MEAN (GlobalAveragePool as AVERAGE_POOL_2D)
            from cnncc.backends.ethos_u65.mean import mean_window

            rank = len(graph.type_of(layer.inputs[0]).shape)
            # IR axis -> (H, W, C) index as hwc() lays the map out (NCHW: the batch axis is none of them)
            where = {4: (-1, 2, 0, 1), 3: (0, 1, 2), 2: (1, 2)}.get(rank)
            if where is None:
                return Lowered(CPU, ifm=ifm, ofm=out, reason=f"mean of a rank-{rank} tensor")
            red = {where[a % rank] for a in (op.axes or range(rank))}
            window = mean_window(ifm, (0 in red, 1 in red, 2 in red))
            if window is None:
                return Lowered(CPU, ifm=ifm, ofm=out,  # Vela 5.2.0: "Unsupported depth-reduction"
                               reason="mean over channels of a map with H and W > 1")
            read, kernel = window
            return Lowered(MEAN, ifm=read, ofm=(read[0] - kernel[0] + 1, read[1] - kernel[1] + 1, read[2]),
                           kernel=kernel)
        return Lowered(POOL, ifm=ifm, ofm=(1, 1, ifm[2]), kernel=(ifm[0], ifm[1]),
                       ao_kind="maxpool" if isinstance(op, O.GlobalMaxPool) else "conv")
    if isinstance(op, (O.Add, O.Sub, O.Mul)) and len(layer.inputs) == 2:
        from cnncc.backends.ethos_u65.actsplit import deepened, elementwise_deepened

        shapes = [hwc(graph.type_of(t).shape) for t in layer.inputs]
        if elementwise_deepened(graph, layer):  # few channels: run on the map reshaped deeper (actsplit.py)
            shapes = [deepened(out) if math.prod(x) != 1 else x for x in shapes]
            out = deepened(out)
        return Lowered(ELEMENTWISE, ifm=shapes[0], ifm2=shapes[1], ofm=out,
                       ao_kind="mul" if isinstance(op, O.Mul) else "add_sub", act=act_kind(op.act),
                       deepened=out != hwc(graph.type_of(layer.outputs[0]).shape))
    if isinstance(op, O.Pow) and op.exponent == 2.0:  # the export's MUL(x, x): Vela's NPU elementwise MUL
        return Lowered(ELEMENTWISE, ifm=out, ifm2=out, ofm=out, ao_kind="mul")
    if isinstance(op, (O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSwish, O.LeakyRelu)):
        # a standalone activation is an AvgPool no-op; Vela's AO cost counts only a *fused* activation, so the op
        # itself is costed as a plain pass (int8 Sigmoid/Tanh/HardSwish/LeakyRelu become a 256-entry LUT)
        from cnncc.backends.ethos_u65.actsplit import deepened

        deep = deepened(out)
        return Lowered(POOL, ifm=deep, ofm=deep, lut=act_kind(op) == "lut", deepened=deep != out)
    from cnncc.backends.ethos_u65.composite import lowers_to_chain

    if lowers_to_chain(graph, layer):
        ifm = hwc(graph.type_of(layer.inputs[0]).shape)
        return Lowered(CHAIN, ifm=ifm, ofm=out)
    if isinstance(op, O.Softmax):
        shape = graph.type_of(layer.inputs[0]).shape
        axis = op.axis % len(shape)
        # the softmax axis as the NHWC depth: C of an NCHW map, the last axis otherwise; any other axis is
        # transposed there and back (Vela's lowering of the exporter's TRANSPOSE-SOFTMAX-TRANSPOSE)
        last = (len(shape) == 4 and axis == 1) or (len(shape) != 4 and axis == len(shape) - 1)
        ifm = hwc(shape)
        if not last:
            n = int(math.prod(shape))
            ifm = (1, n // shape[axis], shape[axis])
        return Lowered(SOFTMAX, ifm=ifm, ofm=ifm, reason="" if last else "transposed")
    if isinstance(op, (O.Reshape, O.Flatten, O.Identity)):
        return Lowered(FREE, ofm=out)
    if isinstance(op, (O.Concat, O.Slice, O.Split)) or (isinstance(op, O.Pad) and op.mode == "constant"
                                                         and graph.type_of(acts[0]).rank == 4):
        return Lowered(MEMCOPY, ifm=hwc(graph.type_of(acts[0]).shape), ofm=out)
    if isinstance(op, O.Transpose):
        from cnncc.backends.ethos_u65.transposes import no_op_transpose

        if no_op_transpose(graph, layer):
            return Lowered(FREE, ofm=out, reason="transpose of unit axes")
        return Lowered(TRANSPOSE, ifm=hwc(graph.type_of(acts[0]).shape), ofm=out)
    if isinstance(op, O.Resize):
        from cnncc.backends.ethos_u65.resize import lower_resize

        return lower_resize(graph, layer)
    if isinstance(op, O.ConvTranspose):
        from cnncc.backends.ethos_u65.transconv import lower_transconv

        return lower_transconv(graph, layer)
    return Lowered(CPU, ofm=out, reason=f"{layer.kind} has no Ethos-U mapping in this model")


ACTIVATIONS = (O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSwish, O.LeakyRelu)
FUSES_ACTIVATION = (CONV, DEPTHWISE, VECTOR, POOL, ELEMENTWISE)


def fuse_activations(graph: Graph, layers: Sequence[Layer], lowered: list[Lowered]
                     ) -> tuple[list[Lowered], dict[str, str]]:
    """Vela's packing of a standalone activation into the NPU op producing its input (Regor's scheduler packing:
    the activation becomes a sub-op of the primary op, whose OFM is then the activation's output): the producer
    is an NPU compute op without an activation of its own, its output has the activation as its only consumer and
    is no graph output, nor is the activation's, and ``actsplit.packs`` holds (a clamp's scales, the reshape of
    few-channel maps). Int8 Sigmoid/Tanh/HardSwish/LeakyRelu fuse as a LUT, the ReLU family as a clamp. Returns
    the lowered list (producers carry the activation, the activation layers are FUSED) and {activation layer:
    producer layer}."""
    from cnncc.backends.ethos_u65.actsplit import packs

    out = list(lowered)
    fused: dict[str, str] = {}
    index = {layer.name: k for k, layer in enumerate(layers)}
    for k, layer in enumerate(layers):
        if not isinstance(layer.op, ACTIVATIONS):
            continue
        src = layer.inputs[0]
        prod = graph.producer(src)
        if prod is None or src in graph.outputs or len(graph.consumers(src)) != 1:
            continue
        j = index[prod.name]
        plw = out[j]
        if plw.kind not in FUSES_ACTIVATION or plw.act != "none" or plw.lut or len(prod.outputs) != 1:
            continue
        if not packs(graph, layer, prod):
            continue
        out[j] = replace(plw, act=act_kind(layer.op))
        out[k] = Lowered(FUSED, ifm=plw.ofm, ofm=plw.ofm, reason=f"fused into {prod.name}")
        fused[layer.name] = prod.name
    return out, fused
