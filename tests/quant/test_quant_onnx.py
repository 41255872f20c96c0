"""Quantised ONNX made by onnxruntime.quantization from seeded float models: QDQ folds into one quantised layer
per float layer, QOperator and dynamic (ConvInteger/MatMulInteger) models load, MACs equal the float model's,
and the integer interpreter agrees with onnxruntime.

Measured: bit-exact (0 LSB) on every quantised tensor (run with them exposed as outputs) for QDQ and QOperator,
int8 and uint8 activations, per-tensor and per-channel weights. End to end on the unmodified QDQ file the output
is within 2 LSB: onnxruntime itself runs some QDQ groups as float DQ -> op -> Q (which ones depends on which
tensors are graph outputs), and a tie rounded differently there propagates. Dynamic quantisation: float rounding."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from qnets import float_model, ort_run, ort_run_exposed, quantized  # noqa: E402

import cnncc  # noqa: E402
from cnncc.ir.interp import run  # noqa: E402

CASES = [("res", "qdq", True, "int8"), ("res", "qoperator", False, "uint8"), ("cat", "qdq", False, "uint8"),
         ("cat", "qoperator", True, "int8"), ("res", "qdq", False, "uint8"), ("cat", "qdq", True, "int8")]


@pytest.mark.parametrize("kind,fmt,per_channel,act", CASES)
def test_static_quantised_onnx_matches_onnxruntime(tmp_path, kind, fmt, per_channel, act):
    seed = len(kind) + per_channel
    src = float_model(tmp_path / "f.onnx", seed, kind)
    dst = quantized(src, tmp_path / "q.onnx", fmt, per_channel, act, seed)
    fg, g = cnncc.load(src), cnncc.load(dst)
    assert g.meta["quant_rounding"] == "onnx"
    # one quantised layer per float MAC layer (onnxruntime folds ReLUs into the output range), Quantize at the
    # input and Dequantize at the output
    macs = lambda graph: [(la.kind, graph.macs(la)) for la in graph.layers if graph.macs(la)]  # noqa: E731
    assert macs(g) == macs(fg)
    assert g.layers[0].kind == "Quantize" and g.layers[-1].kind == "Dequantize"
    assert not any(la.kind in ("Quantize", "Dequantize") for la in g.layers[1:-1])
    assert g.total_macs == fg.total_macs > 0
    conv = next(layer for layer in g.layers if layer.kind == "Conv")
    w = g.type_of(conv.inputs[1])
    assert w.dtype == "int8" and (w.quant.axis == 0) == per_channel
    assert g.type_of(conv.outputs[0]).dtype == act
    x = np.random.default_rng(seed).uniform(-1, 1, g.types["x"].shape).astype(np.float32)
    env = run(g, {"x": x}, keep_all=True)
    exposed = ort_run_exposed(dst, {"x": x}, tmp_path)
    shared = [t for t in exposed if t in env and t in g.types and g.types[t].quant is not None]
    assert len(shared) >= 5
    for t in shared:
        assert np.array_equal(exposed[t], env[t]), t
    scale = g.type_of(g.layers[-1].inputs[0]).quant.scale[0]
    end_to_end = np.max(np.abs(ort_run(dst, {"x": x})[0] - env[g.outputs[0]])) / scale
    assert end_to_end <= 2.0 + 1e-3


@pytest.mark.parametrize("kind", ["res", "cat"])
def test_dynamic_quantised_onnx_matches_onnxruntime(tmp_path, kind):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = float_model(tmp_path / "f.onnx", 3, kind)
    dst = tmp_path / "d.onnx"
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv", "MatMul", "Gemm"])
    g = cnncc.load(dst)
    kinds = {layer.kind for layer in g.layers}
    assert {"DynamicQuantize", "ConvInteger"} <= kinds
    assert g.total_macs == cnncc.load(src).total_macs
    x = np.random.default_rng(3).uniform(-1, 1, g.types["x"].shape).astype(np.float32)
    ref = ort_run(dst, {"x": x})[0]
    assert np.allclose(run(g, {"x": x})[g.outputs[0]], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
