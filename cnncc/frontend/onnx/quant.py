"""Quantised ONNX -> IR: QDQ folding, QOperator ops and the integer ops of dynamic quantisation.

QDQ (what ``onnxruntime.quantization`` writes by default): a ``DequantizeLinear`` of a constant becomes the
constant's integers plus a :class:`QuantParams` (per tensor or per axis); a ``DequantizeLinear`` of an activation
is an alias of the integer tensor; a ``QuantizeLinear`` of a tensor some layer produced *re-targets that layer*
to write the quantised tensor (its output gets the Q node's scale and zero point). So DQ -> Conv -> Q is one
quantised Conv layer, like its float original; Q at the float graph inputs and DQ at float graph outputs become
``Quantize``/``Dequantize`` layers. QOperator ops (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd/Mul/
GlobalAveragePool/Concat/Sigmoid/LeakyRelu/AveragePool, QGemm) are converted through the float handlers with
their quantisation recorded. ConvInteger/MatMulInteger/DynamicQuantizeLinear use the ops of
:mod:`cnncc.ir.intops` (scales computed at run time). Quantisation records go to ``ctx.quant`` (the reader puts
them in the weight table) and the graph is marked ``quant_rounding = "onnx"`` (onnxruntime's requantisation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.onnx.ops import HANDLERS, handles, node_name
from cnncc.ir import ops as O
from cnncc.ir.quant import Dequantize, Quantize, quantize
from cnncc.ir.types import QuantParams

#: com.microsoft ops this module converts (the reader accepts that domain only for these)
MS_OPS = {"QLinearAdd", "QLinearMul", "QLinearGlobalAveragePool", "QLinearConcat", "QLinearSigmoid",
          "QLinearLeakyRelu", "QLinearAveragePool", "QGemm", "DynamicQuantizeLinear", "QuantizeLinear",
          "DequantizeLinear"}
_DT = {np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16",
       np.dtype(np.int32): "int32"}


def qrecords(ctx) -> dict[str, QuantParams]:
    """The quantisation records of this load (tensor name -> QuantParams), kept on the reader's Context."""
    return ctx.__dict__.setdefault("quant", {})


@dataclass
class _Node:
    """A stand-in node for re-using a float handler on a quantised op's inputs."""

    op_type: str
    name: str
    input: list[str]
    output: list[str]
    attribute: Any = ()
    domain: str = ""


def _proxy(node, op_type: str, inputs: list[str]) -> _Node:
    return _Node(op_type, node_name(node), inputs, list(node.output), node.attribute)


def _params(ctx, node, scale_t: str, zp_t: str | None, axis: int | None = None) -> tuple[QuantParams, str]:
    s = np.asarray(ctx.const(scale_t, node), np.float64).reshape(-1)
    if zp_t:
        z = np.asarray(ctx.const(zp_t, node))
        dtype = _DT.get(z.dtype)
        if dtype is None:
            raise UnsupportedError(f"node {node_name(node)!r} ({node.op_type}): zero point type {z.dtype} is not "
                                   f"supported (int8/uint8/int16/int32)")
        z = z.reshape(-1)
    else:
        z, dtype = np.zeros(1, np.int64), "uint8"
    if s.size == 1:
        return QuantParams.tensor(float(s[0]), int(z[0])), dtype
    return QuantParams.channels(s.tolist(), z.tolist(), 1 if axis is None else axis), dtype


def set_quant(ctx, t: str, q: QuantParams) -> None:
    """Record ``q`` for tensor ``t`` (and on its Context type when it is an activation)."""
    qrecords(ctx)[t] = q
    if t in ctx.types and ctx.types[t].dtype != "float32":
        ctx.types[t] = ctx.types[t].with_quant(q)


def _weight_quant(ctx, node, t: str, q: QuantParams, ndim_axis: int | None = None) -> None:
    t = ctx.resolve(t)
    if q.per_axis and ndim_axis is not None:
        q = QuantParams(q.scale, q.zero_point, ndim_axis)
    qrecords(ctx)[t] = q


def _act_quant(ctx, node, t: str, q: QuantParams, dtype: str) -> str:
    """Make sure activation ``t`` is known as quantised with ``q``; returns its resolved name."""
    t = ctx.resolve(t)
    if ctx.is_const(t):
        a = ctx.consts[t]
        if np.issubdtype(a.dtype, np.floating):
            ctx.consts[t] = quantize(a.astype(np.float32), q, dtype, "onnx")
        qrecords(ctx)[t] = q
        return t
    ty = ctx.type(t)
    if ty.quant is None:
        if ty.dtype == "float32":
            raise UnsupportedError(f"node {node_name(node)!r} ({node.op_type}): input {t!r} is float; a "
                                   f"quantised op needs an integer input")
        set_quant(ctx, t, q)
    return t


# ---------------------------------------------------------------------------------------------- QDQ
@handles("QuantizeLinear")
def _quantize_linear(ctx, node, a):
    x = ctx.resolve(node.input[0])
    q, dtype = _params(ctx, node, node.input[1], node.input[2] if len(node.input) > 2 else None,
                       int(a.get("axis", 1)))
    out = node.output[0]
    if ctx.is_const(x):  # a float constant quantised in the graph: store its integers
        ctx.consts[out] = quantize(np.asarray(ctx.consts[x], np.float32), q, dtype, "onnx")
        qrecords(ctx)[out] = q
        return
    if q.per_axis:
        raise UnsupportedError(f"node {node_name(node)!r}: per-axis quantisation of an activation is not supported")
    ty = ctx.types.get(x)
    idx = next((i for i in range(len(ctx.layers) - 1, -1, -1) if x in ctx.layers[i].outputs), None)
    later_readers = idx is not None and any(x in layer.inputs for layer in ctx.layers[idx + 1:])
    if idx is not None and ty is not None and ty.dtype == "float32":
        ty = _built_type(ctx, ctx.layers[idx], ty)
    if (idx is not None and ctx.layers[idx].outputs == (x,) and ty is not None and ty.dtype == dtype
            and x not in ctx.graph_outputs and not later_readers):
        ctx.layers[idx] = replace(ctx.layers[idx], outputs=(out,),
                                  onnx_nodes=ctx.layers[idx].onnx_nodes + (node_name(node),))
        del ctx.types[x]
        ctx.types[out] = ty.with_quant(q)
        ctx.alias[x] = out
        qrecords(ctx)[out] = q
        _quant_through_moves(ctx, ctx.layers[idx], q)
        return
    ctx.emit(node, Quantize(dtype), [x], [out])
    set_quant(ctx, out, q)


def _built_type(ctx, layer, ty):
    """The output type ``Graph.build`` will infer for ``layer``: the reader types constants float32, but the
    graph types a quantised integer constant as what it is, so ``DQ(constant) - DQ(x)`` with the constant first
    and of x's shape (YOLOv8's anchor decode) is an int8 layer there, whose QuantizeLinear must retarget it (not
    requantise its output: a second rounding, up to 4 LSB)."""
    from cnncc.ir.types import TensorType

    ins = []
    for t in layer.inputs:
        if t in ctx.types:
            ins.append(ctx.types[t])
            continue
        a = ctx.consts[t]
        dt = _DT.get(a.dtype)
        q = qrecords(ctx).get(t) if dt is not None else None
        ins.append(TensorType(tuple(int(d) for d in a.shape), dt if q is not None else "float32", "", q))
    if len(layer.outputs) != 1:
        return ty
    try:
        out = layer.op.infer(ins)[0]
    except Exception:  # noqa: BLE001 - the reader's own type stands; Graph.build reports real errors
        return ty
    return out if out.shape == ty.shape else ty


#: ops for which quantising the input with the output's per-tensor scale gives the same integers as quantising
#: the output (a per-tensor affine quantisation is monotone: it commutes with max and with moving elements)
_ORDER_KEEPING = (O.MaxPool, O.GlobalMaxPool, O.Flatten, O.Reshape, O.Transpose, O.Slice, O.Identity)


def _quant_through_moves(ctx, layer, q: QuantParams) -> None:
    """A float chain ``DQ -> op -> MaxPool/Flatten/... -> Q`` (onnxruntime keeps ``op``'s output float: e.g. a
    PRelu, which its quantiser leaves unquantised): ``op``'s output inherited its input's quantisation when the
    handler ran; give it the Q's instead, so the integers match the float chain's exactly (no double rounding).
    Walks back through order-keeping ops whose input has no other reader and no Q of its own."""
    records = qrecords(ctx)
    while isinstance(layer.op, _ORDER_KEEPING) and not q.per_axis:
        src = layer.inputs[0]
        ty = ctx.types.get(src)
        readers = [la for la in ctx.layers if src in la.inputs]
        if ty is None or ty.quant is None or src in records or len(readers) != 1 or src in ctx.graph_outputs:
            return
        ctx.types[src] = ty.with_quant(q)
        records[src] = q
        layer = next((la for la in reversed(ctx.layers) if src in la.outputs), None)
        if layer is None:
            return


@handles("DequantizeLinear")
def _dequantize_linear(ctx, node, a):
    x = ctx.resolve(node.input[0])
    q, dtype = _params(ctx, node, node.input[1], node.input[2] if len(node.input) > 2 else None,
                       int(a.get("axis", 1)))
    out = node.output[0]
    if ctx.is_const(x):
        arr = ctx.consts[x]
        if q.per_axis:
            q = QuantParams(q.scale, q.zero_point, q.axis % max(arr.ndim, 1))
        qrecords(ctx)[x] = q
        ctx.alias[out] = x
        return
    t = _act_quant(ctx, node, x, q, dtype)
    if out in ctx.graph_outputs:
        ctx.emit(node, Dequantize(), [t], [out])
        return
    ctx.alias[out] = t


# ---------------------------------------------------------------------------------------------- QOperator
def _qop(ctx, node, float_type: str, acts: list[tuple[int, int, int]], weights: list[tuple[int, int, int, int]],
         y: tuple[int, int] | None, inputs: list[int]) -> None:
    """Convert a QLinear* op: ``acts`` (input, scale, zp) positions of activations, ``weights`` (input, scale,
    zp, IR axis) of constants, ``y`` (scale, zp) of the output; ``inputs`` the positions the float op reads."""
    ins = node.input
    for i, s, z in acts:
        q, dt = _params(ctx, node, ins[s], ins[z] if z < len(ins) and ins[z] else None)
        _act_quant(ctx, node, ins[i], q, dt)
    for i, s, z, axis in weights:
        q, _ = _params(ctx, node, ins[s], ins[z] if z < len(ins) and ins[z] else None, axis)
        _weight_quant(ctx, node, ins[i], q, axis)
    HANDLERS[float_type](ctx, _proxy(node, float_type, [ins[i] if i < len(ins) else "" for i in inputs]),
                         {a.name: _attr(a) for a in node.attribute})
    if y is not None:
        q, _ = _params(ctx, node, ins[y[0]], ins[y[1]] if y[1] < len(ins) and ins[y[1]] else None)
        out = ctx.resolve(node.output[0])
        set_quant(ctx, out, q)


def _attr(a):
    from cnncc.frontend.onnx import proto as helper

    return helper.get_attribute_value(a)


def _bias_quant(ctx, node, b: str, x_s: str, w_s: str) -> None:
    if not b:
        return
    sx = np.float32(np.asarray(ctx.const(x_s, node)).reshape(-1)[0])
    sw = np.asarray(ctx.const(w_s, node), np.float32).reshape(-1)
    scales = (sx * sw).astype(np.float32)  # the float32 product onnxruntime uses for the int32 bias
    qrecords(ctx)[ctx.resolve(b)] = QuantParams.channels(scales.tolist(), [0] * sw.size, 0)


@handles("QLinearConv")
def _qlinear_conv(ctx, node, a):
    _bias_quant(ctx, node, node.input[8] if len(node.input) > 8 else "", node.input[1], node.input[4])
    _qop(ctx, node, "Conv", [(0, 1, 2)], [(3, 4, 5, 0)], (6, 7), [0, 3, 8])


@handles("QLinearMatMul")
def _qlinear_matmul(ctx, node, a):
    b_const = ctx.is_const(node.input[3])
    w = [(3, 4, 5, 1)] if b_const else []
    acts = [(0, 1, 2)] + ([] if b_const else [(3, 4, 5)])
    _qop(ctx, node, "MatMul", acts, w, (6, 7), [0, 3])


@handles("QGemm")
def _qgemm(ctx, node, a):
    tb = int(a.get("transB", 0))
    ins = node.input
    if len(ins) > 6 and ins[6]:
        _bias_quant(ctx, node, ins[6], ins[1], ins[4])
    y = (7, 8) if len(ins) > 7 and ins[7] else None
    _qop(ctx, node, "Gemm", [(0, 1, 2)], [(3, 4, 5, 0 if tb else 1)], y, [0, 3, 6])
    if y is None:
        raise UnsupportedError(f"node {node_name(node)!r}: QGemm with a float output is not supported")


def _qbinary(float_type: str):
    def fn(ctx, node, a):
        ins = node.input
        parts = []
        for i, s, z in ((0, 1, 2), (3, 4, 5)):
            if ctx.is_const(ins[i]):
                q, _ = _params(ctx, node, ins[s], ins[z] if ins[z] else None)
                qrecords(ctx)[ctx.resolve(ins[i])] = q
            else:
                parts.append((i, s, z))
        _qop(ctx, node, float_type, parts, [], (6, 7), [0, 3])

    return fn


handles("QLinearAdd")(_qbinary("Add"))
handles("QLinearMul")(_qbinary("Mul"))


@handles("QLinearGlobalAveragePool")
def _qgap(ctx, node, a):
    if int(a.get("channels_last", 0)):
        raise UnsupportedError(f"node {node_name(node)!r}: channels_last QLinearGlobalAveragePool is not supported")
    _qop(ctx, node, "GlobalAveragePool", [(0, 1, 2)], [], (3, 4), [0])


@handles("QLinearAveragePool")
def _qavgpool(ctx, node, a):
    if int(a.get("channels_last", 0)):
        raise UnsupportedError(f"node {node_name(node)!r}: channels_last QLinearAveragePool is not supported")
    _qop(ctx, node, "AveragePool", [(0, 1, 2)], [], (3, 4), [0])


@handles("QLinearSigmoid")
def _qsigmoid(ctx, node, a):
    _qop(ctx, node, "Sigmoid", [(0, 1, 2)], [], (3, 4), [0])


@handles("QLinearLeakyRelu")
def _qleaky(ctx, node, a):
    _qop(ctx, node, "LeakyRelu", [(0, 1, 2)], [], (3, 4), [0])


@handles("QLinearConcat")
def _qconcat(ctx, node, a):
    ins = node.input
    n = (len(ins) - 2) // 3
    acts = [(2 + 3 * k, 3 + 3 * k, 4 + 3 * k) for k in range(n)]
    _qop(ctx, node, "Concat", acts, [], (0, 1), [2 + 3 * k for k in range(n)])


# ---------------------------------------------------------------------------------------------- dynamic
@handles("DynamicQuantizeLinear")
def _dynamic_quantize(ctx, node, a):
    from cnncc.ir.intops import DynamicQuantize

    ctx.emit(node, DynamicQuantize(), [node.input[0]], list(node.output))


@handles("ConvInteger")
def _conv_integer(ctx, node, a):
    from cnncc.ir.intops import ConvInteger

    _integer_op(ctx, node, a, "Conv", lambda op: ConvInteger(op.kernel, op.strides, op.dilations, op.pads,
                                                             op.groups))


@handles("MatMulInteger")
def _matmul_integer(ctx, node, a):
    from cnncc.ir.intops import MatMulInteger

    _integer_op(ctx, node, a, "MatMul", lambda op: MatMulInteger())


def _integer_op(ctx, node, a, float_type: str, make) -> None:
    """Emit the float op through its handler, then swap in the integer record reading the zero points."""
    ins = list(node.input)
    HANDLERS[float_type](ctx, _proxy(node, float_type, ins[:2]), a)
    layer = ctx.layers[-1]
    zps = [ctx.resolve(t) for t in ins[2:4] if t]
    for t in zps:
        if ctx.is_const(t) and np.asarray(ctx.consts[t]).size > 1:
            raise UnsupportedError(f"node {node_name(node)!r}: per-axis zero points of {node.op_type} are not "
                                   f"supported")
    while len(zps) < 2:
        zname = f"{node_name(node)}/zero_point{len(zps)}"
        ctx.consts[zname] = np.zeros((), np.uint8)
        zps.append(zname)
    new = replace(layer, op=make(layer.op), inputs=layer.inputs[:2] + tuple(zps))
    ctx.layers[-1] = new
    out = layer.outputs[0]
    ctx.types[out] = new.op.infer([ctx.type(t) for t in new.inputs])[0]


_orig_cast = HANDLERS.get("Cast")


@handles("Cast")
def _cast(ctx, node, a):
    """Cast of an integer activation (e.g. ConvInteger's int32) to float: an IR Cast; else the float handler."""
    from cnncc.ir.intops import Cast

    to = int(a["to"])
    if ctx.type(node.input[0]).dtype != "float32" and to == 1 and not ctx.is_const(node.input[0]):
        ctx.emit(node, Cast("float32"), [node.input[0]])
        return
    if _orig_cast is None:
        raise UnsupportedError.op("Cast", node_name(node), "cnncc")
    _orig_cast(ctx, node, a)


__all__ = ["MS_OPS", "qrecords", "O"]
