"""ONNX handlers of the conv family, pooling, LRN and BatchNormalization (registered in :mod:`.ops`)."""

from __future__ import annotations

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.frontend.onnx.ops import (
    MAX_WINDOW,
    _auto_pad,
    _bias,
    _canonical_strides,
    _check_4d,
    _check_window,
    _pads2d,
    _spatial,
    handles,
    invalid,
    node_name,
)
from cnncc.ir import ops as O


# ------------------------------------------------------------------------------------------------ conv family
@handles("Conv")
def _conv(ctx, node, a):
    x, w = node.input[0], node.input[1]
    _check_4d(ctx, node, x)
    wv = ctx.const(w, node)
    if wv.ndim != 4:
        raise UnsupportedError(f"node {node_name(node)!r}: only 2-D Conv is supported")
    kernel = _spatial(node, a, "kernel_shape", wv.shape[2:])
    strides = _spatial(node, a, "strides", (1, 1))
    dil = _spatial(node, a, "dilations", (1, 1))
    groups = int(a.get("group", 1))
    _check_window(node, kernel, strides, dil, (), groups)
    c, k = ctx.type(x).shape[1], int(wv.shape[0])
    if c % groups or k % groups or wv.shape[1] * groups != c:
        raise invalid(node, "group", groups, f"does not fit input channels {c} and weight shape "
                                             f"{list(wv.shape)} (needs C = group x W.shape[1], group | K)")
    pads = _pads2d(ctx, node, a, ctx.type(x).shape[2:], kernel, strides, dil)
    _check_window(node, kernel, strides, dil, pads)
    strides = _canonical_strides(ctx.type(x).shape[2:], kernel, strides, dil, pads)
    ins = [x, w] + ([node.input[2]] if len(node.input) > 2 and node.input[2] else [])
    if len(ins) > 2:
        _bias(ctx, node, ins[2], k)
    ctx.emit(node, O.Conv(kernel, strides, dil, pads, groups), ins)


@handles("ConvTranspose")
def _convt(ctx, node, a):
    x, w = node.input[0], node.input[1]
    _check_4d(ctx, node, x)
    wv = ctx.const(w, node)
    kernel = _spatial(node, a, "kernel_shape", wv.shape[2:])
    strides = _spatial(node, a, "strides", (1, 1))
    dil = _spatial(node, a, "dilations", (1, 1))
    outpad = tuple(int(v) for v in a.get("output_padding", (0, 0)))
    groups = int(a.get("group", 1))
    _check_window(node, kernel, strides, dil, outpad, groups)
    if len(outpad) != 2:
        raise invalid(node, "output_padding", list(outpad), "must have 2 values (2-D)")
    if any(op >= max(s, d) for op, s, d in zip(outpad, strides, dil)):
        raise invalid(node, "output_padding", list(outpad), "must be less than the stride or the dilation")
    c = ctx.type(x).shape[1]
    if wv.ndim != 4 or c % groups or wv.shape[0] != c:
        raise invalid(node, "group", groups, f"does not fit input channels {c} and weight shape "
                                             f"{list(wv.shape)} (needs W.shape[0] = C, group | C)")
    auto = _auto_pad(node, a)
    h, wd = ctx.type(x).shape[2:]
    if "output_shape" in a:
        pads = []
        outs = list(a["output_shape"])[-2:]
        for i, (size, o) in enumerate(zip((h, wd), outs)):
            total = strides[i] * (size - 1) + outpad[i] + (kernel[i] - 1) * dil[i] + 1 - o
            upper = auto == "SAME_UPPER"  # ONNX: only SAME_UPPER puts the extra pad last
            lo = total // 2 if upper else total - total // 2
            pads.append((lo, total - lo))
        p = (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
    else:
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            tot = [max(0, strides[i] * ((h, wd)[i] - 1) + outpad[i] + (kernel[i] - 1) * dil[i] + 1
                       - (h, wd)[i] * strides[i]) for i in range(2)]
            lo = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in tot]
            p = (lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1])
        elif auto == "VALID":
            p = (0, 0, 0, 0)
        else:
            p = tuple(int(v) for v in a.get("pads", (0, 0, 0, 0)))
            if len(p) != 4:
                raise UnsupportedError(f"node {node_name(node)!r}: only 2-D ConvTranspose is supported "
                                       f"(pads={list(p)})")
    ins = [x, w] + ([node.input[2]] if len(node.input) > 2 and node.input[2] else [])
    _check_window(node, kernel, strides, dil, p)
    if len(ins) > 2:
        _bias(ctx, node, ins[2], int(wv.shape[1]) * groups)
    ctx.emit(node, O.ConvTranspose(kernel, strides, dil, p, outpad, groups), ins)


@handles("Gemm")
def _gemm(ctx, node, a):
    ins = [t for t in node.input if t]
    if len(ins) < 2:
        raise InvalidModelError(f"node {node_name(node)!r} (Gemm): needs inputs A and B, got {len(ins)}")
    sa, sb = ctx.type(ins[0]).shape, ctx.type(ins[1]).shape
    if len(ins) > 2 and len(sa) == 2 and len(sb) == 2:
        m = sa[1] if a.get("transA", 0) else sa[0]
        n = sb[0] if a.get("transB", 0) else sb[1]
        sc = ctx.type(ins[2]).shape
        if len(sc) > 2 or any(d not in (1, full) for d, full in zip(sc[::-1], (n, m))):
            raise InvalidModelError(f"node {node_name(node)!r} (Gemm): C {ins[2]!r} of shape {list(sc)} does "
                                    f"not broadcast to the output [{m}, {n}]")
    ctx.emit(node, O.Gemm(bool(a.get("transA", 0)), bool(a.get("transB", 0)), float(a.get("alpha", 1.0)),
                          float(a.get("beta", 1.0))), ins)


@handles("MatMul")
def _matmul(ctx, node, a):
    """MatMul; a 1-D operand is lowered as numpy does: A [K] -> [1, K], B [K] -> [K, 1], then the added
    axis is removed from the result by a Reshape."""
    if len(node.input) != 2 or not all(node.input):
        raise InvalidModelError(f"node {node_name(node)!r} (MatMul): needs exactly 2 inputs")
    a_t, b_t = node.input
    sa, sb = ctx.type(a_t).shape, ctx.type(b_t).shape
    if not sa or not sb:
        raise InvalidModelError(f"node {node_name(node)!r} (MatMul): operands must have rank >= 1, got "
                                f"{list(sa)} and {list(sb)}")
    if len(sa) > 1 and len(sb) > 1:
        ctx.emit(node, O.MatMul(), [a_t, b_t])
        return
    out = node.output[0]
    ins = []
    for t, shape, new in ((a_t, sa, (1,) + sa if len(sa) == 1 else sa), (b_t, sb, sb + (1,) if len(sb) == 1
                                                                          else sb)):
        if new == shape:
            ins.append(t)
        elif ctx.is_const(t):
            name = f"{t}__2d"
            ctx.consts[name] = ctx.const(t, node).reshape(new)
            ins.append(name)
        else:
            ins.extend(ctx.emit(node, O.Reshape(new), [t], [f"{out}__{len(ins)}_2d"], f"/2d{len(ins)}"))
    res = ctx.emit(node, O.MatMul(), ins, [f"{out}__mm"], "/matmul")
    full = ctx.types[res[0]].shape
    final = full[:-2] + ((full[-1],) if len(sa) == 1 and len(sb) > 1 else (full[-2],) if len(sb) == 1 and
                         len(sa) > 1 else ())
    ctx.emit(node, O.Reshape(final or (1,)), res, [out])


# ------------------------------------------------------------------------------------------------ pooling
@handles("MaxPool", "AveragePool")
def _pool(ctx, node, a):
    x = node.input[0]
    _check_4d(ctx, node, x)
    if node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
        raise UnsupportedError(f"node {node_name(node)!r}: MaxPool with an Indices output is not supported")
    kernel = _spatial(node, a, "kernel_shape", ())
    strides = _spatial(node, a, "strides", (1, 1))
    dil = _spatial(node, a, "dilations", (1, 1))
    _check_window(node, kernel, strides, dil, ())
    pads = _pads2d(ctx, node, a, ctx.type(x).shape[2:], kernel, strides, dil)
    _check_window(node, kernel, strides, dil, pads)
    ceil = bool(a.get("ceil_mode", 0))
    if not ceil:
        strides = _canonical_strides(ctx.type(x).shape[2:], kernel, strides, dil, pads)
    if node.op_type == "MaxPool":
        op = O.MaxPool(kernel, strides, dil, pads, ceil)
    else:
        op = O.AveragePool(kernel, strides, dil, pads, ceil, bool(a.get("count_include_pad", 0)))
    ctx.emit(node, op, [x], [node.output[0]])


@handles("GlobalAveragePool")
def _gap(ctx, node, a):
    _check_4d(ctx, node, node.input[0])
    ctx.emit(node, O.GlobalAveragePool(), [node.input[0]])


@handles("GlobalMaxPool")
def _gmp(ctx, node, a):
    _check_4d(ctx, node, node.input[0])
    ctx.emit(node, O.GlobalMaxPool(), [node.input[0]])


@handles("LRN")
def _lrn(ctx, node, a):
    if "size" not in a:
        raise InvalidModelError(f"node {node_name(node)!r} (LRN): the required attribute size is missing")
    size = int(a["size"])
    if not 1 <= size <= MAX_WINDOW:
        raise invalid(node, "size", size, f"must be in 1..{MAX_WINDOW}")
    _check_4d(ctx, node, node.input[0])
    ctx.emit(node, O.LRN(size, float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)),
                         float(a.get("bias", 1.0))), [node.input[0]])


@handles("BatchNormalization")
def _bn(ctx, node, a):
    if any(o for o in node.output[1:]) or int(a.get("training_mode", 0)):
        raise UnsupportedError(f"node {node_name(node)!r}: BatchNormalization in training mode is not supported")
    if len(node.input) != 5 or not all(node.input):
        raise InvalidModelError(f"node {node_name(node)!r} (BatchNormalization): needs 5 inputs (X, scale, B, "
                                f"mean, var), got {len([t for t in node.input if t])}")
    for t in node.input[1:5]:
        ctx.const(t, node)
    ctx.emit(node, O.BatchNormalization(float(a.get("epsilon", 1e-5))), list(node.input[:5]), [node.output[0]])
