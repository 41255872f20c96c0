"""TRANSPOSE_CONV (int8, per-channel weights, SAME and VALID padding, with bias): reader and integer interpreter
against LiteRT's reference kernels; MACs = input positions x kernel taps x input channels x output channels."""

from __future__ import annotations

import numpy as np
import pytest

import cnncc
from cnncc.frontend.tflite.builder import ModelBuilder


def _model(path, seed: int, padding: int) -> tuple[int, int, int, int]:
    rng = np.random.default_rng(seed)
    c, k, hw, f, s = int(rng.integers(2, 6)), int(rng.integers(2, 7)), int(rng.integers(3, 7)), 3, 2
    oh = hw * s if padding == 0 else (hw - 1) * s + f
    mb = ModelBuilder()
    sx, sy = 0.05, float(rng.uniform(0.05, 0.2))
    sw = rng.uniform(0.005, 0.02, k)
    x = mb.tensor("x", (1, hw, hw, c), "int8", scales=[sx], zps=[int(rng.integers(-10, 10))])
    shape = mb.tensor("out_shape", (4,), "int32", np.array([1, oh, oh, k]))
    w = mb.tensor("w", (k, f, f, c), "int8", rng.integers(-127, 128, (k, f, f, c)), scales=sw, zps=[0] * k, qdim=0)
    b = mb.tensor("b", (k,), "int32", rng.integers(-500, 500, k), scales=sx * sw, zps=[0] * k)
    y = mb.tensor("tconv", (1, oh, oh, k), "int8", scales=[sy], zps=[int(rng.integers(-5, 5))])
    mb.op("TRANSPOSE_CONV", [shape, w, x, b], [y], ("TransposeConvOptions", {"Padding": padding, "StrideW": s,
                                                                             "StrideH": s}))
    path.write_bytes(mb.finish([x], [y], "tconv"))
    return c, k, hw, f


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("seed", [0, 1])
def test_transpose_conv_vs_litert(tmp_path, seed, padding):
    path = tmp_path / "t.tflite"
    c, k, hw, f = _model(path, seed, padding)
    g = cnncc.load(path)
    assert [la.kind for la in g.layers] == ["ConvTranspose"]
    assert g.total_macs == hw * hw * f * f * c * k
    pytest.importorskip("ai_edge_litert")
    from litert_ref import compare

    agree = compare(path, "BUILTIN_REF", seed=seed)
    assert agree.outputs_lsb == 0, agree
