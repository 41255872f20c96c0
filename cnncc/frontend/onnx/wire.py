"""A pure-Python decoder of the ONNX protobuf wire format (start-up time: reading a model imports neither
``google.protobuf`` nor ``onnx``).

:func:`decode_model` turns the bytes of an ``.onnx`` file into :class:`Message` objects that read like the
generated protobuf classes of ``onnx/onnx-ml.proto`` (proto2): the same field names, scalar defaults ``0`` /
``""`` / ``b""``, unset message fields read as empty messages, repeated fields as lists, ``HasField`` for the
singular fields and oneofs, ``WhichOneof``. Every message of the schema is decoded (also functions, training info
and device configurations the reader never looks at) so that the bytes refused are the ones protobuf refuses.
Two departures, both for speed: ``TensorProto.float_data`` / ``double_data`` are read-only little-endian numpy
arrays (``<f4`` / ``<f8``) rather than lists of floats, and strings are checked to be UTF-8.

What is accepted and refused follows upb, protobuf's Python runtime (measured, see tests/frontend/
test_onnx_wire.py): unknown fields of every wire type are skipped (groups parsed to their matching end); a known
field with another wire type is an unknown field; repeated numbers come packed or one by one; a singular message
given twice is merged; an unknown value of a closed enum (``AttributeProto.type``, ``TensorProto.data_location``)
leaves the field unset; varints of up to 10 bytes (the bits past 64 dropped), tags of up to 5 bytes below 2^32;
at most :data:`MAX_DEPTH` nested messages and groups. Everything else malformed (a truncated varint or field, a
length past the end of its message, field number 0, wire types 4/6/7 out of place, a packed fixed-size run of the
wrong length, a nested message too deep) raises :class:`WireError`. The one departure: a string field that is not
valid UTF-8 (and still in the message at the end: a later value may replace it) raises :class:`WireError` too,
where upb returns it as ``bytes`` instead of ``str``.
"""

from __future__ import annotations

import struct
from typing import Any

#: most nested messages and groups below the top-level message (upb's default limit in Python)
MAX_DEPTH = 100

_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf encoding of the message (or a string is not UTF-8)."""


class Message:
    """A decoded protobuf message: present fields live in the instance, defaults come from the class."""

    _NAME = "Message"
    _FIELDS: dict[int, tuple[str, int, Any, tuple[str, ...]]] = {}  # tag -> (name, code, class/enum, oneof peers)
    _SINGULAR: frozenset[str] = frozenset()
    _REPEATED: frozenset[str] = frozenset()
    _MESSAGES: dict[str, type[Message]] = {}
    _ONEOFS: dict[str, tuple[str, ...]] = {}

    def __getattr__(self, name: str) -> Any:  # only for fields not present (and unknown names)
        if name in self._REPEATED:
            empty: list[Any] = []
            self.__dict__[name] = empty
            return empty
        cls = self._MESSAGES.get(name)
        if cls is not None:
            return cls()
        raise AttributeError(f"{self._NAME} has no field {name!r}")

    def HasField(self, name: str) -> bool:  # noqa: N802 - protobuf's name
        """True when the singular field (or a member of the oneof) ``name`` was present in the bytes."""
        if name in self._SINGULAR:
            return name in self.__dict__
        if name in self._ONEOFS:
            return self.WhichOneof(name) is not None
        raise ValueError(f'{self._NAME} has no singular field "{name}"')

    def WhichOneof(self, group: str) -> str | None:  # noqa: N802 - protobuf's name
        """The name of the member of oneof ``group`` that is set, or None."""
        return next((m for m in self._ONEOFS[group] if m in self.__dict__), None)

    def __repr__(self) -> str:
        return f"{self._NAME}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


# field codes: singular (< 8), repeated (8..), repeated in packed form (_PACKED + repeated code)
_STR, _BYTES, _MSG, _I64, _I32, _ENUM, _F32 = range(7)
_RSTR, _RBYTES, _RMSG, _RI64, _RI32, _RU64, _RF32, _RF32A, _RF64A = range(8, 17)
_PACKED = 16
_WIRE = {_STR: 2, _BYTES: 2, _MSG: 2, _I64: 0, _I32: 0, _ENUM: 0, _F32: 5, _RSTR: 2, _RBYTES: 2, _RMSG: 2,
         _RI64: 0, _RI32: 0, _RU64: 0, _RF32: 5, _RF32A: 5, _RF64A: 1}
_KINDS = {"str": _STR, "bytes": _BYTES, "i64": _I64, "i32": _I32, "f32": _F32, "*str": _RSTR, "*bytes": _RBYTES,
          "*i64": _RI64, "*i32": _RI32, "*u64": _RU64, "*f32": _RF32, "*f32a": _RF32A, "*f64a": _RF64A}
_DEFAULTS = {_STR: "", _BYTES: b"", _I64: 0, _I32: 0, _ENUM: 0, _F32: 0.0}
_ENUMS = {"AttributeType": frozenset(range(15)), "DataLocation": frozenset({0, 1})}

# onnx/onnx-ml.proto: "number name kind [|oneof]"; kind: a scalar kind above, an enum or a message; * repeated
_SCHEMA = {
    "ModelProto": "1 ir_version i64; 8 opset_import *OperatorSetIdProto; 2 producer_name str; 3 producer_version "
                  "str; 4 domain str; 5 model_version i64; 6 doc_string str; 7 graph GraphProto; 14 metadata_props "
                  "*StringStringEntryProto; 20 training_info *TrainingInfoProto; 25 functions *FunctionProto; "
                  "26 configuration *DeviceConfigurationProto",
    "OperatorSetIdProto": "1 domain str; 2 version i64",
    "StringStringEntryProto": "1 key str; 2 value str",
    "GraphProto": "1 node *NodeProto; 2 name str; 5 initializer *TensorProto; 15 sparse_initializer "
                  "*SparseTensorProto; 10 doc_string str; 11 input *ValueInfoProto; 12 output *ValueInfoProto; "
                  "13 value_info *ValueInfoProto; 14 quantization_annotation *TensorAnnotation; 16 metadata_props "
                  "*StringStringEntryProto",
    "NodeProto": "1 input *str; 2 output *str; 3 name str; 4 op_type str; 7 domain str; 8 overload str; "
                 "5 attribute *AttributeProto; 6 doc_string str; 9 metadata_props *StringStringEntryProto; "
                 "10 device_configurations *NodeDeviceConfigurationProto",
    "AttributeProto": "1 name str; 21 ref_attr_name str; 13 doc_string str; 20 type AttributeType; 2 f f32; "
                      "3 i i64; 4 s bytes; 5 t TensorProto; 6 g GraphProto; 22 sparse_tensor SparseTensorProto; "
                      "14 tp TypeProto; 7 floats *f32; 8 ints *i64; 9 strings *bytes; 10 tensors *TensorProto; "
                      "11 graphs *GraphProto; 23 sparse_tensors *SparseTensorProto; 15 type_protos *TypeProto",
    "ValueInfoProto": "1 name str; 2 type TypeProto; 3 doc_string str; 4 metadata_props *StringStringEntryProto",
    "TensorProto": "1 dims *i64; 2 data_type i32; 3 segment Segment; 4 float_data *f32a; 5 int32_data *i32; "
                   "6 string_data *bytes; 7 int64_data *i64; 8 name str; 12 doc_string str; 9 raw_data bytes; "
                   "13 external_data *StringStringEntryProto; 14 data_location DataLocation; 10 double_data *f64a; "
                   "11 uint64_data *u64; 16 metadata_props *StringStringEntryProto",
    "Segment": "1 begin i64; 2 end i64",
    "SparseTensorProto": "1 values TensorProto; 2 indices TensorProto; 3 dims *i64",
    "TensorShapeProto": "1 dim *Dimension",
    "Dimension": "1 dim_value i64 |value; 2 dim_param str |value; 3 denotation str",
    "TypeProto": "1 tensor_type Tensor |value; 4 sequence_type Sequence |value; 5 map_type Map |value; "
                 "9 optional_type Optional |value; 8 sparse_tensor_type SparseTensor |value; "
                 "7 opaque_type Opaque |value; 6 denotation str",
    "Tensor": "1 elem_type i32; 2 shape TensorShapeProto",
    "Sequence": "1 elem_type TypeProto",
    "Map": "1 key_type i32; 2 value_type TypeProto",
    "Optional": "1 elem_type TypeProto",
    "SparseTensor": "1 elem_type i32; 2 shape TensorShapeProto",
    "Opaque": "1 domain str; 2 name str",
    "TensorAnnotation": "1 tensor_name str; 2 quant_parameter_tensor_names *StringStringEntryProto",
    "TrainingInfoProto": "1 initialization GraphProto; 2 algorithm GraphProto; 3 initialization_binding "
                         "*StringStringEntryProto; 4 update_binding *StringStringEntryProto",
    "FunctionProto": "1 name str; 4 input *str; 5 output *str; 6 attribute *str; 11 attribute_proto "
                     "*AttributeProto; 7 node *NodeProto; 8 doc_string str; 9 opset_import *OperatorSetIdProto; "
                     "10 domain str; 13 overload str; 12 value_info *ValueInfoProto; 14 metadata_props "
                     "*StringStringEntryProto",
    "DeviceConfigurationProto": "1 name str; 2 num_devices i32; 3 device *str",
    "NodeDeviceConfigurationProto": "1 configuration_id str; 2 sharding_spec *ShardingSpecProto; "
                                    "3 pipeline_stage i32",
    "ShardingSpecProto": "1 tensor_name str; 2 device *i64; 3 index_to_device_group_map *IntIntListEntryProto; "
                         "4 sharded_dim *ShardedDimProto",
    "IntIntListEntryProto": "1 key i64; 2 value *i64",
    "ShardedDimProto": "1 axis i64; 2 simple_sharding *SimpleShardedDimProto",
    "SimpleShardedDimProto": "1 dim_value i64 |dim; 2 dim_param str |dim; 3 num_shards i64",
}


def _build() -> dict[str, type[Message]]:
    classes: dict[str, type[Message]] = {n: type(n, (Message,), {"_NAME": n}) for n in _SCHEMA}
    for cname, text in _SCHEMA.items():
        cls = classes[cname]
        entries = [e.split() for e in text.split("; ")]
        groups: dict[str, tuple[str, ...]] = {}
        for e in entries:
            if len(e) == 4:
                groups[e[3][1:]] = groups.get(e[3][1:], ()) + (e[1],)
        fields: dict[int, tuple[str, int, Any, tuple[str, ...]]] = {}
        singular: set[str] = set()
        repeated: set[str] = set()
        messages: dict[str, type[Message]] = {}
        for num, name, kind, *grp in entries:
            rep = kind.startswith("*")
            sub: Any = classes.get(kind.lstrip("*")) or _ENUMS.get(kind)
            code = (_RMSG if rep else _MSG) if isinstance(sub, type) else _ENUM if sub is not None else _KINDS[kind]
            peers = tuple(m for m in groups[grp[0][1:]] if m != name) if grp else ()
            fields[int(num) << 3 | _WIRE[code]] = (name, code, sub, peers)
            if code in (_RI64, _RI32, _RU64, _RF32, _RF32A, _RF64A):
                fields[int(num) << 3 | 2] = (name, code + _PACKED, sub, peers)
            (repeated if rep else singular).add(name)
            if code == _MSG:
                messages[name] = sub
            elif code in _DEFAULTS:
                setattr(cls, name, _DEFAULTS[code])
        cls._FIELDS, cls._SINGULAR, cls._REPEATED = fields, frozenset(singular), frozenset(repeated)
        cls._MESSAGES, cls._ONEOFS = messages, groups
    return classes


CLASSES = _build()
ModelProto = CLASSES["ModelProto"]


class _BadString:
    """Where a string that is not UTF-8 was read: an error only if it is still in the message at the end (a
    later value of the field or of its oneof may replace it, as protobuf would)."""

    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


def decode(cls: type[Message], data: bytes | bytearray | memoryview) -> Any:
    """The message ``cls`` encoded in ``data``; raises :class:`WireError` on malformed bytes."""
    buf = data if isinstance(data, bytes) else bytes(data)
    msg = cls()
    bad: list[int] = []
    _parse(msg, buf, 0, len(buf), 0, bad)
    if bad:
        pos = _bad_string(msg)
        if pos is not None:
            raise WireError(f"the string at byte {pos} is not valid UTF-8")
    return msg


def _bad_string(msg: Message) -> int | None:
    """The position of a string of ``msg`` (nested messages included) that is not UTF-8, or None."""
    for value in msg.__dict__.values():
        for v in value if isinstance(value, list) else (value,):
            if isinstance(v, _BadString):
                return v.pos
            if isinstance(v, Message):
                pos = _bad_string(v)
                if pos is not None:
                    return pos
    return None


def decode_model(data: bytes | bytearray | memoryview) -> Any:
    """An ``onnx.ModelProto`` decoded from ``data`` (as ``ModelProto.ParseFromString``)."""
    return decode(ModelProto, data)


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(unsigned value modulo 2^64, next position) of the varint at ``pos``."""
    if pos >= end:
        raise WireError(f"truncated varint at byte {pos}")
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    start, value, shift = pos, b & 0x7F, 7
    pos += 1
    while True:
        if pos >= end:
            raise WireError(f"truncated varint at byte {start}")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError(f"varint longer than 10 bytes at byte {start}")


def _tag(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(tag, next position) of a tag of more than one byte at ``pos``: at most 5 bytes and below 2^32."""
    start, value, shift = pos, 0, 0
    while shift < 35:
        if pos >= end:
            raise WireError(f"truncated tag at byte {start}")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            if value > 0xFFFFFFFF:
                break
            return value, pos
        shift += 7
    raise WireError(f"bad tag at byte {start}")


def _skip(data: bytes, pos: int, end: int, tag: int, depth: int) -> int:
    """The position after the value of the unknown field ``tag`` (groups are parsed to their end)."""
    wt = tag & 7
    if tag >> 3 == 0:
        raise WireError(f"field number 0 before byte {pos}")
    if wt == 0:
        return _varint(data, pos, end)[1]
    if wt in (1, 2, 5):
        if wt == 2:
            n, pos = _varint(data, pos, end)
        else:
            n = 8 if wt == 1 else 4
        if pos + n > end:
            raise WireError(f"field past the end of its message at byte {pos}")
        return pos + n
    if wt == 3:
        if depth >= MAX_DEPTH:
            raise WireError(f"groups nested deeper than {MAX_DEPTH}")
        while pos < end:
            inner = data[pos]
            pos += 1
            if inner >= 0x80:
                inner, pos = _tag(data, pos - 1, end)
            if inner & 7 == 4:
                if inner >> 3 != tag >> 3:
                    raise WireError(f"mismatched end of group at byte {pos}")
                return pos
            pos = _skip(data, pos, end, inner, depth + 1)
        raise WireError("unterminated group")
    raise WireError(f"wire type {wt} at byte {pos}")


def _signed(values: list[int], bits: int) -> list[int]:
    """Unsigned 64-bit varint values as signed ``bits``-bit integers (int32 keeps the low 32 bits)."""
    mask, top = (1 << bits) - 1, 1 << (bits - 1)
    return [(v & mask) - ((v & top) << 1) for v in values]


def _packed_varints(data: bytes, pos: int, end: int) -> list[int]:
    chunk = data[pos:end]
    if not chunk or max(chunk) < 0x80:  # one byte each: the bytes are the values
        return list(chunk)
    out = []
    while pos < end:
        v, pos = _varint(data, pos, end)
        out.append(v)
    return out


def _parse(msg: Message, data: bytes, pos: int, end: int, depth: int, bad: list[int]) -> None:
    """Decode the fields in ``data[pos:end]`` into ``msg`` (merging into what it holds, as protobuf does);
    strings that are not UTF-8 are noted in ``bad`` (and stand as :class:`_BadString` in the message)."""
    fields = msg._FIELDS
    d = msg.__dict__
    arrays: dict[str, tuple[str, list[Any]]] | None = None  # parts of the numpy-array fields, joined at the end
    while pos < end:
        tag = data[pos]
        pos += 1
        if tag >= 0x80:
            tag, pos = _tag(data, pos - 1, end)
        f = fields.get(tag)
        if f is None:
            pos = _skip(data, pos, end, tag, depth)
            continue
        name, code, sub, peers = f
        wt = tag & 7
        if wt == 2:
            if pos >= end:
                raise WireError(f"truncated length at byte {pos}")
            n = data[pos]
            if n < 0x80:
                pos += 1
            else:
                n, pos = _varint(data, pos, end)
            e = pos + n
            if e > end:
                raise WireError(f"field {name!r} runs past the end of its message (byte {pos}, {n} bytes)")
            if code == _STR or code == _RSTR:
                try:
                    value: Any = data[pos:e].decode()
                except UnicodeDecodeError:
                    value = _BadString(pos)
                    bad.append(pos)
            elif code == _BYTES or code == _RBYTES:
                value = data[pos:e]
            elif code == _MSG or code == _RMSG:
                if depth >= MAX_DEPTH:
                    raise WireError(f"messages nested deeper than {MAX_DEPTH}")
                value = d.get(name) if code == _MSG else None
                if value is None:
                    value = sub()
                _parse(value, data, pos, e, depth + 1, bad)
            else:  # a packed run of numbers
                code -= _PACKED
                if code == _RF32A or code == _RF64A:
                    arrays = _array_part(d, arrays, name, code, data, pos, e)
                    pos = e
                    continue
                if code == _RF32:
                    if n % 4:
                        raise WireError(f"packed floats {name!r} of {n} bytes at byte {pos}")
                    run: list[Any] = list(struct.unpack_from(f"<{n // 4}f", data, pos))
                else:
                    run = _packed_varints(data, pos, e)
                    if code != _RU64 and run and max(run) >= 0x80000000:
                        run = _signed(run, 64 if code == _RI64 else 32)
                lst = d.get(name)
                if lst is None:
                    d[name] = run
                else:
                    lst.extend(run)
                pos = e
                continue
            pos = e
        elif wt == 0:
            value, pos = _varint(data, pos, end)
            if code == _I64 or code == _RI64:
                if value >> 63:
                    value -= 1 << 64
            elif code == _ENUM:
                value &= 0xFFFFFFFF
                value -= (value & 0x80000000) << 1
                if value not in sub:  # a closed enum: an unknown value is an unknown field
                    continue
            elif code != _RU64:  # int32: the low 32 bits, signed
                value &= 0xFFFFFFFF
                value -= (value & 0x80000000) << 1
        else:  # fixed32 / fixed64
            size = 4 if wt == 5 else 8
            if pos + size > end:
                raise WireError(f"truncated fixed-size field {name!r} at byte {pos}")
            if code == _RF32A or code == _RF64A:
                arrays = _array_part(d, arrays, name, code, data, pos, pos + size)
                pos += size
                continue
            value = struct.unpack_from("<f", data, pos)[0]
            pos += size
        if code >= _RSTR:
            lst = d.get(name)
            if lst is None:
                d[name] = [value]
            else:
                lst.append(value)
        else:
            d[name] = value
            if peers:  # a oneof member clears the others
                for p in peers:
                    d.pop(p, None)
    if arrays:
        _join_arrays(d, arrays)


def _array_part(d: dict[str, Any], arrays: dict[str, tuple[str, list[Any]]] | None, name: str, code: int,
                data: bytes, pos: int, end: int) -> dict[str, tuple[str, list[Any]]]:
    """Add the little-endian floats/doubles in ``data[pos:end]`` (a packed run or one value) to the parts of
    array field ``name``: their bytes, joined into one array at the end of the message (:func:`_join_arrays`)."""
    size = 4 if code == _RF32A else 8
    if (end - pos) % size:
        raise WireError(f"packed {name!r} of {end - pos} bytes at byte {pos}")
    if arrays is None:
        arrays = {}
    entry = arrays.get(name)
    if entry is None:  # merged into what an earlier copy of the message held
        entry = arrays[name] = ("<f4" if size == 4 else "<f8", [d[name].tobytes()] if name in d else [])
    parts = entry[1]
    if end - pos == size and parts and isinstance(parts[-1], bytearray):  # one value after another
        parts[-1] += data[pos:end]
    else:
        parts.append(memoryview(data)[pos:end] if end - pos > size else bytearray(data[pos:end]))
    return arrays


def _join_arrays(d: dict[str, Any], arrays: dict[str, tuple[str, list[Any]]]) -> None:
    import numpy as np

    for name, (dtype, parts) in arrays.items():
        d[name] = np.frombuffer(parts[0] if len(parts) == 1 else b"".join(parts), dtype)
