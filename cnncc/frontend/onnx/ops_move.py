"""ONNX handlers of elementwise ops, activations and data movement (registered in :mod:`.ops`)."""

from __future__ import annotations

import math

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.frontend.onnx.ops import _check_4d, axes_attr, axis_attr, enum_attr, handles, invalid, node_name, scalar
from cnncc.ir import ops as O
from cnncc.ir.types import MAX_ELEMENTS

# ------------------------------------------------------------------------------------------------ elementwise
_BIN = {"Add": O.Add, "Sub": O.Sub, "Mul": O.Mul, "Div": O.Div, "Sum": O.Add}


@handles(*_BIN)
def _binary(ctx, node, a):
    ins = [t for t in node.input if t]
    if len(ins) == 1:  # Sum of one input
        return _identity(ctx, node, a)
    ctx.emit(node, _BIN[node.op_type](), ins)


_ACT = {"Relu": O.Relu, "Sigmoid": O.Sigmoid, "Tanh": O.Tanh, "HardSwish": O.HardSwish}


@handles(*_ACT)
def _act(ctx, node, a):
    ctx.emit(node, _ACT[node.op_type](), [node.input[0]])


@handles("LeakyRelu")
def _leaky(ctx, node, a):
    ctx.emit(node, O.LeakyRelu(float(a.get("alpha", 0.01))), [node.input[0]])


@handles("PRelu")
def _prelu(ctx, node, a):
    ins = [t for t in node.input if t]
    if len(ins) != 2:
        raise InvalidModelError(f"node {node_name(node)!r} (PRelu): needs 2 inputs (X, slope), got {len(ins)}")
    x, slope = ctx.type(ins[0]).shape, ctx.type(ins[1]).shape
    try:
        ok = np.broadcast_shapes(x, slope) == tuple(x)
    except ValueError:
        ok = False
    if not ok:
        raise InvalidModelError(f"node {node_name(node)!r} (PRelu): slope {tuple(slope)} does not broadcast to "
                                f"X {tuple(x)}")
    ctx.emit(node, O.PRelu(), ins)


@handles("Pow")
def _pow(ctx, node, a):
    """Pow(X, Y) with Y a one-element constant (the exponent); a tensor exponent computed at run time is refused."""
    ins = [t for t in node.input if t]
    if len(ins) != 2:
        raise InvalidModelError(f"node {node_name(node)!r} (Pow): needs 2 inputs (X, Y), got {len(ins)}")
    if not ctx.is_const(ins[1]) or np.asarray(ctx.const(ins[1], node)).size != 1:
        raise UnsupportedError(f"node {node_name(node)!r} (Pow): only a one-element constant exponent Y is "
                               f"supported")
    e = scalar(node, ins[1], ctx.const(ins[1], node))
    if not math.isfinite(e):
        raise InvalidModelError(f"node {node_name(node)!r} (Pow): exponent {e} is not finite")
    ctx.emit(node, O.Pow(e), ins[:1])


@handles("Sqrt")
def _sqrt(ctx, node, a):
    ctx.emit(node, O.Sqrt(), [node.input[0]])


@handles("HardSigmoid")
def _hsig(ctx, node, a):
    ctx.emit(node, O.HardSigmoid(float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))), [node.input[0]])


@handles("Clip")
def _clip(ctx, node, a):
    if ctx.opset < 11:
        lo, hi = float(a.get("min", -math.inf)), float(a.get("max", math.inf))
    else:
        lo = scalar(node, node.input[1], ctx.const(node.input[1], node)) \
            if len(node.input) > 1 and node.input[1] else -math.inf
        hi = scalar(node, node.input[2], ctx.const(node.input[2], node)) \
            if len(node.input) > 2 and node.input[2] else math.inf
    if math.isnan(lo) or math.isnan(hi):
        raise InvalidModelError(f"node {node_name(node)!r} (Clip): min/max is NaN")
    ctx.emit(node, O.Clip(lo, hi), [node.input[0]])


# ------------------------------------------------------------------------------------------------ data movement
@handles("Identity", "Dropout")
def _identity(ctx, node, a):
    if node.op_type == "Dropout" and len(node.output) > 1 and node.output[1]:
        ctx.consts[node.output[1]] = np.ones(ctx.type(node.input[0]).shape, bool)
    if node.output[0] in ctx.graph_outputs:
        ctx.emit(node, O.Identity(), [node.input[0]], [node.output[0]])
    else:
        ctx.alias[node.output[0]] = ctx.resolve(node.input[0])


@handles("Cast")
def _cast(ctx, node, a):
    to = int(a["to"])
    if ctx.type(node.input[0]).dtype == "float32" and to in (1, 10, 11, 16):
        return _identity(ctx, node, a)
    raise UnsupportedError(f"node {node_name(node)!r}: Cast of an activation to type {to} is not supported")


@handles("Concat")
def _concat(ctx, node, a):
    ins = [t for t in node.input if t]
    if not ins:
        raise InvalidModelError(f"node {node_name(node)!r} (Concat): no inputs")
    if "axis" not in a:
        raise InvalidModelError(f"node {node_name(node)!r} (Concat): the required attribute axis is missing")
    axis_attr(node, "axis", a["axis"], ctx.type(ins[0]).rank)
    ctx.emit(node, O.Concat(int(a["axis"])), ins)


@handles("Split")
def _split(ctx, node, a):
    x = node.input[0]
    shape = ctx.type(x).shape
    axis = axis_attr(node, "axis", a.get("axis", 0), len(shape))
    outs = [o for o in node.output]
    if "split" in a:
        sizes = tuple(int(s) for s in a["split"])
    elif len(node.input) > 1 and node.input[1]:
        sizes = tuple(int(s) for s in ctx.const(node.input[1], node))
    else:
        n = int(a.get("num_outputs", len(outs)))
        if not 1 <= n <= shape[axis]:
            raise invalid(node, "num_outputs", n, f"must be in 1..{shape[axis]} (the axis length)")
        chunk = -(-shape[axis] // n)
        sizes = tuple(min(chunk, shape[axis] - i * chunk) for i in range(n))
    if len(sizes) != len(outs) or sum(sizes) != shape[axis] or any(s <= 0 for s in sizes):
        raise invalid(node, "split", list(sizes), f"must be {len(outs)} positive sizes summing to "
                                                  f"{shape[axis]} (axis {axis} of {list(shape)})")
    ctx.emit(node, O.Split(axis, sizes), [x], outs)


@handles("Slice")
def _slice(ctx, node, a):
    from cnncc.frontend.onnx.const_eval import slice_params

    x = node.input[0]
    shape = ctx.type(x).shape
    vals = [ctx.const(t, node) if t else None for t in node.input[1:]]
    starts, ends, axes, steps = slice_params(node, a, vals, shape, ctx.opset)
    ctx.emit(node, O.Slice(starts, ends, axes, steps), [x])


@handles("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def _reshape(ctx, node, a):
    from cnncc.frontend.onnx.const_eval import CONST_OPS as C

    x = node.input[0]
    shape = ctx.type(x).shape
    if node.op_type == "Flatten":
        axis = int(a.get("axis", 1))
        if not -len(shape) <= axis <= len(shape):
            raise invalid(node, "axis", axis, f"is out of range for a rank-{len(shape)} input")
        ctx.emit(node, O.Flatten(axis % (len(shape) + 1) if axis < 0 else axis), [x])
        return
    probe = np.empty(shape, np.uint8)
    vals = [probe] + [ctx.const(t, node) if t else None for t in node.input[1:]]
    new_shape = tuple(int(d) for d in C[node.op_type](node, vals, ctx).shape)
    ctx.emit(node, O.Reshape(new_shape), [x])


@handles("Transpose")
def _transpose(ctx, node, a):
    ctx.emit(node, O.Transpose(tuple(int(p) for p in a.get("perm", ()))), [node.input[0]])


@handles("Pad")
def _pad(ctx, node, a):
    x = node.input[0]
    rank = ctx.type(x).rank
    mode = enum_attr(node, a, "mode", "constant", ("constant", "reflect", "edge", "wrap"))
    if mode == "wrap":
        raise UnsupportedError(f"node {node_name(node)!r}: Pad mode 'wrap' is not supported")
    if ctx.opset < 11:
        if "pads" not in a:
            raise InvalidModelError(f"node {node_name(node)!r} (Pad): the required attribute pads is missing")
        pads, value = tuple(int(p) for p in a["pads"]), float(a.get("value", 0.0))
    else:
        if len(node.input) < 2 or not node.input[1]:
            raise InvalidModelError(f"node {node_name(node)!r} (Pad): the pads input is missing")
        pads = tuple(int(p) for p in ctx.const(node.input[1], node).reshape(-1))
        value = scalar(node, node.input[2], ctx.const(node.input[2], node)) \
            if len(node.input) > 2 and node.input[2] else 0.0
        if len(node.input) > 3 and node.input[3]:
            axes = axes_attr(node, "axes", ctx.const(node.input[3], node).reshape(-1), rank)
            if len(pads) != 2 * len(axes):
                raise invalid(node, "pads", list(pads), f"must have 2 x {len(axes)} values (one pair per axis)")
            full = [0] * (2 * rank)
            for i, ax in enumerate(axes):
                full[ax], full[ax + rank] = pads[i], pads[i + len(axes)]
            pads = tuple(full)
    if len(pads) != 2 * rank:
        raise invalid(node, "pads", list(pads), f"must have {2 * rank} values for a rank-{rank} input")
    if any(abs(p) > MAX_ELEMENTS for p in pads):
        raise invalid(node, "pads", list(pads), "is out of range")
    ctx.emit(node, O.Pad(pads, mode, value), [x])


@handles("Softmax")
def _softmax(ctx, node, a):
    x = node.input[0]
    shape = ctx.type(x).shape
    if ctx.opset >= 13:
        ctx.emit(node, O.Softmax(int(a.get("axis", -1))), [x])
        return
    axis = axis_attr(node, "axis", a.get("axis", 1), len(shape))
    if axis == len(shape) - 1:
        ctx.emit(node, O.Softmax(-1), [x])
        return
    flat = (math.prod(shape[:axis]), math.prod(shape[axis:]))  # opset < 13: softmax over the flattened tail
    t1 = ctx.emit(node, O.Reshape(flat), [x], [node.output[0] + "__flat"], "/flatten")
    t2 = ctx.emit(node, O.Softmax(-1), t1, [node.output[0] + "__sm"], "/softmax")
    ctx.emit(node, O.Reshape(shape), t2, [node.output[0]], "")


@handles("Resize", "Upsample")
def _resize(ctx, node, a):
    x = node.input[0]
    _check_4d(ctx, node, x)
    shape = ctx.type(x).shape
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("nearest", "linear", "bilinear"):
        raise UnsupportedError(f"node {node_name(node)!r}: Resize mode {mode!r} is not supported")
    mode = "linear" if mode == "bilinear" else mode
    inputs = list(node.input)
    scales = sizes = None
    legacy = node.op_type == "Upsample" or ctx.opset < 11
    if legacy:
        scales = a["scales"] if "scales" in a else ctx.const(inputs[1], node)
        ctm, nmode = "asymmetric", "floor"
    else:
        if len(inputs) > 3 and inputs[3]:
            sizes = ctx.const(inputs[3], node)
        elif len(inputs) > 2 and inputs[2]:
            scales = ctx.const(inputs[2], node)
        ctm = a.get("coordinate_transformation_mode", b"half_pixel")
        ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
        nmode = a.get("nearest_mode", b"round_prefer_floor")
        nmode = nmode.decode() if isinstance(nmode, bytes) else nmode
        if "axes" in a or int(a.get("antialias", 0)) or a.get("keep_aspect_ratio_policy", b"stretch") not in (
                b"stretch", "stretch"):
            raise UnsupportedError(f"node {node_name(node)!r}: Resize with axes/antialias/aspect policy "
                                   f"is not supported")
    if sizes is not None and len(sizes):
        sizes = [int(s) for s in np.asarray(sizes).reshape(-1)]
        if len(sizes) != 4 or any(s <= 0 for s in sizes):
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): sizes {sizes} must be 4 "
                                    f"positive values for a rank-4 input")
        if sizes[:2] != list(shape[:2]):
            raise UnsupportedError(f"node {node_name(node)!r}: Resize of batch/channel axes is not supported")
        out = (sizes[2], sizes[3])
        sc = (out[0] / shape[2], out[1] / shape[3])
    else:
        if scales is None:
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): neither scales nor sizes "
                                    f"is given")
        scales = [float(s) for s in np.asarray(scales).reshape(-1)]
        if len(scales) != 4 or not all(math.isfinite(s) and s > 0 for s in scales):
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): scales {scales} must be 4 "
                                    f"positive finite values for a rank-4 input")
        if scales[:2] != [1.0, 1.0]:
            raise UnsupportedError(f"node {node_name(node)!r}: Resize of batch/channel axes is not supported")
        sc = (scales[2], scales[3])
        out = (int(math.floor(shape[2] * sc[0])), int(math.floor(shape[3] * sc[1])))
    if out[0] <= 0 or out[1] <= 0:
        raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): output size {list(out)} is empty")
    if ctm not in ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                   "tf_half_pixel_for_nn", "tf_crop_and_resize"):
        raise invalid(node, "coordinate_transformation_mode", ctm, "is not a mode of the ONNX spec")
    if mode == "nearest" and nmode not in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        raise invalid(node, "nearest_mode", nmode, "is not one of round_prefer_floor, round_prefer_ceil, "
                                                   "floor, ceil")
    if ctm == "tf_crop_and_resize":
        raise UnsupportedError(f"node {node_name(node)!r}: Resize tf_crop_and_resize is not supported")
    if legacy and mode == "nearest":
        # Upsample and Resize-10 (onnxruntime): per axis, floor when upsampling and ceil when downsampling
        rounding = ["ceil" if s < 1 else "floor" for s in sc]
        if rounding[0] != rounding[1]:  # nearest is separable: resize H, then W
            mid = node.output[0] + "__rows"
            ctx.emit(node, O.Resize((out[0], shape[3]), (sc[0], 1.0), mode, ctm, rounding[0]), [x], [mid],
                     "/rows")
            ctx.emit(node, O.Resize(out, (1.0, sc[1]), mode, ctm, rounding[1]), [mid], [node.output[0]])
            return
        nmode = rounding[0]
    ctx.emit(node, O.Resize(out, sc, mode, ctm, nmode), [x])


@handles("ReduceMean")
def _reducemean(ctx, node, a):
    if "axes" in a:
        axes = tuple(int(x) for x in a["axes"])
    elif len(node.input) > 1 and node.input[1]:
        axes = tuple(int(x) for x in ctx.const(node.input[1], node))
    else:
        axes = ()
    if not axes and int(a.get("noop_with_empty_axes", 0)):
        return _identity(ctx, node, a)
    axes_attr(node, "axes", axes, ctx.type(node.input[0]).rank)
    ctx.emit(node, O.ReduceMean(axes, bool(a.get("keepdims", 1))), [node.input[0]])
