"""A quantised elementwise op whose first operand is a quantised constant of the activation's own shape
(YOLOv8's anchor decode: anchors - d, anchors + d). The reader types constants float32, so such an Add/Sub/Mul
looked float when its QuantizeLinear was read, and was kept with a second requantising layer (two roundings,
up to 4 LSB on YOLOv8n's boxes); it is now one quantised layer writing the Q's integers. Seeded quantize_static
graphs (anchors + x, gain · that, + x): 0 LSB against onnxruntime as written and its default session."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

from qdq_util import cnncc_run, model, ort_run, out_scale, quantise  # noqa: E402


@pytest.mark.parametrize("seed", range(4))
def test_constant_first_operand_matches_onnxruntime(tmp_path, seed):
    from onnx import helper

    r = np.random.default_rng(600 + seed)
    shape = (1, 2, int(r.integers(20, 90)))
    anchors = (np.tile(np.arange(shape[2], dtype=np.float32), (1, 2, 1)) * r.uniform(0.2, 1) + 0.5).astype(np.float32)
    gain = r.uniform(0.5, 2, shape).astype(np.float32)
    nodes = [helper.make_node("Add", ["a", "x"], ["rb"]), helper.make_node("Mul", ["g", "rb"], ["m"]),
             helper.make_node("Add", ["m", "x"], ["y"])]  # (quantize_static leaves a lone Sub float)
    calib = [r.uniform(0, 8, shape).astype(np.float32) for _ in range(4)]
    path = quantise(tmp_path, model(nodes, {"a": anchors, "g": gain}, shape, shape), calib)
    x = r.uniform(0, 9, shape).astype(np.float32)
    g, got = cnncc_run(path, x)
    assert not any(layer.kind == "Quantize" for layer in g.layers[1:])  # one quantised layer per op
    s = out_scale(g)
    for optimise in (False, True):
        assert np.max(np.abs(got.astype(np.float64) - ort_run(path, x, optimise))) / s < 1e-3, optimise
