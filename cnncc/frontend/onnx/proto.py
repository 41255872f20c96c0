"""ONNX protobuf access without importing ``google.protobuf`` or ``onnx`` (start-up time).

Reading a model goes through :mod:`cnncc.frontend.onnx.wire`, a pure-Python decoder of the wire format
(``wire.decode_model``): ``import onnx`` costs about a second (nearly all of it ``ml_dtypes``), and even the
generated ``onnx_ml_pb2`` module alone costs ~23 ms and ~90 M instructions of protobuf's descriptor pool.

The helpers take decoded messages and real protobuf messages alike. Their names mirror the ``onnx`` helpers they
replace (``to_array``, ``get_attribute_value``, ``uses_external_data``, ``_get_all_tensors``). Element types
beyond numpy's own (bfloat16, float8, int4, string, ...) fall back to ``onnx.numpy_helper`` (and its import cost)
on a real ``TensorProto`` built from the decoded one.

``proto.ModelProto``, ``proto.TensorProto``, ... are the real protobuf classes, for code that builds or
serialises messages: the generated ``onnx_ml_pb2.py`` is loaded from the installed ``onnx`` distribution *as*
``onnx.onnx_ml_pb2`` (without running ``onnx/__init__``), so a later ``import onnx`` picks up the very same module
and message classes. If ``onnx`` is already imported, its own classes are used.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

_PB2 = "onnx.onnx_ml_pb2"


def _pb2() -> ModuleType:
    """The generated ``onnx_ml_pb2`` module, loaded without ``onnx/__init__`` when onnx is not imported yet."""
    mod = sys.modules.get(_PB2)
    if mod is not None:
        return mod
    spec = importlib.util.find_spec("onnx")  # locates the package; does not import it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the onnx package is not installed")
    for folder in spec.submodule_search_locations:
        sub = importlib.util.spec_from_file_location(_PB2, f"{folder}/onnx_ml_pb2.py")
        if sub is not None and sub.loader is not None:
            mod = importlib.util.module_from_spec(sub)
            sys.modules[_PB2] = mod
            try:
                sub.loader.exec_module(mod)
            except BaseException:
                del sys.modules[_PB2]
                raise
            return mod
    raise ImportError("onnx/onnx_ml_pb2.py not found")  # pragma: no cover - a broken onnx install


def __getattr__(name: str) -> Any:
    if name.endswith("Proto"):  # ModelProto, TensorProto, AttributeProto, ...
        return getattr(_pb2(), name)
    raise AttributeError(name)


# TensorProto.DataType codes -> numpy dtype names (little-endian) of the types numpy has natively; the
# second entry is the typed repeated field holding the values when there is no raw_data.
_NATIVE: dict[int, tuple[str, str]] = {
    1: ("<f4", "float_data"), 2: ("u1", "int32_data"), 3: ("i1", "int32_data"), 4: ("<u2", "int32_data"),
    5: ("<i2", "int32_data"), 6: ("<i4", "int32_data"), 7: ("<i8", "int64_data"), 9: ("?", "int32_data"),
    10: ("<f2", "int32_data"), 11: ("<f8", "double_data"), 12: ("<u4", "uint64_data"), 13: ("<u8", "uint64_data"),
}
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


def to_array(tensor: Any) -> Any:
    """A TensorProto (decoded or protobuf) as a numpy array (as ``onnx.numpy_helper.to_array`` gives it, for
    external data already loaded into ``raw_data``). Raises ValueError/TypeError on a malformed tensor."""
    import numpy as np

    code = tensor.data_type
    if code not in _NATIVE or tensor.HasField("segment") or uses_external_data(tensor):
        from onnx import numpy_helper

        return numpy_helper.to_array(as_protobuf(tensor))
    dtype_name, field = _NATIVE[code]
    dims = tuple(tensor.dims)
    dtype = np.dtype(dtype_name)
    if tensor.HasField("raw_data"):
        return np.frombuffer(tensor.raw_data, dtype=dtype).astype(dtype.newbyteorder("="), copy=False).reshape(dims)
    values = getattr(tensor, field)
    if code == 10:  # float16 is stored as its 16-bit patterns in int32_data
        return np.asarray(values, dtype=np.uint16).view(np.float16).reshape(dims)
    return np.asarray(values, dtype=field_dtype(field)).astype(dtype.newbyteorder("=")).reshape(dims)


def as_protobuf(msg: Any) -> Any:
    """A real protobuf message (``onnx.onnx_ml_pb2``) with the fields of a decoded one (``msg`` itself when it is
    a protobuf message already); imports protobuf."""
    from cnncc.frontend.onnx import wire

    if not isinstance(msg, wire.Message):
        return msg
    target = getattr(_pb2(), msg._NAME)() if msg._NAME.endswith("Proto") else None
    if target is None:
        raise TypeError(f"{msg._NAME} is a nested message; convert its parent")
    _copy_fields(msg, target)
    return target


def _copy_fields(src: Any, dst: Any) -> None:
    from cnncc.frontend.onnx import wire

    for name, value in src.__dict__.items():
        if isinstance(value, wire.Message):
            getattr(dst, name).SetInParent()
            _copy_fields(value, getattr(dst, name))
        elif isinstance(value, list):
            if value and isinstance(value[0], wire.Message):
                for m in value:
                    _copy_fields(m, getattr(dst, name).add())
            else:
                getattr(dst, name).extend(value)
        elif hasattr(value, "tolist"):  # float_data / double_data arrays
            getattr(dst, name).extend(value.tolist())
        else:
            setattr(dst, name, value)


def field_dtype(field: str) -> str:
    """The numpy dtype of a typed repeated field of TensorProto."""
    return {"float_data": "f4", "int32_data": "i4", "int64_data": "i8", "double_data": "f8",
            "uint64_data": "u8"}[field]


def get_attribute_value(attr: Any) -> Any:
    """The Python value of an AttributeProto (as ``onnx.helper.get_attribute_value`` gives it)."""
    if attr.ref_attr_name:
        raise ValueError(f"cannot get the value of reference attribute {attr.name!r}")
    kind = attr.type
    single = {1: "f", 2: "i", 3: "s", 4: "t", 5: "g", 11: "sparse_tensor", 13: "tp"}
    repeated = {6: "floats", 7: "ints", 8: "strings", 9: "tensors", 10: "graphs", 12: "sparse_tensors",
                14: "type_protos"}
    if kind in single:
        return getattr(attr, single[kind])
    if kind in repeated:
        return list(getattr(attr, repeated[kind]))
    if kind == 0:
        return None
    raise ValueError(f"unsupported ONNX attribute type {kind} of {attr.name!r}")


def uses_external_data(tensor: Any) -> bool:
    """True when the tensor's payload lives in an external file."""
    return tensor.HasField("data_location") and tensor.data_location == _EXTERNAL


def _graph_tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            if a.type == 5:  # GRAPH
                yield from _graph_tensors(a.g)
            elif a.type == 10:  # GRAPHS
                for g in a.graphs:
                    yield from _graph_tensors(g)


def _get_all_tensors(model: Any) -> Iterator[Any]:
    """Every TensorProto of a model: initializers and attribute tensors, subgraphs included."""
    return _graph_tensors(model.graph)
