"""Load-time evaluation of ONNX nodes whose inputs are all constants (shape arithmetic and friends).

Each function takes (node, input arrays, ctx) and returns an array or a list of arrays; ``None`` stands for an
omitted optional input. Semantics follow the ONNX operator specification.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError

_ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
                10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64, 4: np.uint16}


def attr_dict(node) -> dict:
    from cnncc.frontend.onnx import proto as helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _np_dtype(code: int):
    if code not in _ONNX_DTYPES:
        raise UnsupportedError(f"ONNX element type {code} is not supported")
    return _ONNX_DTYPES[code]


def _constant(node, vals, ctx):
    from cnncc.frontend.onnx import proto as numpy_helper

    a = attr_dict(node)
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    for key, dt in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                    ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dt)
    raise UnsupportedError(f"Constant node {node.name or node.output[0]!r}: unsupported value attribute")


def _shape(node, vals, ctx):
    a = attr_dict(node)
    s = np.array(vals[0].shape, np.int64)
    return s[a.get("start", 0):a.get("end", len(s))] if ("start" in a or "end" in a) else s


#: largest constant (elements) evaluated at load time: shape arithmetic never needs more
MAX_CONST_ELEMENTS = 1 << 26


def _size_guard(shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape) or math.prod(shape) > MAX_CONST_ELEMENTS:
        raise InvalidModelError(f"constant of shape {shape} is negative or too large to build at load time "
                                f"(limit {MAX_CONST_ELEMENTS} elements)")
    return shape


def _bcast(*arrays) -> tuple[int, ...]:
    """The broadcast shape of ``arrays`` (InvalidModelError when they do not broadcast or it is too large)."""
    try:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays if a is not None))
    except ValueError:
        raise InvalidModelError(f"constant shapes {[list(np.shape(a)) for a in arrays]} do not broadcast") from None
    return _size_guard(shape)


def _axes_in_range(node, axes, rank: int) -> list[int]:
    """Distinct axes in [-rank, rank), normalised."""
    out = []
    for ax in axes:
        if not -rank <= ax < rank:
            raise InvalidModelError(f"node {node.name or node.output[0]!r} ({node.op_type}): attribute "
                                    f"axes={list(axes)} is out of range for rank {rank}")
        out.append(ax % rank)
    if len(set(out)) != len(out):
        raise InvalidModelError(f"node {node.name or node.output[0]!r} ({node.op_type}): attribute "
                                f"axes={list(axes)} repeats an axis")
    return out


def _cos(node, vals, ctx):
    from cnncc.frontend.onnx import proto as numpy_helper

    a = attr_dict(node)
    v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
    return np.full(_size_guard(vals[0]), v.reshape(-1)[0], v.dtype)


def _reshape(node, vals, ctx):
    x, shape = vals[0], [int(d) for d in vals[1]]
    allowzero = attr_dict(node).get("allowzero", 0)
    out = [x.shape[i] if (d == 0 and not allowzero) else d for i, d in enumerate(shape)]
    if out.count(-1) > 1:
        raise InvalidModelError(f"Reshape {node.name!r}: more than one -1 in {shape}")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or x.size % known:
            raise InvalidModelError(f"Reshape {node.name!r}: cannot reshape {x.shape} to {shape}")
        out[out.index(-1)] = x.size // known
    if math.prod(out) != x.size:
        raise InvalidModelError(f"Reshape {node.name!r}: cannot reshape {x.shape} to {shape}")
    return x.reshape(out)


def _axes(node, vals, idx=1):
    a = attr_dict(node)
    if "axes" in a:
        return [int(x) for x in a["axes"]]
    if len(vals) > idx and vals[idx] is not None:
        return [int(x) for x in np.asarray(vals[idx]).reshape(-1)]
    return None


def _unsqueeze(node, vals, ctx):
    x = vals[0]
    axes = _axes(node, vals)
    if axes is None:
        raise InvalidModelError(f"node {node.name or node.output[0]!r} (Unsqueeze): axes missing")
    rank = x.ndim + len(axes)
    shape = list(x.shape)
    for ax in sorted(_axes_in_range(node, axes, rank)):
        shape.insert(ax, 1)
    return x.reshape(shape)


def _squeeze(node, vals, ctx):
    x = vals[0]
    axes = _axes(node, vals)
    if axes is None:
        return x.reshape([d for d in x.shape if d != 1])
    axes = set(_axes_in_range(node, axes, x.ndim))
    if any(x.shape[a] != 1 for a in axes):
        raise InvalidModelError(f"node {node.name or node.output[0]!r} (Squeeze): axes {sorted(axes)} of shape "
                                f"{list(x.shape)} are not all of length 1")
    return x.reshape([d for i, d in enumerate(x.shape) if i not in axes])


def slice_params(node, a, vals, shape, opset):
    """Normalised (starts, ends, axes, steps) with ONNX clamping; ``vals`` = [starts, ends, axes, steps]."""
    if opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = [int(v) for v in vals[0]], [int(v) for v in vals[1]]
        axes = [int(v) for v in vals[2]] if len(vals) > 2 and vals[2] is not None else list(range(len(starts)))
        steps = [int(v) for v in vals[3]] if len(vals) > 3 and vals[3] is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise InvalidModelError(f"Slice {node.name!r}: starts/ends/axes/steps have different lengths "
                                f"{len(starts)}/{len(ends)}/{len(axes)}/{len(steps)}")
    out = ([], [], [], [])
    for st, en, ax, sp in zip(starts, ends, _axes_in_range(node, [int(v) for v in axes], len(shape)), steps):
        d = shape[ax]
        if sp == 0:
            raise InvalidModelError(f"Slice {node.name!r}: step 0")
        st = st + d if st < 0 else st
        en = en + d if en < 0 else en
        if sp > 0:
            st, en = min(max(st, 0), d), min(max(en, 0), d)
        else:
            st, en = min(max(st, 0), d - 1), min(max(en, -1), d - 1)
        out[0].append(st)
        out[1].append(en)
        out[2].append(ax)
        out[3].append(sp)
    return tuple(tuple(v) for v in out)


def _slice(node, vals, ctx):
    x = vals[0]
    starts, ends, axes, steps = slice_params(node, attr_dict(node), vals[1:], x.shape, ctx.opset)
    sl = [slice(None)] * x.ndim
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        sl[ax] = slice(st, None if en < 0 else en, sp)
    return x[tuple(sl)]


def _gather(node, vals, ctx):
    x, idx = vals[0], np.asarray(vals[1]).astype(np.int64)
    (axis,) = _axes_in_range(node, [int(attr_dict(node).get("axis", 0))], max(x.ndim, 1))
    _size_guard(x.shape[:axis] + idx.shape + x.shape[axis + 1:])
    if idx.size and (idx.min() < -x.shape[axis] or idx.max() >= x.shape[axis]):
        raise InvalidModelError(f"Gather {node.name!r}: indices out of range for axis {axis} of {list(x.shape)}")
    return np.take(x, idx, axis=axis)


def _concat(node, vals, ctx):
    parts = [np.asarray(v) for v in vals if v is not None]
    _size_guard((sum(p.size for p in parts),))
    return np.concatenate(parts, axis=attr_dict(node).get("axis", 0))


def _cast(node, vals, ctx):
    return vals[0].astype(_np_dtype(attr_dict(node)["to"]))


def _range(node, vals, ctx):
    start, limit, delta = (np.asarray(v).reshape(()) for v in vals)
    if delta == 0 or not all(np.isfinite(v) for v in (start, limit, delta)):
        raise InvalidModelError(f"Range {node.name!r}: delta 0 or a non-finite bound")
    n = max(int(math.ceil((float(limit) - float(start)) / float(delta))), 0)
    _size_guard((n,))
    return (start + delta * np.arange(n)).astype(np.asarray(vals[0]).dtype)


def _div(node, vals, ctx):
    a, b = vals
    _bcast(a, b)
    if np.issubdtype(a.dtype, np.integer):
        if np.any(np.asarray(b) == 0):
            raise InvalidModelError(f"Div {node.name!r}: integer division by zero in a constant")
        return (np.trunc(a / b)).astype(a.dtype)
    return (a / b).astype(a.dtype)


def _binop(fn):
    def run(node, vals, ctx):
        _bcast(vals[0], vals[1])
        if fn in (np.equal, np.less, np.greater, np.logical_and, np.logical_or):
            return fn(vals[0], vals[1])
        return fn(vals[0], vals[1]).astype(np.result_type(vals[0], vals[1]))

    return run


def _nary(fn):
    def run(node, vals, ctx):
        present = [v for v in vals if v is not None]
        _bcast(*present)
        return fn(*present)

    return run


def _expand(node, vals, ctx):
    target = _size_guard(tuple(int(d) for d in np.asarray(vals[1]).reshape(-1)))
    return np.broadcast_to(vals[0], _bcast(vals[0], np.empty(target, np.uint8))).copy()


def _split(node, vals, ctx):
    a = attr_dict(node)
    x = vals[0]
    axis = a.get("axis", 0)
    if "split" in a:
        sizes = list(a["split"])
    elif len(vals) > 1 and vals[1] is not None:
        sizes = [int(s) for s in vals[1]]
    else:
        n = a.get("num_outputs", len(node.output))
        chunk = -(-x.shape[axis] // n)
        sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(n)]
    return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _reduce(fn):
    def run(node, vals, ctx):
        a = attr_dict(node)
        axes = _axes(node, vals)
        keep = bool(a.get("keepdims", 1))
        return fn(vals[0], axis=None if not axes else tuple(axes), keepdims=keep)

    return run


def _tile(node, vals, ctx):
    reps = [int(r) for r in np.asarray(vals[1]).reshape(-1)]
    if len(reps) != vals[0].ndim:
        raise InvalidModelError(f"Tile {node.name!r}: {len(reps)} repeats for a rank-{vals[0].ndim} input")
    _size_guard(tuple(d * r for d, r in zip(vals[0].shape, reps)))
    return np.tile(vals[0], reps)


def _transpose(node, vals, ctx):
    return np.transpose(vals[0], attr_dict(node).get("perm") or None)


def _flatten(node, vals, ctx):
    ax = attr_dict(node).get("axis", 1)
    x = vals[0]
    ax = ax % (x.ndim + 1) if ax < 0 else ax
    return x.reshape(math.prod(x.shape[:ax]), -1)


CONST_OPS = {
    "Constant": _constant,
    "Shape": _shape,
    "Size": lambda node, vals, ctx: np.array(vals[0].size, np.int64),
    "ConstantOfShape": _cos,
    "Reshape": _reshape,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Slice": _slice,
    "Gather": _gather,
    "Concat": _concat,
    "Cast": _cast,
    "Range": _range,
    "Add": _binop(np.add),
    "Sub": _binop(np.subtract),
    "Mul": _binop(np.multiply),
    "Div": _div,
    "Pow": _binop(np.power),
    "Equal": _binop(np.equal),
    "Less": _binop(np.less),
    "Greater": _binop(np.greater),
    "And": _binop(np.logical_and),
    "Or": _binop(np.logical_or),
    "Not": lambda node, vals, ctx: np.logical_not(vals[0]),
    "Where": _nary(np.where),
    "Min": _nary(lambda *vs: functools.reduce(np.minimum, vs)),
    "Max": _nary(lambda *vs: functools.reduce(np.maximum, vs)),
    "Neg": lambda node, vals, ctx: -vals[0],
    "Abs": lambda node, vals, ctx: np.abs(vals[0]),
    "Floor": lambda node, vals, ctx: np.floor(vals[0]),
    "Ceil": lambda node, vals, ctx: np.ceil(vals[0]),
    "Sqrt": lambda node, vals, ctx: np.sqrt(vals[0]),
    "Reciprocal": lambda node, vals, ctx: (1 / vals[0]).astype(vals[0].dtype),
    "Identity": lambda node, vals, ctx: vals[0],
    "Expand": _expand,
    "Split": _split,
    "ReduceProd": _reduce(np.prod),
    "ReduceSum": _reduce(np.sum),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
    "Tile": _tile,
    "Transpose": _transpose,
    "Flatten": _flatten,
}
