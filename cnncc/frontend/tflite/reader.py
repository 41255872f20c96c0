"""TFLite flatbuffer -> layer IR, without TensorFlow (the ``tflite`` package's generated schema classes).

Reads float32, float16 (fp16 weights behind DEQUANTIZE) and integer-quantised models: int8 and int16x8,
per-tensor and per-channel scales, which become :class:`QuantParams` on the IR tensors (nothing re-calibrated).
4-D activations are NHWC in TFLite and NCHW in the IR: weights are permuted on load (conv OHWI -> OIHW), axis
arguments remapped, and reshapes of 4-D maps get explicit transposes so the IR computes what the file computes.
Layer names are the TFLite output tensor names (Vela's per-layer CSV uses them). Streaming keyword-spotting models
(microWakeWord: VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE, a CALL_ONCE init subgraph) load with each variable
as an extra graph input (its READ_VARIABLE tensor) and its new value as an extra graph output. Any other
multi-subgraph model and any unsupported operator is refused with UnsupportedError (exit 3) naming the operator,
its index and its output tensor.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnncc.errors import CnnccError, InvalidModelError, IRVerifyError, UnsupportedError
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer, WeightTable
from cnncc.ir.types import MAX_ELEMENTS, QUANT_RANGES, QuantParams, TensorType, tensor_type

#: TFLite TensorType code -> IR dtype (FLOAT16 loads as float32; FLOAT64 refused).
TFL_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
_NP = {"float32": np.float32, "float16": np.float16, "int32": np.int32, "uint8": np.uint8, "int64": np.int64,
       "bool": np.bool_, "int16": np.int16, "int8": np.int8}
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)
_VARIABLE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")


@dataclass(frozen=True)
class TflTensor:
    """One tensor of the subgraph as stored (NHWC shapes, TFLite quantised dimension)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None
    quant: QuantParams | None
    variable: bool = False


def op_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def read_model(data: bytes, where: str):
    """Parse and sanity-check the flatbuffer; returns the ``tflite.Model``."""
    import tflite

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise InvalidModelError(f"{where}: not a TFLite model (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        n = model.SubgraphsLength()
        if model.Version() != 3:
            raise UnsupportedError(f"{where}: TFLite schema version {model.Version()} is not supported (3 only)")
    except CnnccError:
        raise
    except Exception as e:  # noqa: BLE001 - a corrupt flatbuffer raises anything
        raise InvalidModelError(f"{where}: TFLite flatbuffer is corrupt or truncated ({type(e).__name__})") from None
    if n == 0:
        raise InvalidModelError(f"{where}: TFLite model has no subgraph")
    return model


def _quant(t, dtype: str) -> QuantParams | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0 or dtype not in QUANT_RANGES:
        return None
    scales = [float(s) for s in q.ScaleAsNumpy()]
    zps = [int(z) for z in q.ZeroPointAsNumpy()] if q.ZeroPointLength() else [0] * len(scales)
    if all(s == 0.0 for s in scales):
        return None
    return QuantParams.channels(scales, zps, int(q.QuantizedDimension()))


def tensors(model, sg, data: bytes, where: str) -> list[TflTensor]:
    out = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{i}"
        code = t.Type()
        if code == 13:  # RESOURCE (variable handle)
            out.append(TflTensor(i, name, (), "int32", None, None, True))
            continue
        dtype = TFL_DTYPES.get(code)
        if dtype is None:
            raise UnsupportedError(f"{where}: tensor {name!r} has unsupported TFLite type {code}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        sig = t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else None
        if any(d < 0 for d in shape) or (sig is not None and any(int(d) < 0 for d in sig[1:])):
            dims = list(sig if sig is not None else shape)
            raise UnsupportedError(f"{where}: tensor {name!r} has a dynamic shape {dims}")
        if shape and shape[0] <= 0:
            shape = (1,) + shape[1:]
        if int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
            raise InvalidModelError(f"{where}: tensor {name!r} shape {shape} is over the element limit")
        arr: np.ndarray | None = None
        buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
        if buf is not None:
            raw = None
            if buf.DataLength():
                raw = buf.DataAsNumpy().tobytes()
            elif buf.Offset() > 1:
                raw = data[buf.Offset():buf.Offset() + buf.Size()]
            if raw:
                need = int(np.prod(shape, dtype=np.int64)) * np.dtype(_NP[dtype]).itemsize
                if len(raw) != need:
                    raise InvalidModelError(f"{where}: constant {name!r} has {len(raw)} bytes, its shape {shape} "
                                            f"needs {need}")
                arr = np.frombuffer(raw, _NP[dtype]).reshape(shape)
        if t.Sparsity() is not None:
            raise UnsupportedError(f"{where}: tensor {name!r} is sparse; sparse TFLite tensors are not supported")
        out.append(TflTensor(i, name, shape, dtype, arr, _quant(t, dtype), bool(t.IsVariable())))
    return out


def check_subgraphs(model, names: dict[int, str], where: str) -> None:
    """One subgraph, or the streaming pattern: subgraph 0 plus init subgraphs only CALL_ONCE'd that hold nothing
    but VAR_HANDLE/ASSIGN_VARIABLE."""
    n = model.SubgraphsLength()
    if n == 1:
        return
    for si in range(1, n):
        sg = model.Subgraphs(si)
        kinds = {_code(model, sg.Operators(i), names) for i in range(sg.OperatorsLength())}
        if not kinds <= {"VAR_HANDLE", "ASSIGN_VARIABLE"}:
            raise UnsupportedError(f"{where}: TFLite model has {n} subgraphs (subgraph {si} runs "
                                   f"{sorted(kinds)[:4]}); only single-subgraph models (plus variable-init "
                                   f"subgraphs) are supported")


def _code(model, op, names) -> str:
    oc = model.OperatorCodes(op.OpcodeIndex())
    code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
    return names.get(code, f"BUILTIN_{code}") if code != 32 else f"CUSTOM:{(oc.CustomCode() or b'').decode()}"


def variable_inits(path: str | Path) -> dict[str, np.ndarray]:
    """The initial values of a streaming model's variables, keyed by the IR graph input each one becomes
    (what LiteRT's first invocation reads); ``{}`` for a model without variables. Arrays are NCHW when 4-D."""
    data = Path(path).read_bytes()
    model = read_model(data, str(path))
    names = op_names()
    init_vals: dict[str, np.ndarray] = {}
    for si in range(1, model.SubgraphsLength()):
        sg = model.Subgraphs(si)
        ts = tensors(model, sg, data, str(path))
        handles = {}
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            kind = _code(model, op, names)
            if kind == "VAR_HANDLE":
                handles[op.Outputs(0)] = _var_key(op)
            elif kind == "ASSIGN_VARIABLE":
                init_vals[handles[op.Inputs(0)]] = ts[op.Inputs(1)].data
    sg = model.Subgraphs(0)
    ts = tensors(model, sg, data, str(path))
    handles, out = {}, {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        kind = _code(model, op, names)
        if kind == "VAR_HANDLE":
            handles[op.Outputs(0)] = _var_key(op)
        elif kind == "READ_VARIABLE":
            v = init_vals.get(handles.get(op.Inputs(0), ""))
            t = ts[op.Outputs(0)]
            if v is not None:
                out[t.name] = np.transpose(v, TO_NCHW) if v.ndim == 4 else v
    return out


def _var_key(op) -> str:
    from tflite.VarHandleOptions import VarHandleOptions

    tab = op.BuiltinOptions()
    if tab is None:
        return ""
    o = VarHandleOptions()
    o.Init(tab.Bytes, tab.Pos)
    return ((o.Container() or b"") + b"/" + (o.SharedName() or b"")).decode()


def load_tflite(path: str | Path, input_shapes: Mapping[str, object] | None = None) -> Graph:
    """Load a ``.tflite`` file into a verified :class:`Graph` (InvalidModelError exit 2, UnsupportedError exit 3)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidModelError(f"{path}: no such file")
    try:
        return _load(path, input_shapes)
    except CnnccError:
        raise
    except (struct.error, ValueError, IndexError, KeyError, TypeError, ArithmeticError, AttributeError,
            UnicodeDecodeError) as e:
        raise InvalidModelError(f"{path}: TFLite flatbuffer is corrupt or truncated ({type(e).__name__})") from None


def _load(path: Path, input_shapes) -> Graph:
    from cnncc.frontend.tflite.reader_ops import Builder

    size = path.stat().st_size
    if size > 2**31 - 1:  # flatbuffers address with 32-bit offsets: no valid TFLite file is larger
        raise InvalidModelError(f"{path}: {size} bytes, over the 2 GiB limit of a TFLite flatbuffer")
    data = path.read_bytes()
    where = str(path)
    model = read_model(data, where)
    names = op_names()
    check_subgraphs(model, names, where)
    if input_shapes:
        raise UnsupportedError(f"{where}: --input-shape is not supported for TFLite models (shapes are fixed)")
    sg = model.Subgraphs(0)
    ts = tensors(model, sg, data, where)
    b = Builder(ts, where)
    for i in range(sg.InputsLength()):
        b.graph_input(ts[sg.Inputs(i)])
    try:
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            b.operator(i, _code(model, op, names), op)
    except CnnccError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, ArithmeticError, AttributeError) as e:
        raise InvalidModelError(f"{where}: malformed operator ({type(e).__name__}: {e})") from None
    outputs = [b.ir_output(ts[sg.Outputs(i)]) for i in range(sg.OutputsLength())] + b.extra_outputs
    sgname = (sg.Name() or b"").decode("utf-8", "replace")
    meta = {"format": "tflite", "source": where, "quant_rounding": "tflite",
            "description": (model.Description() or b"").decode("utf-8", "replace")}
    try:
        return Graph.build(sgname or path.stem, b.inputs, outputs, b.layers,
                           WeightTable(b.weights, quant=b.quant), meta)
    except IRVerifyError as e:
        raise InvalidModelError(f"{where}: {e}") from None


def ir_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[a] for a in TO_NCHW) if len(shape) == 4 else tuple(shape)


def ir_type(t: TflTensor, quant: QuantParams | None) -> TensorType:
    dtype = "float32" if t.dtype == "float16" else t.dtype
    return tensor_type(ir_shape(t.shape), dtype, quant)


__all__ = ["load_tflite", "variable_inits", "TflTensor", "Layer", "O"]
