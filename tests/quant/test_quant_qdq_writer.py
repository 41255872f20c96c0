"""`cnncc opt` / write_onnx of a quantised graph writes QDQ ONNX: onnxruntime runs it with the same integer
outputs as the input model (ONNX-made models), the scales and integer weights survive a reload, and a TFLite
model written as QDQ stays within 2 LSB of the TFLite integer semantics (onnxruntime rounds differently)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from qnets import float_model, ort_run, quantized  # noqa: E402

import cnncc  # noqa: E402
from cnncc.frontend.onnx.writer import write_onnx  # noqa: E402
from cnncc.ir.interp import run  # noqa: E402


@pytest.mark.parametrize("kind,fmt", [("res", "qdq"), ("cat", "qoperator")])
def test_quantised_onnx_round_trip_same_integer_outputs(tmp_path, kind, fmt):
    src = quantized(float_model(tmp_path / "f.onnx", 7, kind), tmp_path / "q.onnx", fmt, True, "int8", 7)
    g = cnncc.load(src)
    out = tmp_path / "out.onnx"
    write_onnx(g, out)
    g2 = cnncc.load(out)
    assert g2.total_macs == g.total_macs
    assert [la.kind for la in g2.layers] == [la.kind for la in g.layers]
    for a, b in zip(g.layers, g2.layers):
        for ta, tb in zip(a.inputs + a.outputs, b.inputs + b.outputs):
            assert g.type_of(ta).quant == g2.type_of(tb).quant, (a.name, ta)
    x = np.random.default_rng(7).uniform(-1, 1, g.types["x"].shape).astype(np.float32)
    assert np.array_equal(ort_run(out, {"x": x})[0], ort_run(src, {"x": x})[0])


def test_tflite_model_as_qdq_onnx(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tflite"))
    from tfl_nets import NETS

    from cnncc.frontend.tflite.writer import write_tflite

    src = tmp_path / "m.tflite"
    write_tflite(NETS["conv"](2), src)
    g = cnncc.load(src)
    out = tmp_path / "m.onnx"
    write_onnx(g, out)
    x = np.random.default_rng(0).integers(-128, 128, g.types["x"].shape).astype(np.int8)
    ref = ort_run(out, {"x": x})[0]
    mine = run(g, {"x": x})[g.outputs[0]]
    assert ref.dtype == mine.dtype == np.int8
    assert np.max(np.abs(ref.astype(int) - mine.astype(int))) <= 2
    assert cnncc.load(out).total_macs == g.total_macs
