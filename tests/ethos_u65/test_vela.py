"""The int8 TFLite exporter and the comparison with Arm Vela on two small networks (skipped only when the
``ethosu`` package, Vela, is not installed; CI installs it)."""

from __future__ import annotations

import importlib.util

import pytest

from cnncc.frontend.tflite.writer import to_tflite_bytes, write_tflite
from tests.ethos_u65 import nets


def test_tflite_export_structure(tmp_path):
    import tflite

    g = nets.small_residual()
    p = tmp_path / "m.tflite"
    summary = write_tflite(g, p)
    m = tflite.Model.GetRootAsModel(p.read_bytes(), 0)
    sg = m.Subgraphs(0)
    names = {sg.Tensors(i).Name().decode() for i in range(sg.TensorsLength())}
    assert {layer.name for layer in g.layers if layer.kind not in ("Flatten",)} <= names
    assert summary["operators"] == sg.OperatorsLength() >= 9
    conv_w = next(sg.Tensors(i) for i in range(sg.TensorsLength()) if sg.Tensors(i).Name() == b"stem/weights")
    assert conv_w.Type() == tflite.TensorType.INT8 and conv_w.Quantization().ScaleLength() == 16  # per channel
    assert to_tflite_bytes(g)[0] == to_tflite_bytes(g)[0]  # deterministic


VELA = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")


def _compare():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare

    return compare


@VELA
@pytest.mark.parametrize("build,within,total", [(nets.net8, 7, 0.01), (nets.small_residual, 5, 0.05)])
def test_agrees_with_vela(build, within, total, tmp_path):
    r = _compare()(build(), "Ethos_U65_Client_Server", "ethos-u65-256", tmp_path)
    # measured (Vela 5.2.0): net8 7/8 layers within ±10 % (6 exact; conv1 0.886), total 0.994; small_residual 5/7
    assert r["layers"] >= 7
    assert abs(r["total_ratio"] - 1) <= total, r
    assert r["within"] >= within, r["pairs"]
