"""The ONNX op table: one handler per op type, turning a node into IR layers (or a load-time constant)."""

from __future__ import annotations

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


# the handlers register themselves in HANDLERS when their modules load
from cnncc.frontend.onnx import ops_move, ops_nn  # noqa: E402,F401
