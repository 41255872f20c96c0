"""ONNX -> layer IR.

Reads real exported graphs: weights as initializers, ``Constant`` nodes or ``Identity`` of initializers; opsets
7–23; shape arithmetic (Shape, Gather, Unsqueeze, Cast, Range, ConstantOfShape, …) evaluated at load time so it
never reaches the IR; shapes inferred by cnncc itself (onnx's shape inference is not needed). Symbolic batch
dimensions are bound to 1; other symbolic dimensions must be fixed with ``input_shapes``. External data is
loaded only from inside the model's own folder.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cnncc.errors import CnnccError, InvalidModelError, IRVerifyError, UnsupportedError
from cnncc.ir.graph import Graph, Layer, WeightTable
from cnncc.ir.types import MAX_ELEMENTS, TensorType, tensor_type

MIN_OPSET, MAX_OPSET = 7, 23

_FLOAT_TYPES = {1: "float32", 10: "float32", 11: "float32", 16: "float32"}  # float, f16, double, bf16 -> f32
_INT_TYPES = {6: "int32", 7: "int64", 3: "int8", 2: "uint8", 9: "bool"}


def parse_shape(text: str) -> tuple[int, ...]:
    """``1x3x224x224`` -> (1, 3, 224, 224); raises InvalidModelError on bad text or non-positive dims."""
    try:
        dims = tuple(int(d) for d in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise InvalidModelError(f"bad shape {text!r}; expected e.g. 1x3x224x224") from None
    if not dims or any(d <= 0 for d in dims):
        raise InvalidModelError(f"bad shape {text!r}: dimensions must be positive")
    return dims


#: Largest model file read (bytes): the protobuf format's limit for one message (2 GiB; onnx and onnxruntime
#: refuse larger files too), so a model cnncc reads is one the other tools read.
MAX_MODEL_BYTES = 2**31 - 1


def _regular_file(path: Path, what: str) -> int:
    """The size in bytes of ``path`` after checking it is a regular file (not a FIFO, device or folder)."""
    from cnncc.fileio import regular_file_size

    return regular_file_size(path, what)


def _read_bounded(path: Path, offset: int, length: int) -> bytes:
    """Exactly ``length`` bytes of a regular file from ``offset`` (never more, whatever the file holds)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except OSError as e:
        raise InvalidModelError(f"{path}: cannot read: {e.strerror}") from None
    if len(data) != length:
        raise InvalidModelError(f"{path}: file shorter than expected ({len(data)} of {length} bytes)")
    return data


def _read_model(path: Path):
    """The decoded ``ModelProto`` of an ``.onnx`` file, external data loaded (``wire.decode_model``: no protobuf
    import, start-up time); InvalidModelError when it is not a well-formed ONNX protobuf."""
    from cnncc.frontend.onnx.wire import WireError, decode_model

    if "\0" in str(path):
        raise InvalidModelError(f"{str(path)!r}: a NUL byte in the path")
    size = _regular_file(path, "an .onnx file")
    if size > MAX_MODEL_BYTES:
        raise InvalidModelError(f"{path}: {size} bytes, over the {MAX_MODEL_BYTES}-byte limit of an ONNX file "
                                f"(put the weights in external data)")
    data = _read_bounded(path, 0, size)
    if not data:
        raise InvalidModelError(f"{path}: empty file, not an ONNX model")
    try:
        model = decode_model(data)
    except WireError as e:
        raise InvalidModelError(f"{path}: not an ONNX model or truncated ({e})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise InvalidModelError(f"{path}: not an ONNX model (no graph or no nodes)")
    _load_external(model, path)
    return model


_ELEM_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


def _expected_bytes(t, path: Path) -> int:
    """The payload size (bytes) a tensor's dims and element type call for; refuses oversized tensors."""
    if t.data_type not in _ELEM_BYTES:
        raise UnsupportedError(f"{path}: tensor {t.name!r} with external data has element type {t.data_type}, "
                               f"not supported")
    if any(d < 0 for d in t.dims):
        raise InvalidModelError(f"{path}: tensor {t.name!r} has a negative dimension {list(t.dims)}")
    n = math.prod(t.dims)
    if n > MAX_ELEMENTS:
        raise InvalidModelError(f"{path}: tensor {t.name!r} has {n} elements (limit {MAX_ELEMENTS}); refused")
    return n * _ELEM_BYTES[t.data_type]


def _load_external(model, path: Path) -> None:
    """Load external tensor data, refusing any location outside the model's folder; reads exactly the bytes
    the tensor's dims and element type call for (a longer ``length`` or file is refused, never read)."""
    from cnncc.frontend.onnx import proto as edh

    base = path.parent.resolve()
    tensors = list(edh._get_all_tensors(model))
    ext = [t for t in tensors if edh.uses_external_data(t)]
    for t in ext:
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        if not loc or "\0" in loc:
            raise InvalidModelError(f"{path}: external data location {loc!r} of tensor {t.name!r} is empty or "
                                    f"has a NUL byte; refused")
        target = (base / loc).resolve()
        if os.path.isabs(loc) or not str(target).startswith(str(base) + os.sep):
            raise InvalidModelError(f"{path}: external data {loc!r} of tensor {t.name!r} lies outside the "
                                    f"model's folder; refused")
        if not target.exists():
            raise InvalidModelError(f"{path}: external data file {loc!r} of tensor {t.name!r} not found")
        size = _regular_file(target, f"the external data of tensor {t.name!r}")
        try:
            offset = int(info.get("offset", 0))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise InvalidModelError(f"{path}: external data of tensor {t.name!r} has a bad offset/length") from None
        if offset < 0 or (length is not None and length < 0):
            raise InvalidModelError(f"{path}: external data of tensor {t.name!r} has a negative offset/length")
        want = _expected_bytes(t, path)
        if length is not None and length != want:
            raise InvalidModelError(f"{path}: external data of tensor {t.name!r} has length {length}, its dims "
                                    f"{list(t.dims)} need {want} bytes")
        if offset + want > size:
            raise InvalidModelError(f"{path}: external data of {t.name!r} extends past the end of {loc!r}")
        t.raw_data = _read_bounded(target, offset, want)
        del t.external_data[:]
        t.data_location = 0


def _opset(model) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return 1


def _input_types(graph, init_names: set[str], input_shapes: Mapping[str, tuple[int, ...]]) -> dict:
    types: dict[str, TensorType] = {}
    seen: set[str] = set()
    for vi in graph.input:
        if vi.name in seen or not vi.name:
            raise InvalidModelError(f"graph input {vi.name!r} is listed twice" if vi.name else
                                    "a graph input has an empty name")
        seen.add(vi.name)
        if vi.name in init_names:  # an initializer listed as an input (old exporters): a weight
            continue
        tt = vi.type.tensor_type
        elem = tt.elem_type
        dtype = _FLOAT_TYPES.get(elem) or _INT_TYPES.get(elem)
        if dtype is None:
            raise UnsupportedError(f"graph input {vi.name!r} has unsupported element type {elem}")
        if vi.name in input_shapes:
            shape = tuple(input_shapes[vi.name])
        else:
            if not tt.HasField("shape"):
                raise InvalidModelError(f"graph input {vi.name!r} has no shape; give it with "
                                        f"--input-shape {vi.name}=1x3x224x224")
            dims: list[int] = []
            for i, d in enumerate(tt.shape.dim):
                if d.HasField("dim_value"):
                    dims.append(int(d.dim_value))
                elif i == 0:
                    dims.append(1)  # symbolic batch -> 1
                else:
                    sym = d.dim_param or "?"
                    raise InvalidModelError(f"graph input {vi.name!r} has symbolic dimension {sym!r} "
                                            f"(axis {i}); fix it with --input-shape {vi.name}=1x3x224x224")
            shape = tuple(dims)
        if any(d <= 0 for d in shape):
            raise InvalidModelError(f"graph input {vi.name!r} has a zero or negative dimension {shape}")
        if math.prod(shape) > MAX_ELEMENTS:
            raise InvalidModelError(f"graph input {vi.name!r} shape {shape} has {math.prod(shape)} elements, "
                                    f"over the limit of {MAX_ELEMENTS}; refused")
        types[vi.name] = tensor_type(shape, dtype)
    if not types:
        raise UnsupportedError("the model has no graph input that is not an initializer; nothing to compile")
    unknown = set(input_shapes) - set(types)
    if unknown:
        raise InvalidModelError(f"--input-shape names unknown input(s) {sorted(unknown)}; inputs are "
                                f"{sorted(types)}")
    return types


def _toposort(nodes) -> list:
    produced = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if o:
                produced[o] = i
    deps = [{produced[t] for t in n.input if t in produced and produced[t] != i} for i, n in enumerate(nodes)]
    indeg = [len(d) for d in deps]
    users: dict[int, list[int]] = {}
    for i, d in enumerate(deps):
        for j in d:
            users.setdefault(j, []).append(i)
    import heapq

    ready = [i for i, k in enumerate(indeg) if k == 0]  # a heap: keeps the file's order where it is valid
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users.get(i, []):
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(nodes):
        stuck = next(n for i, n in enumerate(nodes) if indeg[i] > 0)
        raise InvalidModelError(f"the graph has a cycle (through node {stuck.name or stuck.output[0]!r})")
    for n in nodes:  # a node reading its own output is a cycle too
        if set(n.input) & set(n.output) - {""}:
            raise InvalidModelError(f"the graph has a cycle (node {n.name or n.output[0]!r} reads its output)")
    return [nodes[i] for i in order]


def load_onnx(path: str | Path, input_shapes: Mapping[str, tuple[int, ...] | str] | None = None) -> Graph:
    """Load an ONNX model file into a verified :class:`Graph`.

    ``input_shapes`` maps input names to shapes (tuples or ``"1x3x224x224"``) for symbolic dimensions.
    Raises InvalidModelError (exit 2) or UnsupportedError (exit 3)."""
    from cnncc.frontend.onnx import proto as numpy_helper
    from cnncc.frontend.onnx.ops import Context, convert_node
    from cnncc.frontend.onnx.quant import MS_OPS  # registers the quantised-op handlers

    path = Path(path)
    model = _read_model(path)
    opset = _opset(model)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UnsupportedError(f"{path}: ONNX opset {opset} is not supported (supported {MIN_OPSET}–{MAX_OPSET})")
    shapes = {k: (parse_shape(v) if isinstance(v, str) else tuple(v)) for k, v in (input_shapes or {}).items()}
    g = model.graph
    consts: dict[str, np.ndarray] = {}
    for init in g.initializer:
        n = math.prod(init.dims)
        if n > MAX_ELEMENTS:
            raise InvalidModelError(f"initializer {init.name!r} has {n} elements; refused")
        try:
            consts[init.name] = numpy_helper.to_array(init)
        except Exception as e:  # malformed tensor payload
            raise InvalidModelError(f"initializer {init.name!r} is malformed: {e}") from None
    types = _input_types(g, set(consts), shapes)
    ctx = Context(opset=opset, types=dict(types), consts=consts, graph_outputs=[o.name for o in g.output])
    try:
        for node in _toposort(list(g.node)):
            if node.domain not in ("", "ai.onnx") and not (node.domain == "com.microsoft" and node.op_type in MS_OPS):
                raise UnsupportedError.op(f"{node.domain}.{node.op_type}", node.name or node.output[0], "cnncc")
            convert_node(ctx, node)
    except CnnccError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, ArithmeticError, AttributeError) as e:
        raise InvalidModelError(f"{path}: malformed node ({type(e).__name__}: {e})") from None
    outputs = []
    for o in g.output:
        name = ctx.resolve(o.name)
        if name not in ctx.types:
            if name in ctx.consts:
                raise UnsupportedError(f"graph output {o.name!r} is a constant; nothing to compile")
            raise InvalidModelError(f"graph output {o.name!r} is never produced")
        outputs.append(name)
    _refuse_batch(types)
    used = {t for layer in ctx.layers for t in layer.inputs}
    qrec = getattr(ctx, "quant", {})  # quantisation records of QDQ/QOperator models (frontend/onnx/quant.py)
    weights = WeightTable({k: _as_weight(v) for k, v in ctx.consts.items() if k in used}, quant=qrec)
    # an integer graph input read by a DequantizeLinear carries that node's quantisation (recorded on ctx.types)
    inputs = {k: ctx.types.get(k, ty) for k, ty in types.items()}
    try:
        return Graph.build(g.name or path.stem, inputs, outputs, ctx.layers, weights,
                           {"opset": str(opset), "producer": model.producer_name or "", "source": str(path),
                            **({"quant_rounding": "onnx"} if qrec else {})})
    except IRVerifyError as e:
        raise InvalidModelError(f"{path}: {e}") from None


def _refuse_batch(types: Mapping[str, TensorType]) -> None:
    """Batch > 1 of an image input (rank 4, N first) is refused: the cost models count one image. (Layers
    that cost one image refuse a batched tensor themselves, with the node, see ``ops._check_4d``.)"""
    for name, ty in types.items():
        if ty.rank == 4 and ty.shape[0] > 1:
            fix = "x".join(str(d) for d in (1,) + ty.shape[1:])
            raise UnsupportedError(f"graph input {name!r} has batch {ty.shape[0]} (shape "
                                   f"{'x'.join(map(str, ty.shape))}); cnncc compiles batch 1 only (e.g. "
                                   f"--input-shape {name}={fix})")


def _as_weight(a: np.ndarray) -> np.ndarray:
    if a.dtype in (np.float64, np.float16) or str(a.dtype) == "bfloat16":
        return a.astype(np.float32)
    return a


__all__ = ["load_onnx", "parse_shape", "Layer"]
