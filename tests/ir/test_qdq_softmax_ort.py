"""A quantised ONNX Softmax against onnxruntime. Its default CPU session fuses DQ -> Softmax -> Q into
com.microsoft QLinearSoftmax (an exp table of the input integers with headroom, a float32 running sum, the output
scale as floor(1/s_y)), the same on every CPU, and cnncc's interpreter computes that: 0 LSB against the default
session on seeded quantize_static graphs (axes first/middle/last, rows of 2 to 80); against the nodes run as
written (float Softmax, then QuantizeLinear) within 1 LSB."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

from qdq_util import cnncc_run, model, ort_run, out_scale, quantise  # noqa: E402

CASES = [((1, 2), -1), ((1, 16), 1), ((1, 80), -1), ((1, 16, 4, 6), 1), ((1, 3, 5, 7), -1), ((1, 6, 5, 4), 2)]


@pytest.mark.parametrize("shape,axis", CASES)
def test_qdq_softmax_matches_onnxruntime(tmp_path, shape, axis):
    from onnx import helper

    r = np.random.default_rng(len(shape) * 100 + shape[-1] + axis)
    amp = float(r.uniform(1, 12))
    calib = [(r.standard_normal(shape) * amp).astype(np.float32) for _ in range(4)]
    path = quantise(tmp_path, model([helper.make_node("Softmax", ["x"], ["y"], axis=axis)], {}, shape, shape),
                    calib)
    x = (r.standard_normal(shape) * amp * 1.2).astype(np.float32)
    g, got = cnncc_run(path, x)
    s = out_scale(g)
    fused = np.max(np.abs(got.astype(np.float64) - ort_run(path, x, optimise=True))) / s
    written = np.max(np.abs(got.astype(np.float64) - ort_run(path, x, optimise=False))) / s
    assert fused < 1e-3 and written <= 1 + 1e-3, (fused, written)
