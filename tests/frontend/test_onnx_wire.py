"""The pure-Python ONNX wire decoder (cnncc/frontend/onnx/wire.py) against protobuf's own (upb, through
``onnx.onnx_ml_pb2``): its schema is onnx-ml.proto's, every field of the sample models and of seeded random
ModelProtos (every attribute type, raw and typed tensors, symbolic dims, subgraphs, external-data entries,
functions) decodes the same, the edge cases of the wire format are accepted or refused as protobuf does, and
mutated bytes decode the same or raise ``WireError`` (never another exception)."""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, external_data_helper, helper, numpy_helper

from cnncc.frontend.onnx import proto, wire

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
from netgen import cnn_graphs  # noqa: E402  (the hostile suite's random CNNs)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pb_classes() -> dict[str, type]:
    """Every protobuf message class of onnx-ml.proto by its short name (nested ones too)."""
    out: dict[str, type] = {}

    def walk(cls: type) -> None:
        out[cls.DESCRIPTOR.name] = cls
        for nested in cls.DESCRIPTOR.nested_types:
            walk(getattr(cls, nested.name))

    for name in onnx.onnx_ml_pb2.DESCRIPTOR.message_types_by_name:
        walk(getattr(onnx.onnx_ml_pb2, name))
    return out


PB = _pb_classes()


def same(pb, ours, where: str = "model") -> None:
    """Every field of protobuf message ``pb`` (value, presence, order) equals that of decoded ``ours``."""
    for f in pb.DESCRIPTOR.fields:
        at, want, got = f"{where}.{f.name}", getattr(pb, f.name), getattr(ours, f.name)
        if f.is_repeated:
            assert len(got) == len(want), at
            if f.type == FD.TYPE_MESSAGE:
                for i, (w, g) in enumerate(zip(want, got)):
                    same(w, g, f"{at}[{i}]")
            elif f.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
                dt = "<f4" if f.type == FD.TYPE_FLOAT else "<f8"
                np.testing.assert_array_equal(np.asarray(got, dt), np.asarray(list(want), dt), at)
            else:
                assert list(got) == list(want), at
            continue
        assert ours.HasField(f.name) == pb.HasField(f.name), at
        if f.type == FD.TYPE_MESSAGE:
            if pb.HasField(f.name):
                same(want, got, at)
        elif f.type == FD.TYPE_FLOAT:
            assert struct.pack("<d", got) == struct.pack("<d", want), at
        else:
            assert type(got) is type(want) and got == want, at


def invalid_utf8(pb) -> bool:
    """Whether a string field of ``pb`` came back as bytes (upb's answer to invalid UTF-8 in proto2)."""
    for f, v in pb.ListFields():
        values = v if f.is_repeated else [v]
        if f.type == FD.TYPE_STRING and any(isinstance(x, bytes) for x in values):
            return True
        if f.type == FD.TYPE_MESSAGE and any(invalid_utf8(x) for x in values):
            return True
    return False


def agree(data: bytes, name: str = "ModelProto"):
    """Decode ``data`` both ways: the same fields, or both refuse (ours with WireError only), or ours refuses
    a string that is not UTF-8 where upb returns bytes (the one documented departure). Returns ours or None."""
    try:
        pb = PB[name].FromString(data)
    except DecodeError:
        pb = None
    try:
        ours = wire.decode(wire.CLASSES[name], data)
    except wire.WireError:
        assert pb is None or invalid_utf8(pb), f"protobuf accepts what wire refuses: {data[:80]!r}"
        return None
    assert pb is not None, f"wire accepts what protobuf refuses: {data[:80]!r}"
    same(pb, ours, name)
    return ours


def test_schema_is_onnx_ml_proto():
    kinds = {FD.TYPE_STRING: (wire._STR, wire._RSTR), FD.TYPE_BYTES: (wire._BYTES, wire._RBYTES),
             FD.TYPE_INT64: (wire._I64, wire._RI64), FD.TYPE_INT32: (wire._I32, wire._RI32),
             FD.TYPE_UINT64: (None, wire._RU64), FD.TYPE_FLOAT: (wire._F32, wire._RF32),
             FD.TYPE_DOUBLE: (None, wire._RF64A), FD.TYPE_MESSAGE: (wire._MSG, wire._RMSG),
             FD.TYPE_ENUM: (wire._ENUM, None)}
    assert set(wire.CLASSES) == set(PB)
    for name, cls in PB.items():
        ours = wire.CLASSES[name]
        by_name = {v[0]: (tag, v) for tag, v in ours._FIELDS.items() if tag & 7 != 2 or v[1] < wire._PACKED}
        assert set(by_name) == {f.name for f in cls.DESCRIPTOR.fields}, name
        for f in cls.DESCRIPTOR.fields:
            tag, (_, code, sub, peers) = by_name[f.name]
            rep = f.is_repeated
            assert tag >> 3 == f.number and code in (kinds[f.type][rep], wire._RF32A), (name, f.name)
            if f.type == FD.TYPE_MESSAGE:
                assert sub is wire.CLASSES[f.message_type.name]
            if f.type == FD.TYPE_ENUM:
                assert sub == {v.number for v in f.enum_type.values}
            oneof = f.containing_oneof
            assert set(peers) == ({g.name for g in oneof.fields} - {f.name} if oneof else set()), (name, f.name)
            if not rep and f.type != FD.TYPE_MESSAGE:
                assert getattr(ours(), f.name) == f.default_value, (name, f.name)
    assert wire.CLASSES["TensorProto"]._FIELDS[4 << 3 | 5][1] == wire._RF32A  # float_data: a numpy array


def test_sample_models_decode_as_protobuf(sample_models):
    for path in sample_models.values():
        data = path.read_bytes()
        ours = agree(data)
        pb = onnx.load_from_string(data)
        for t, u in zip(external_data_helper._get_all_tensors(pb), proto._get_all_tensors(ours)):
            np.testing.assert_array_equal(proto.to_array(u), numpy_helper.to_array(t))


# --- the wire format's edge cases, each decided as protobuf decides it -------------------------------------------
def _ld(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _varint(v: int) -> bytes:
    out = b""
    while v >= 0x80:
        out, v = out + bytes([v & 0x7F | 0x80]), v >> 7
    return out + bytes([v])


EDGES = [
    ("NodeProto", b"\x7b\x08\x01\x7c"), ("NodeProto", b"\x7b\x08\x01\x74"), ("NodeProto", b"\x7c"),
    ("ModelProto", b"\x3a\x01\x7c"), ("NodeProto", b"\x7e"), ("NodeProto", b"\x7f"), ("NodeProto", b"\x00\x01"),
    ("NodeProto", b"\x02\x00"), ("ModelProto", b"\x08" + b"\x81" * 10 + b"\x01"),
    ("ModelProto", b"\x08" + b"\xff" * 9 + b"\x7f"), ("ModelProto", b"\x08" + b"\x80" * 9 + b"\x02"),
    ("ModelProto", b"\x08\x80"), ("ModelProto", b"\x12\x05ab"), ("ModelProto", b"\x88\x80\x80\x80\x10\x01"),
    ("ModelProto", b"\x88\x80\x80\x80\x80\x00\x01"), ("ModelProto", b"\xf8\xff\xff\xff\x0f\x01"),
    ("ModelProto", b"\x88\x80\x80\x80\x00\x01"), ("ModelProto", b"\x88\x80\x80\x80\x0f\x01"),
    ("AttributeProto", b"\xa0\x01\x63"), ("AttributeProto", b"\xa0\x01\x07\xa0\x01\x63"),
    ("AttributeProto", b"\xa0\x01" + b"\xff" * 9 + b"\x01"), ("AttributeProto", b"\xa0\x01\x82\x80\x80\x80\x10"),
    ("TensorProto", b"\x10\xff\xff\xff\xff\x1f"), ("TensorProto", b"\x70\x01\x70\x05"),
    ("AttributeProto", b"\x42\x03\x01\x02\x03\x40\x07"), ("AttributeProto", b"\x42\x02\xff\x01"),
    ("TensorProto", b"\x25\x00\x00\x80\x3f\x22\x04\x00\x00\x00\x40\x25\x00\x00\x00\xc0"),
    ("TensorProto", b"\x51" + b"\x00" * 7 + b"\x40\x52\x08" + b"\x00" * 8), ("TensorProto", b"\x3a\x02\x01\x80"),
    ("TensorProto", b"\x22\x03\x00\x00\x80"), ("TensorProto", b"\x2a\x0b" + b"\xff" * 9 + b"\x01\x05"),
    ("TensorProto", b"\x5a\x02\xff\x01\x58\x05"), ("TensorProto", b"\x3a\x01\x05\x08\x07"),
    ("ModelProto", b"\x3a\x03\x12\x01a\x3a\x04\x0a\x02\x22\x00"), ("ModelProto", b"\x0a\x01\x05"),
    ("Dimension", b"\x08\x05\x12\x01N"), ("Dimension", b"\x12\x01N\x08\x05"),
    ("TypeProto", _ld(1, b"\x08\x01") + _ld(4, b"") + _ld(1, b"")), ("TypeProto", _ld(1, b"\x08\x01") * 2),
    ("NodeProto", b"\x08\x01\x0a\x01x"), ("TensorProto", b"\x0d\x01\x00\x00\x00"), ("AttributeProto", b"\x10\x01"),
    ("AttributeProto", b"\x15\x00\x00"), ("AttributeProto", b"\x7d\x00\x00"), ("NodeProto", b"\x1b\x1c"),
    ("ModelProto", b"\x3a\x02\x12\x02ab"), ("TensorProto", b"\x1a\x02\x08\x80\x01"),
    ("NodeProto", b"\x7b\x0a\x05ab\x7c"), ("NodeProto", b"\x1b\x0a\x01x\x1c"), ("NodeProto", b"\x0b\x01"),
    ("TensorProto", b"\x1a\x02\x08\x01\x1a\x02\x10\x02"), ("TensorProto", b"\x4a\x00\x42\x00"),
    ("StringStringEntryProto", b"\x0a\x03\xe2\x82\xac\x12\x00"), ("ModelProto", b"\x9a\x01\x00"),
    ("AttributeProto", b"\xa2\x01\x01\x05"), ("TensorProto", b"\x09" + b"\x01" * 8 + b"\x08\x02"),
    ("NodeProto", b"\x1a\x01\xff\x1a\x01a"), ("Dimension", b"\x12\x01\xff\x08\x03"),
    ("TypeProto", _ld(1, _ld(2, _ld(1, b"\x12\x01\xff"))) + _ld(4, b"")),
]


@pytest.mark.parametrize("name,data", EDGES, ids=range(len(EDGES)))
def test_edge_cases_as_protobuf(name, data):
    agree(data, name)


@pytest.mark.parametrize("name,data", [("NodeProto", b"\x1a\x02\xff\xfe"), ("StringStringEntryProto",
                                                                         b"\x0a\x03\xed\xa0\x80")])
def test_invalid_utf8_is_refused(name, data):
    """upb returns a proto2 string that is not UTF-8 as bytes; wire refuses it (the one departure)."""
    assert agree(data, name) is None and invalid_utf8(PB[name].FromString(data))


@pytest.mark.parametrize("levels", [1, 2, 99, 100, 101, 102])
def test_nesting_limit_as_protobuf(levels):
    name = "TypeProto" if levels % 2 == 0 else "Sequence"
    msg = b""
    for i in range(levels):  # ... TypeProto -> Sequence -> TypeProto: `levels` messages below the top one
        outer_is_type = (levels - 1 - i) % 2 == (0 if name == "TypeProto" else 1)
        msg = _ld(4 if outer_is_type else 1, msg)  # TypeProto.sequence_type = 4, Sequence.elem_type = 1
    assert (agree(msg, name) is None) == (levels > wire.MAX_DEPTH)
    groups = b"\x7b" * levels + b"\x7c" * levels
    assert (agree(groups, "NodeProto") is None) == (levels > wire.MAX_DEPTH)


def test_deep_subgraphs_are_refused_not_a_recursion_error():
    g = _ld(1, _ld(4, b"Relu"))  # a graph of one node; then 1000 If nodes, each holding the graph before
    for _ in range(1000):
        g = _ld(1, _ld(4, b"If") + _ld(5, _ld(1, b"then_branch") + b"\xa0\x01\x05" + _ld(6, g)))
    data = b"\x08\x07" + _ld(7, g)
    with pytest.raises(wire.WireError, match="deeper"):
        wire.decode_model(data)
    assert agree(data) is None


# --- seeded random ModelProtos ---------------------------------------------------------------------------------
TEXT = st.text(st.characters(codec="utf-8"), max_size=6)
DTYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 22]
FLOATS, SIGNED = {1, 10, 11, 14, 16, 17, 19}, {3, 5, 6, 7, 22}


@st.composite
def tensors(draw, name: str = "t") -> TensorProto:
    code = draw(st.sampled_from(DTYPES))
    dims = draw(st.lists(st.integers(0, 3), max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = math.prod(dims)
    if code == TensorProto.STRING:
        arr = np.array([bytes(rng.integers(0, 256, int(rng.integers(0, 4)), np.uint8)) for _ in range(n)],
                       dtype=object).reshape(dims)
    else:
        dt = helper.tensor_dtype_to_np_dtype(code)
        if code in FLOATS:
            arr = (rng.standard_normal(n) * 4).astype(np.float32).astype(dt).reshape(dims)
        else:  # small integers fit every integer type (int4 too); signed ones get negatives
            arr = rng.integers(-8 if code in SIGNED else 0, 2 if code == TensorProto.BOOL else 8, n).astype(dt)
            arr = arr.reshape(dims)
    if code != TensorProto.STRING and draw(st.booleans()):
        t = numpy_helper.from_array(arr, name)
    else:
        t = helper.make_tensor(name, code, dims, arr.flatten().tolist())
    if draw(st.integers(0, 5)) == 0:  # external data: the entries only, the payload is never read here
        for key in draw(st.lists(st.sampled_from(["location", "offset", "length", "checksum"]), max_size=4)):
            t.external_data.add(key=key, value=draw(TEXT))
        t.data_location = TensorProto.EXTERNAL
    if draw(st.integers(0, 7)) == 0:
        t.segment.begin, t.segment.end = draw(st.integers(-5, 5)), draw(st.integers(-(2**63), 2**63 - 1))
    return t


@st.composite
def types(draw, depth: int = 0):
    kind = draw(st.sampled_from(["tensor", "tensor", "sparse"] + (["seq", "map", "opt"] if depth < 2 else [])))
    if kind in ("tensor", "sparse"):
        shape = draw(st.none() | st.lists(st.none() | st.integers(-1, 2**40) | TEXT, max_size=4))
        make = helper.make_tensor_type_proto if kind == "tensor" else helper.make_sparse_tensor_type_proto
        return make(draw(st.integers(0, 30)), shape)
    if kind == "map":
        return helper.make_map_type_proto(draw(st.integers(0, 13)), draw(types(depth + 1)))
    inner = draw(types(depth + 1))
    return helper.make_sequence_type_proto(inner) if kind == "seq" else helper.make_optional_type_proto(inner)


def _sparse(draw):
    return helper.make_sparse_tensor(draw(tensors("v")), draw(tensors("i")), draw(st.lists(st.integers(0, 9))))


@st.composite
def attributes(draw, depth: int):
    name = draw(TEXT)
    kinds = ["f", "i", "s", "t", "sp", "tp", "fs", "is", "ss", "ts", "sps", "tps", "ref"] + \
        (["g", "gs"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "ref":
        return helper.make_attribute_ref(name or "r", draw(st.sampled_from(list(range(1, 15)))))
    value = {
        "f": lambda: draw(st.floats(width=32)), "i": lambda: draw(st.integers(-(2**63), 2**63 - 1)),
        "s": lambda: draw(st.binary(max_size=5)), "t": lambda: draw(tensors()), "sp": lambda: _sparse(draw),
        "tp": lambda: draw(types()), "fs": lambda: draw(st.lists(st.floats(width=32), min_size=1, max_size=4)),
        "is": lambda: draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=5)),
        "ss": lambda: draw(st.lists(st.binary(max_size=3), min_size=1, max_size=3)),
        "ts": lambda: draw(st.lists(tensors(), min_size=1, max_size=2)),
        "sps": lambda: [_sparse(draw)], "tps": lambda: draw(st.lists(types(), min_size=1, max_size=2)),
        "g": lambda: draw(graphs(depth + 1)), "gs": lambda: draw(st.lists(graphs(depth + 1), min_size=1, max_size=2)),
    }[kind]()
    return helper.make_attribute(name, value, doc_string=draw(TEXT))


@st.composite
def graphs(draw, depth: int = 0):
    nodes = []
    for _ in range(draw(st.integers(0 if depth else 1, 3))):
        n = helper.make_node(draw(TEXT), draw(st.lists(TEXT, max_size=3)), draw(st.lists(TEXT, max_size=2)),
                             name=draw(TEXT), domain=draw(st.sampled_from(["", "ai.onnx", "com.microsoft", "x"])))
        n.attribute.extend(draw(st.lists(attributes(depth), max_size=3)))
        if draw(st.integers(0, 5)) == 0:
            n.device_configurations.add(configuration_id=draw(TEXT), pipeline_stage=draw(st.integers(-3, 3)))
        nodes.append(n)
    vis = st.lists(st.builds(helper.make_value_info, TEXT, types()), max_size=2)
    g = helper.make_graph(nodes, draw(TEXT), draw(vis), draw(vis), draw(st.lists(tensors(), max_size=2)),
                          value_info=draw(vis))
    if draw(st.integers(0, 4)) == 0:
        g.sparse_initializer.append(_sparse(draw))
    return g


@st.composite
def models(draw) -> onnx.ModelProto:
    m = helper.make_model(draw(graphs()), opset_imports=[helper.make_opsetid(draw(TEXT), draw(st.integers(-1, 30)))],
                          producer_name=draw(TEXT))
    m.ir_version = draw(st.integers(-(2**63), 2**63 - 1))
    helper.set_model_props(m, draw(st.dictionaries(TEXT, TEXT, max_size=2)))
    if draw(st.booleans()):
        m.functions.append(helper.make_function("f", "fn", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                                [helper.make_opsetid("", 13)], attributes=[draw(TEXT)]))
        m.training_info.add().algorithm.CopyFrom(draw(graphs(1)))
        m.configuration.add(name=draw(TEXT), num_devices=draw(st.integers(-2, 9)))
    return m


@FAST
@given(models())
def test_random_models_decode_as_protobuf(m):
    data = m.SerializeToString()
    ours = agree(data)
    assert proto.as_protobuf(ours).SerializeToString() == data  # the fallback's conversion loses nothing
    pb = onnx.load_from_string(data)
    for t, u in zip(proto._get_all_tensors(pb), proto._get_all_tensors(ours), strict=True):
        same(t, u, t.name)
        if not external_data_helper.uses_external_data(t):
            _same_array(t, u)
    for node, ours_node in zip(pb.graph.node, ours.graph.node):
        for a, b in zip(node.attribute, ours_node.attribute):
            _same_value(a, b)


def _same_array(t, u) -> None:
    """proto.to_array of the decoded tensor = numpy_helper.to_array of protobuf's (or both refuse alike)."""
    try:
        want = numpy_helper.to_array(t)
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e)):
            proto.to_array(u)
        return
    got = proto.to_array(u)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tolist() == want.tolist() if got.dtype == object else got.tobytes() == want.tobytes()


def _same_value(a, b) -> None:
    """proto.get_attribute_value agrees with onnx.helper's (or both refuse a reference attribute)."""
    if a.ref_attr_name:
        with pytest.raises(ValueError):
            proto.get_attribute_value(b)
        return
    want, got = helper.get_attribute_value(a), proto.get_attribute_value(b)
    for w, g in zip(want, got) if isinstance(want, list) else [(want, got)]:
        if hasattr(w, "DESCRIPTOR"):
            same(w, g, a.name)
        else:
            assert struct.pack("<d", w) == struct.pack("<d", g) if isinstance(w, float) else w == g


# --- mutated bytes ---------------------------------------------------------------------------------------------
@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(models() | cnn_graphs()).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "varint", "group"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=6))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 6))]
        elif op == "truncate":
            del data[pos:]
        elif op == "varint":
            data[pos:pos] = draw(st.sampled_from([b"\xff" * 9 + b"\x7f", b"\x80" * 10, b"\xff" * 11, b"\x00"]))
        else:  # an unknown group, well formed or not
            data[pos:pos] = draw(st.sampled_from([b"\xfb\x01\x08\x01\xfc\x01", b"\xfb\x01", b"\xfc\x01"]))
    return bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_bytes_decode_as_protobuf_or_raise_wire_error(data):
    agree(data)
