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
        for t in inputs:
            if t in self.consts and self.consts[t].dtype.kind not in "fiuc":
                raise UnsupportedError(f"node {name!r} ({node.op_type}): weight {t!r} has element type "
                                       f"{_dtype_word(self.consts[t])}; only numeric weights are supported")
        ins = [self.type(t) for t in inputs]
        try:
            outs = op.infer(ins)
        except InvalidModelError as e:
            raise InvalidModelError(f"node {name!r} ({node.op_type}): {e}") from None
        for t, ty in zip(outputs, outs):
            if ty.numel > MAX_ELEMENTS:
                raise InvalidModelError(f"node {name!r} would produce {ty.numel} elements; refused")
            self.types[t] = ty
        self.layers.append(Layer(name, op, tuple(inputs), tuple(outputs), (node_name(node),)))
        return outputs


def node_name(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def _dtype_word(a: np.ndarray) -> str:
    return {"O": "string", "S": "string", "U": "string", "b": "bool"}.get(a.dtype.kind, str(a.dtype))


def invalid(node, key: str, value, why: str) -> InvalidModelError:
    """The error for an attribute the ONNX spec does not allow: names the node, the attribute and why."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): attribute {key}={value!r} {why}")


def enum_attr(node, a: dict, key: str, default: str, allowed: tuple[str, ...]) -> str:
    """A string attribute that must be one of ``allowed`` (InvalidModelError otherwise)."""
    v = a.get(key, default)
    v = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    if v not in allowed:
        raise invalid(node, key, v, f"is not one of {', '.join(x for x in allowed if x)}")
    return v


def axis_attr(node, key: str, axis: int, rank: int) -> int:
    """An axis in [-rank, rank-1], normalised to [0, rank) (InvalidModelError otherwise)."""
    axis = int(axis)
    if not -rank <= axis < rank:
        raise invalid(node, key, axis, f"is out of range for a rank-{rank} input")
    return axis % rank


def axes_attr(node, key: str, axes, rank: int) -> tuple[int, ...]:
    """Distinct axes in range, normalised to [0, rank)."""
    out = tuple(axis_attr(node, key, ax, rank) for ax in axes)
    if len(set(out)) != len(out):
        raise invalid(node, key, [int(x) for x in axes], "repeats an axis")
    return out


def scalar(node, t: str, v: np.ndarray) -> float:
    """A one-element constant as a float (InvalidModelError for anything else)."""
    v = np.asarray(v)
    if v.size != 1 or v.dtype.kind not in "fiub":
        raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): input {t!r} must be a scalar, "
                                f"got shape {list(v.shape)} of {_dtype_word(v)}")
    return float(v.reshape(-1)[0])


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
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                res = CONST_OPS[node.op_type](node, vals, ctx)
        except FloatingPointError as e:
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): {e} while evaluating "
                                    f"constants at load time") from None
        except InvalidModelError as e:
            msg = str(e)
            if msg.startswith("node "):
                raise
            msg = msg.removeprefix(f"{node.op_type} {node.name!r}: ")
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): {msg}") from None
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
AUTO_PAD = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _auto_pad(node, a) -> str:
    auto = enum_attr(node, a, "auto_pad", "NOTSET", AUTO_PAD + ("",))
    auto = auto or "NOTSET"
    if auto != "NOTSET" and "pads" in a:
        raise invalid(node, "pads", list(a["pads"]), f"cannot be given together with auto_pad={auto}")
    return auto


def _pads2d(ctx, node, a, x_hw, kernel, strides, dilations) -> tuple[int, int, int, int]:
    auto = _auto_pad(node, a)
    if auto == "NOTSET":
        p = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        if len(p) != 4:
            raise UnsupportedError(f"node {node_name(node)!r}: only 2-D {node.op_type} is supported "
                                   f"(pads={p})")
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


#: largest kernel, stride, dilation or pad cnncc accepts (no real CNN comes near; the cost models and the
#: interpreter index with them)
MAX_WINDOW = 1 << 16


def _check_window(node, kernel, strides, dilations, pads, groups=1):
    """Kernel, strides, dilations and groups must be >= 1 and pads >= 0; none may exceed MAX_WINDOW."""
    for key, vals, least in (("kernel_shape", kernel, 1), ("strides", strides, 1), ("dilations", dilations, 1),
                             ("pads", pads, 0), ("group", (groups,), 1)):
        if any(int(v) < least for v in vals):
            raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): {key}={list(vals)} must be "
                                    f">= {least}")
        if key not in ("strides", "group") and any(int(v) > MAX_WINDOW for v in vals):
            raise UnsupportedError(f"node {node_name(node)!r} ({node.op_type}): {key}={list(vals)} is over "
                                   f"cnncc's limit of {MAX_WINDOW}")


def _canonical_strides(x_hw, kernel, strides, dilations, pads) -> tuple[int, int]:
    """Strides with the same outputs: a stride beyond the padded input extent gives one output position, as
    that extent itself does, so a stride of 10**18 becomes the extent (ordinary strides are kept as they are)."""
    out = []
    for i, (size, s) in enumerate(zip(x_hw, strides)):
        extent = size + pads[i] + pads[i + 2]
        out.append(int(s) if s <= extent else max(1, extent))
    return out[0], out[1]


def _check_4d(ctx, node, t):
    ty = ctx.type(t)
    if ty.rank < 3 and node.op_type.startswith("Global"):
        raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): input {t!r} has rank {ty.rank}; "
                                f"the op needs N x C x D1 x ... (rank >= 3)")
    if ty.rank != 4:
        raise UnsupportedError(f"node {node_name(node)!r}: {node.op_type} on a rank-{ty.rank} "
                               f"tensor is not supported (2-D spatial NCHW only)")
    if ty.shape[0] != 1:
        raise UnsupportedError(f"node {node_name(node)!r}: {node.op_type} on batch {ty.shape[0]} (input "
                               f"{t!r} of shape {list(ty.shape)}) is not supported: cnncc compiles batch 1")


def _bias(ctx, node, t: str, k: int) -> None:
    b = ctx.const(t, node)
    if tuple(b.shape) != (k,):
        raise InvalidModelError(f"node {node_name(node)!r} ({node.op_type}): bias {t!r} has shape "
                                f"{list(b.shape)}, expected [{k}]")


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
