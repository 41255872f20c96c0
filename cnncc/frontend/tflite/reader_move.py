"""TFLite operator handlers of elementwise ops, data movement and streaming state (registered in :mod:`.reader_ops`)."""

from __future__ import annotations

import numpy as np

from cnncc.errors import InvalidModelError
from cnncc.frontend.tflite.reader import TO_NCHW, TO_NHWC, ir_type
from cnncc.frontend.tflite.reader_ops import Builder, handles
from cnncc.ir import ops as O
from cnncc.ir.quant import Dequantize, Quantize, dequantize


# ---------------------------------------------------------------------------------------------- elementwise
@handles("ADD", "SUB", "MUL", "DIV")
def _binary(b: Builder, op, ins, outs):
    o = b.options({"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}[b.op_name])
    rank = len(b.ts[outs[0]].shape)
    args = [b.bcast_const(i, rank) if b.is_const(i) else b.act(i) for i in ins]
    for a in args:
        if a not in b.weights and b.ir_rank(a) != rank and rank == 4:
            b.fail("broadcasting a lower-rank activation against a 4-D map is not supported")
    cls = {"ADD": O.Add, "SUB": O.Sub, "MUL": O.Mul, "DIV": O.Div}[b.op_name]
    b.emit(cls(b.fused(o)), args, outs[:1])


@handles("PRELU")
def _prelu(b: Builder, op, ins, outs):
    rank = len(b.ts[outs[0]].shape)
    x = b.act(ins[0])
    alpha = b.bcast_const(ins[1], rank) if b.is_const(ins[1]) else b.act(ins[1])
    if alpha not in b.weights and b.ir_rank(alpha) != rank and rank == 4:
        b.fail("broadcasting a lower-rank alpha activation against a 4-D map is not supported")
    b.emit(O.PRelu(), [x, alpha], outs[:1])


@handles("CONCATENATION")
def _concat(b: Builder, op, ins, outs):
    o = b.options("ConcatenationOptions")
    rank = len(b.ts[outs[0]].shape)
    args = [b.act(i) for i in ins]
    ax = b.axis(int(o.Axis()), rank)
    b.act_after(b.fused(o), args[0], outs, lambda oi: b.emit(O.Concat(ax), args, oi, suffix="concat"))


_ACTS = {"LOGISTIC": O.Sigmoid(), "TANH": O.Tanh(), "RELU": O.Relu(), "RELU6": O.Clip(0.0, 6.0),
         "RELU_N1_TO_1": O.Clip(-1.0, 1.0), "HARD_SWISH": O.HardSwish()}


@handles(*_ACTS)
def _act(b: Builder, op, ins, outs):
    b.emit(_ACTS[b.op_name], [b.act(ins[0])], outs[:1])


@handles("SQRT")
def _sqrt(b: Builder, op, ins, outs):
    b.emit(O.Sqrt(), [b.act(ins[0])], outs[:1])


@handles("LEAKY_RELU")
def _leaky(b: Builder, op, ins, outs):
    o = b.options("LeakyReluOptions")
    b.emit(O.LeakyRelu(float(np.float32(o.Alpha()))), [b.act(ins[0])], outs[:1])


@handles("SOFTMAX")
def _softmax(b: Builder, op, ins, outs):
    o = b.options("SoftmaxOptions")
    if o is not None and abs(float(o.Beta()) - 1.0) > 1e-6:
        b.fail(f"beta={o.Beta():g} is not supported (only 1)")
    x = b.act(ins[0])
    b.emit(O.Softmax(1 if b.ir_rank(x) == 4 else -1), [x], outs[:1])


@handles("QUANTIZE")
def _quantize(b: Builder, op, ins, outs):
    b.emit(Quantize(ir_type(b.ts[outs[0]], None).dtype), [b.act(ins[0])], outs[:1])


@handles("DEQUANTIZE")
def _dequantize(b: Builder, op, ins, outs):
    if b.is_const(ins[0]):  # fp16 / int8 weights stored compressed: fold to float32
        arr, q = b.const(ins[0])
        val = arr.astype(np.float32) if q is None else dequantize(arr, q)
        b.consts[outs[0]] = (val, None)
        return
    b.emit(Dequantize(), [b.act(ins[0])], outs[:1])


# ---------------------------------------------------------------------------------------------- data movement
@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(b: Builder, op, ins, outs):
    if b.is_const(ins[0]):
        arr, q = b.const(ins[0])
        b.consts[outs[0]] = (arr.reshape(b.ts[outs[0]].shape), q)
        return
    b.reshape_to(b.act(ins[0]), outs[0])


@handles("PAD", "PADV2")
def _pad(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    r = b.ir_rank(x)
    p = np.asarray(b.const(ins[1])[0]).reshape(r, 2)
    order = TO_NCHW if r == 4 else tuple(range(r))
    pads = tuple(int(p[order[i], 0]) for i in range(r)) + tuple(int(p[order[i], 1]) for i in range(r))
    value = 0.0
    tq = b.ts[ins[0]].quant
    if b.op_name == "PADV2" and len(ins) > 2:
        v, vq = b.const(ins[2])
        v = np.asarray(v).reshape(-1)[:1]
        value = float(dequantize(v, vq)[0]) if vq is not None else float(v[0])
    elif tq is not None:
        value = 0.0  # TFLite pads a quantised tensor with its zero point (real 0)
    b.emit(O.Pad(pads, "constant", value), [x], outs[:1])


@handles("MIRROR_PAD")
def _mirror_pad(b: Builder, op, ins, outs):
    """REFLECT -> Pad reflect; SYMMETRIC (the edge value repeated, mirrored) -> Pad edge when no pad is wider
    than 1, the only case where the two agree (what cnncc's exporter writes for a MaxPool's overhang)."""
    o = b.options("MirrorPadOptions")
    x = b.act(ins[0])
    r = b.ir_rank(x)
    p = np.asarray(b.const(ins[1])[0]).reshape(r, 2)
    order = TO_NCHW if r == 4 else tuple(range(r))
    pads = tuple(int(p[order[i], 0]) for i in range(r)) + tuple(int(p[order[i], 1]) for i in range(r))
    symmetric = o is not None and int(o.Mode()) == 1
    if symmetric and max(pads) > 1:
        b.fail(f"SYMMETRIC padding wider than 1 ({max(pads)}) is not supported")
    b.emit(O.Pad(pads, "edge" if symmetric else "reflect"), [x], outs[:1])


@handles("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _resize(b: Builder, op, ins, outs):
    bil = b.op_name == "RESIZE_BILINEAR"
    o = b.options("ResizeBilinearOptions" if bil else "ResizeNearestNeighborOptions")
    x = b.act(ins[0])
    size = tuple(b.const_ints(ins[1]))
    _, _, h, w = b._types[x].shape
    align, half = bool(o.AlignCorners()), bool(o.HalfPixelCenters())
    if bil:
        mode, nearest = ("align_corners" if align else "half_pixel" if half else "asymmetric"), "floor"
    else:
        mode = "align_corners" if align else "tf_half_pixel_for_nn" if half else "asymmetric"
        nearest = "round_prefer_ceil" if align else "floor"
    b.emit(O.Resize((size[0], size[1]), (size[0] / h, size[1] / w), "linear" if bil else "nearest", mode, nearest),
           [x], outs[:1])


@handles("STRIDED_SLICE")
def _strided_slice(b: Builder, op, ins, outs):
    o = b.options("StridedSliceOptions")
    x = b.act(ins[0])
    shape = b.ts[ins[0]].shape
    r = len(shape)
    if int(o.EllipsisMask()) or int(o.NewAxisMask()) or (hasattr(o, "Offset") and o.Offset()):
        b.fail("ellipsis/new-axis masks and offset are not supported")
    begin, end, strides = b.const_ints(ins[1]), b.const_ints(ins[2]), b.const_ints(ins[3])
    bm, em, sm = int(o.BeginMask()), int(o.EndMask()), int(o.ShrinkAxisMask())
    starts, ends, axes, steps = [], [], [], []
    for a in range(r):
        if a >= len(begin):
            continue
        s = strides[a]
        if sm >> a & 1:
            st = begin[a] % shape[a]
            rng = (st, st + 1, 1)
        else:
            rng = slice(None if bm >> a & 1 else begin[a], None if em >> a & 1 else end[a], s).indices(shape[a])
        if rng == (0, shape[a], 1):
            continue
        starts.append(rng[0])
        ends.append(rng[1])
        axes.append(b.axis(a, r))
        steps.append(rng[2])
    if not axes and not sm and r:
        # an identity STRIDED_SLICE stays an (identity) Slice: it is an op of the file, and Vela 5.2.0 runs it as a
        # MemoryCopy with an offset, which keeps the copy of a Split feeding it (Regor's MoveSplitSliceToConsumer)
        starts, ends, axes, steps = [0], [shape[r - 1]], [b.axis(r - 1, r)], [1]
    if not axes:
        src = x
    else:
        src = b.emit(O.Slice(tuple(starts), tuple(ends), tuple(axes), tuple(steps)), [x],
                     None if sm else outs[:1], suffix="slice")
    if sm or not axes:
        b.quant_like(src, outs[0])
        b.reshape_to(src, outs[0])


@handles("SLICE")
def _slice(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    shape = b.ts[ins[0]].shape
    begin, size = b.const_ints(ins[1]), b.const_ints(ins[2])
    starts, ends, axes = [], [], []
    for a, (st, n) in enumerate(zip(begin, size)):
        en = shape[a] if n == -1 else st + n
        if (st, en) != (0, shape[a]):
            starts.append(st)
            ends.append(en)
            axes.append(b.axis(a, len(shape)))
    b.emit(O.Slice(tuple(starts), tuple(ends), tuple(axes), (1,) * len(axes)), [x], outs[:1])


@handles("SPLIT", "SPLIT_V")
def _split(b: Builder, op, ins, outs):
    if b.op_name == "SPLIT":
        axis, x = b.const_ints(ins[0])[0], b.act(ins[1])
        n = len(outs)
        dim = b.ts[ins[1]].shape[axis]
        sizes = tuple([dim // n] * n)
    else:
        x, axis = b.act(ins[0]), b.const_ints(ins[2])[0]
        sizes_l = b.const_ints(ins[1])
        dim = b.ts[ins[0]].shape[axis]
        if -1 in sizes_l:
            sizes_l[sizes_l.index(-1)] = dim - (sum(sizes_l) + 1)
        sizes = tuple(sizes_l)
    b.emit(O.Split(b.axis(axis, b.ir_rank(x)), sizes), [x], outs)


@handles("TRANSPOSE")
def _transpose(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    perm = b.const_ints(ins[1])
    r = len(perm)
    p1 = TO_NHWC if r == 4 else tuple(range(r))
    p3 = TO_NCHW if r == 4 else tuple(range(r))
    total = tuple(p1[perm[p3[i]]] for i in range(r))
    b.emit(O.Transpose(total), [x], outs[:1])


# ---------------------------------------------------------------------------------------------- streaming state
@handles("VAR_HANDLE")
def _var_handle(b: Builder, op, ins, outs):
    from cnncc.frontend.tflite.reader import _var_key

    b.handles[outs[0]] = _var_key(op)


@handles("CALL_ONCE")
def _call_once(b: Builder, op, ins, outs):
    return  # runs the variable-init subgraph; the initial values are graph inputs here


@handles("READ_VARIABLE")
def _read_variable(b: Builder, op, ins, outs):
    if ins[0] not in b.handles:
        b.fail("reads a variable no VAR_HANDLE created")
    b.graph_input(b.ts[outs[0]])


@handles("ASSIGN_VARIABLE")
def _assign_variable(b: Builder, op, ins, outs):
    if ins[1] in b.names:
        b.extra_outputs.append(b.names[ins[1]])
    elif not b.is_const(ins[1]):
        raise InvalidModelError(f"{b.where}: ASSIGN_VARIABLE (operator #{b.op_index}) of an undefined tensor")
