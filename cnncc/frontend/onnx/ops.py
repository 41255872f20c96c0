"""The ONNX op table: one handler per op type, turning a node into IR layers (or a load-time constant)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.frontend.onnx.const_eval import CONST_OPS, attr_dict
from cnncc.ir import ops as O
from cnncc.ir.graph import Layer
from cnncc.ir.types import MAX_ELEMENTS, TensorType

HANDLERS: dict[str, Callable] = {}


def handles(*op_types):
    def deco(fn):
        for t in op_types:
            HANDLERS[t] = fn
        return fn

    return deco


@dataclass
class Context:
    opset: int
    types: dict[str, TensorType]
    consts: dict[str, np.ndarray]
    graph_outputs: list[str]
    layers: list[Layer] = field(default_factory=list)
    alias: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def resolve(self, t: str) -> str:
        while t in self.alias:
            t = self.alias[t]
        return t

    def type(self, t: str) -> TensorType:
        t = self.resolve(t)
        if t in self.types:
            return self.types[t]
        a = self.consts[t]
        return TensorType(tuple(int(d) for d in a.shape), "float32")

    def is_const(self, t: str) -> bool:
        return self.resolve(t) in self.consts

    def const(self, t: str, node) -> np.ndarray:
        t = self.resolve(t)
        if t not in self.consts:
            raise UnsupportedError(f"node {node_name(node)!r} ({node.op_type}): input {t!r} must be a "
                                   f"constant known at load time")
        return self.consts[t]

    def emit(self, node, op: O.Op, inputs: list[str], outputs: list[str] | None = None,
             suffix: str = "") -> list[str]:
        """Append a layer for ``node``; infer and record its output types; return the output names."""
        inputs = [self.resolve(t) for t in inputs]
        outputs = list(outputs if outputs is not None else [o for o in node.output if o])
        base = node_name(node) + suffix
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        ins = [self.type(t) for t in inputs]
        outs = op.infer(ins)
        for t, ty in zip(outputs, outs):
            if ty.numel > MAX_ELEMENTS:
                raise InvalidModelError(f"node {name!r} would produce {ty.numel} elements; refused")
            self.types[t] = ty
        self.layers.append(Layer(name, op, tuple(inputs), tuple(outputs), (node_name(node),)))
        return outputs


def node_name(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def convert_node(ctx: Context, node) -> None:
    """Fold ``node`` to a constant when all its inputs are constants (or it only reads a shape), else emit IR."""
    ins = [t for t in node.input]
    if node.op_type == "Constant":
        ctx.consts[node.output[0]] = CONST_OPS["Constant"](node, [], ctx)
        return
    if node.op_type in ("Shape", "Size") and ins and not ctx.is_const(ins[0]):
        ctx.consts[node.output[0]] = CONST_OPS[node.op_type](node, [np.empty(ctx.type(ins[0]).shape, np.uint8)],
                                                             ctx)
        return
    present = [t for t in ins if t]
    if node.op_type in ("Identity", "Dropout") and present and ctx.is_const(present[0]) and \
            node.output[0] not in ctx.graph_outputs and not any(node.output[1:]):
        ctx.alias[node.output[0]] = ctx.resolve(present[0])  # weights keep their initializer's name
        return
    if node.op_type in CONST_OPS and all(ctx.is_const(t) for t in present) and \
            not any(o in ctx.graph_outputs for o in node.output):
        vals = [ctx.consts[ctx.resolve(t)] if t else None for t in ins]
        res = CONST_OPS[node.op_type](node, vals, ctx)
        res = res if isinstance(res, list) else [res]
        for o, v in zip(node.output, res):
            if o:
                ctx.consts[o] = np.asarray(v)
        return
    handler = HANDLERS.get(node.op_type)
    if handler is None:
        raise UnsupportedError.op(node.op_type, node_name(node), "cnncc")
    handler(ctx, node, attr_dict(node))


# ------------------------------------------------------------------------------------------------ helpers
def _pads2d(ctx, node, a, x_hw, kernel, strides, dilations) -> tuple[int, int, int, int]:
    auto = a.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("NOTSET", ""):
        p = list(a.get("pads", [0, 0, 0, 0]))
        if len(p) != 4:
            raise UnsupportedError(f"node {node_name(node)!r}: only 2-D {node.op_type} is supported")
        return (p[0], p[1], p[2], p[3])
    if auto == "VALID":
        return (0, 0, 0, 0)
    out = []
    for size, k, s, d in zip(x_hw, kernel, strides, dilations):
        o = -(-size // s)
        total = max(0, (o - 1) * s + d * (k - 1) + 1 - size)
        lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
        out.append((lo, total - lo))
    return (out[0][0], out[1][0], out[0][1], out[1][1])


def _spatial(node, a, key, default):
    v = tuple(a.get(key, default))
    if len(v) != 2:
        raise UnsupportedError(f"node {node_name(node)!r}: only 2-D {node.op_type} is supported "
                               f"({key}={list(v)})")
    return v


def _check_window(node, kernel, strides, dilations, pads, groups=1):
    """Kernel, strides, dilations and groups must be >= 1 and pads >= 0."""
    for key, vals, least in (("kernel_shape", kernel, 1), ("strides", strides, 1), ("dilations", dilations, 1),
                             ("pads", pads, 0), ("group", (groups,), 1)):
        if any(int(v) < least for v in vals):
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): {key}={list(vals)} must be "
                                    f">= {least}")


def _check_4d(ctx, node, t):
    if ctx.type(t).rank != 4:
        raise UnsupportedError(f"node {node_name(node)!r}: {node.op_type} on a rank-{ctx.type(t).rank} "
                               f"tensor is not supported (2-D spatial NCHW only)")


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
    _check_window(node, kernel, strides, dil, (), int(a.get("group", 1)))
    pads = _pads2d(ctx, node, a, ctx.type(x).shape[2:], kernel, strides, dil)
    _check_window(node, kernel, strides, dil, pads)
    ins = [x, w] + ([node.input[2]] if len(node.input) > 2 and node.input[2] else [])
    for t in ins[1:]:
        ctx.const(t, node)
    ctx.emit(node, O.Conv(kernel, strides, dil, pads, int(a.get("group", 1))), ins)


@handles("ConvTranspose")
def _convt(ctx, node, a):
    x, w = node.input[0], node.input[1]
    _check_4d(ctx, node, x)
    wv = ctx.const(w, node)
    kernel = _spatial(node, a, "kernel_shape", wv.shape[2:])
    strides = _spatial(node, a, "strides", (1, 1))
    dil = _spatial(node, a, "dilations", (1, 1))
    outpad = tuple(a.get("output_padding", (0, 0)))
    _check_window(node, kernel, strides, dil, outpad, int(a.get("group", 1)))
    h, wd = ctx.type(x).shape[2:]
    if "output_shape" in a:
        pads = []
        outs = list(a["output_shape"])[-2:]
        for i, (size, o) in enumerate(zip((h, wd), outs)):
            total = strides[i] * (size - 1) + outpad[i] + (kernel[i] - 1) * dil[i] + 1 - o
            auto = a.get("auto_pad", b"NOTSET")
            upper = auto in (b"SAME_UPPER", "SAME_UPPER")  # ONNX: only SAME_UPPER puts the extra pad last
            lo = total // 2 if upper else total - total // 2
            pads.append((lo, total - lo))
        p = (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
    else:
        auto = a.get("auto_pad", "NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            tot = [max(0, strides[i] * ((h, wd)[i] - 1) + outpad[i] + (kernel[i] - 1) * dil[i] + 1
                       - (h, wd)[i] * strides[i]) for i in range(2)]
            lo = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in tot]
            p = (lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1])
        else:
            p = tuple(a.get("pads", (0, 0, 0, 0)))
    ins = [x, w] + ([node.input[2]] if len(node.input) > 2 and node.input[2] else [])
    _check_window(node, kernel, strides, dil, p)
    ctx.emit(node, O.ConvTranspose(kernel, strides, dil, p, outpad, int(a.get("group", 1))), ins)


@handles("Gemm")
def _gemm(ctx, node, a):
    ins = [t for t in node.input if t]
    ctx.emit(node, O.Gemm(bool(a.get("transA", 0)), bool(a.get("transB", 0)), float(a.get("alpha", 1.0)),
                          float(a.get("beta", 1.0))), ins)


@handles("MatMul")
def _matmul(ctx, node, a):
    ctx.emit(node, O.MatMul(), list(node.input))


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
    if node.op_type == "MaxPool":
        op = O.MaxPool(kernel, strides, dil, pads, ceil)
    else:
        op = O.AveragePool(kernel, strides, dil, pads, ceil, bool(a.get("count_include_pad", 0)))
    ctx.emit(node, op, [x], [node.output[0]])


@handles("GlobalAveragePool")
def _gap(ctx, node, a):
    ctx.emit(node, O.GlobalAveragePool(), [node.input[0]])


@handles("GlobalMaxPool")
def _gmp(ctx, node, a):
    ctx.emit(node, O.GlobalMaxPool(), [node.input[0]])


@handles("LRN")
def _lrn(ctx, node, a):
    ctx.emit(node, O.LRN(int(a["size"]), float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)),
                         float(a.get("bias", 1.0))), [node.input[0]])


@handles("BatchNormalization")
def _bn(ctx, node, a):
    if any(o for o in node.output[1:]):
        raise UnsupportedError(f"node {node_name(node)!r}: BatchNormalization in training mode is not supported")
    for t in node.input[1:5]:
        ctx.const(t, node)
    ctx.emit(node, O.BatchNormalization(float(a.get("epsilon", 1e-5))), list(node.input[:5]), [node.output[0]])


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


@handles("HardSigmoid")
def _hsig(ctx, node, a):
    ctx.emit(node, O.HardSigmoid(float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))), [node.input[0]])


@handles("Clip")
def _clip(ctx, node, a):
    if ctx.opset < 11:
        lo, hi = float(a.get("min", -math.inf)), float(a.get("max", math.inf))
    else:
        lo = float(ctx.const(node.input[1], node)) if len(node.input) > 1 and node.input[1] else -math.inf
        hi = float(ctx.const(node.input[2], node)) if len(node.input) > 2 and node.input[2] else math.inf
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
    ctx.emit(node, O.Concat(int(a.get("axis", 1))), [t for t in node.input if t])


@handles("Split")
def _split(ctx, node, a):
    x = node.input[0]
    shape = ctx.type(x).shape
    axis = int(a.get("axis", 0)) % len(shape)
    outs = [o for o in node.output]
    if "split" in a:
        sizes = tuple(int(s) for s in a["split"])
    elif len(node.input) > 1 and node.input[1]:
        sizes = tuple(int(s) for s in ctx.const(node.input[1], node))
    else:
        n = int(a.get("num_outputs", len(outs)))
        chunk = -(-shape[axis] // n)
        sizes = tuple(min(chunk, shape[axis] - i * chunk) for i in range(n))
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
        ctx.emit(node, O.Flatten(int(a.get("axis", 1))), [x])
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
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if ctx.opset < 11:
        pads, value = tuple(int(p) for p in a["pads"]), float(a.get("value", 0.0))
    else:
        pads = tuple(int(p) for p in ctx.const(node.input[1], node))
        value = float(ctx.const(node.input[2], node)) if len(node.input) > 2 and node.input[2] else 0.0
        if len(node.input) > 3 and node.input[3]:
            axes = [int(ax) % rank for ax in ctx.const(node.input[3], node)]
            full = [0] * (2 * rank)
            for i, ax in enumerate(axes):
                full[ax], full[ax + rank] = pads[i], pads[i + len(axes)]
            pads = tuple(full)
    ctx.emit(node, O.Pad(pads, mode, value), [x])


@handles("Softmax")
def _softmax(ctx, node, a):
    x = node.input[0]
    shape = ctx.type(x).shape
    if ctx.opset >= 13:
        ctx.emit(node, O.Softmax(int(a.get("axis", -1))), [x])
        return
    axis = int(a.get("axis", 1)) % len(shape)
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
        sizes = [int(s) for s in sizes]
        if sizes[:2] != list(shape[:2]):
            raise UnsupportedError(f"node {node_name(node)!r}: Resize of batch/channel axes is not supported")
        out = (sizes[2], sizes[3])
        sc = (out[0] / shape[2], out[1] / shape[3])
    else:
        scales = [float(s) for s in scales]
        if scales[:2] != [1.0, 1.0]:
            raise UnsupportedError(f"node {node_name(node)!r}: Resize of batch/channel axes is not supported")
        sc = (scales[2], scales[3])
        out = (int(math.floor(shape[2] * sc[0])), int(math.floor(shape[3] * sc[1])))
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
    ctx.emit(node, O.ReduceMean(axes, bool(a.get("keepdims", 1))), [node.input[0]])
