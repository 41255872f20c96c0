"""A small TFLite flatbuffer builder over the ``tflite`` package's generated schema classes.

Collects tensors (with int8/int32 data and quantisation), operators (builtin code, inputs, outputs, a flat
options table) and serialises one-subgraph schema-v3 models. Lazy imports keep ``cnncc --help`` fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

_NP = {"int8": np.int8, "int32": np.int32, "uint8": np.uint8, "float32": np.float32}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: bytes | None = None
    scales: list[float] = field(default_factory=list)
    zps: list[int] = field(default_factory=list)
    qdim: int = 0


@dataclass
class _Op:
    code: str
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None


class ModelBuilder:
    """Accumulates one subgraph; :meth:`finish` returns the serialised model bytes."""

    def __init__(self) -> None:
        self.tensors: list[_Tensor] = []
        self.operators: list[_Op] = []

    def tensor(self, name: str, shape, dtype: str, data: np.ndarray | None = None,
               scales=None, zps=None, qdim: int = 0) -> int:
        """Add a tensor; ``data`` (constant) is stored little-endian in ``dtype``. Returns its index."""
        raw = None if data is None else np.ascontiguousarray(np.asarray(data).astype(_NP[dtype])).tobytes()
        self.tensors.append(_Tensor(name, tuple(int(d) for d in shape), dtype, raw,
                                    [float(s) for s in (scales if scales is not None else [])],
                                    [int(z) for z in (zps if zps is not None else [])], qdim))
        return len(self.tensors) - 1

    def scale_of(self, idx: int) -> float:
        return self.tensors[idx].scales[0]

    def zp_of(self, idx: int) -> int:
        return self.tensors[idx].zps[0]

    def set_quant(self, idx: int, scale: float, zp: int) -> None:
        self.tensors[idx].scales, self.tensors[idx].zps = [float(scale)], [int(zp)]

    def op(self, code: str, inputs: list[int], outputs: list[int], options: tuple[str, dict] | None = None):
        """Add an operator (``code``: BuiltinOperator name; ``options``: (BuiltinOptions name, {field: value}))."""
        self.operators.append(_Op(code, list(inputs), list(outputs), options))

    # ------------------------------------------------------------------ serialisation
    def finish(self, inputs: list[int], outputs: list[int], name: str) -> bytes:
        import flatbuffers  # type: ignore[import-untyped]
        from tflite import BuiltinOperator, BuiltinOptions, TensorType

        tfl = lambda m: importlib.import_module(f"tflite.{m}")  # noqa: E731
        b = flatbuffers.Builder(1 << 16)

        def ivec(start_fn, values, kind="Int32"):
            start_fn(b, len(values))
            for v in reversed(values):
                getattr(b, f"Prepend{kind}")(v)
            return b.EndVector()

        # buffers: 0 is the empty sentinel
        Buf = tfl("Buffer")
        buf_offsets = []
        Buf.BufferStart(b)
        buf_offsets.append(Buf.BufferEnd(b))
        tensor_buf = []
        for t in self.tensors:
            if t.data is None:
                tensor_buf.append(0)
                continue
            vec = b.CreateByteVector(t.data)
            Buf.BufferStart(b)
            Buf.BufferAddData(b, vec)
            buf_offsets.append(Buf.BufferEnd(b))
            tensor_buf.append(len(buf_offsets) - 1)

        QP, Ten = tfl("QuantizationParameters"), tfl("Tensor")
        ten_offsets = []
        for t, bi in zip(self.tensors, tensor_buf):
            nm = b.CreateString(t.name)
            shp = ivec(Ten.TensorStartShapeVector, list(t.shape))
            q = None
            if t.scales:
                sc = ivec(QP.QuantizationParametersStartScaleVector, t.scales, "Float32")
                zp = ivec(QP.QuantizationParametersStartZeroPointVector, t.zps, "Int64")
                QP.QuantizationParametersStart(b)
                QP.QuantizationParametersAddScale(b, sc)
                QP.QuantizationParametersAddZeroPoint(b, zp)
                QP.QuantizationParametersAddQuantizedDimension(b, t.qdim)
                q = QP.QuantizationParametersEnd(b)
            Ten.TensorStart(b)
            Ten.TensorAddShape(b, shp)
            Ten.TensorAddType(b, getattr(TensorType, t.dtype.upper()))
            Ten.TensorAddBuffer(b, bi)
            Ten.TensorAddName(b, nm)
            if q is not None:
                Ten.TensorAddQuantization(b, q)
            ten_offsets.append(Ten.TensorEnd(b))

        codes: list[str] = []
        for o in self.operators:
            if o.code not in codes:
                codes.append(o.code)
        OC = tfl("OperatorCode")
        code_offsets = []
        for c in codes:
            v = getattr(BuiltinOperator, c)
            OC.OperatorCodeStart(b)
            OC.OperatorCodeAddDeprecatedBuiltinCode(b, min(v, 127))
            OC.OperatorCodeAddBuiltinCode(b, v)
            OC.OperatorCodeAddVersion(b, 1)
            code_offsets.append(OC.OperatorCodeEnd(b))

        Opr = tfl("Operator")
        op_offsets = []
        for o in self.operators:
            opt_off, opt_type = None, 0
            if o.options is not None:
                oname, fields = o.options
                m = tfl(oname)
                getattr(m, f"{oname}Start")(b)
                for k, val in fields.items():
                    getattr(m, f"{oname}Add{k}")(b, val)
                opt_off, opt_type = getattr(m, f"{oname}End")(b), getattr(BuiltinOptions, oname)
            ins = ivec(Opr.OperatorStartInputsVector, o.inputs)
            outs = ivec(Opr.OperatorStartOutputsVector, o.outputs)
            Opr.OperatorStart(b)
            Opr.OperatorAddOpcodeIndex(b, codes.index(o.code))
            Opr.OperatorAddInputs(b, ins)
            Opr.OperatorAddOutputs(b, outs)
            if opt_off is not None:
                Opr.OperatorAddBuiltinOptionsType(b, opt_type)
                Opr.OperatorAddBuiltinOptions(b, opt_off)
            op_offsets.append(Opr.OperatorEnd(b))

        SG, M = tfl("SubGraph"), tfl("Model")

        def ovec(start_fn, offs):
            start_fn(b, len(offs))
            for x in reversed(offs):
                b.PrependUOffsetTRelative(x)
            return b.EndVector()

        tv = ovec(SG.SubGraphStartTensorsVector, ten_offsets)
        iv = ivec(SG.SubGraphStartInputsVector, inputs)
        ov = ivec(SG.SubGraphStartOutputsVector, outputs)
        opv = ovec(SG.SubGraphStartOperatorsVector, op_offsets)
        sgname = b.CreateString(name)
        SG.SubGraphStart(b)
        SG.SubGraphAddTensors(b, tv)
        SG.SubGraphAddInputs(b, iv)
        SG.SubGraphAddOutputs(b, ov)
        SG.SubGraphAddOperators(b, opv)
        SG.SubGraphAddName(b, sgname)
        sg = SG.SubGraphEnd(b)

        codes_v = ovec(M.ModelStartOperatorCodesVector, code_offsets)
        sgs_v = ovec(M.ModelStartSubgraphsVector, [sg])
        bufs_v = ovec(M.ModelStartBuffersVector, buf_offsets)
        desc = b.CreateString("cnncc")
        M.ModelStart(b)
        M.ModelAddVersion(b, 3)
        M.ModelAddOperatorCodes(b, codes_v)
        M.ModelAddSubgraphs(b, sgs_v)
        M.ModelAddDescription(b, desc)
        M.ModelAddBuffers(b, bufs_v)
        b.Finish(M.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())
