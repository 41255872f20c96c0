"""int16x8 TFLite (int16 activations, int8 weights, int64 biases), built with cnncc's flatbuffer builder from
seeded weights: the integer interpreter is bit-exact against LiteRT's reference kernels, and the IR reports
2-byte activations (arithmetic intensity from real bytes)."""

from __future__ import annotations

import numpy as np
import pytest

import cnncc
from cnncc.frontend.tflite import builder


def _model(path, seed: int, monkeypatch) -> None:
    monkeypatch.setitem(builder._NP, "int16", np.int16)
    monkeypatch.setitem(builder._NP, "int64", np.int64)
    rng = np.random.default_rng(seed)
    c, k, hw, n = 4, 8, 8, 5
    mb = builder.ModelBuilder()
    sw = rng.uniform(0.002, 0.02, k)
    sx = 1 / 4096
    sy = float(rng.uniform(600, 1200)) * sx * float(sw.mean())   # ~4 sigma of the accumulator: little clamping
    x = mb.tensor("x", (1, hw, hw, c), "int16", scales=[sx], zps=[0])
    w = mb.tensor("conv/w", (k, 3, 3, c), "int8", rng.integers(-127, 128, (k, 3, 3, c)), scales=sw,
                  zps=[0] * k, qdim=0)
    b = mb.tensor("conv/b", (k,), "int64", rng.integers(-2000, 2000, k), scales=sx * sw, zps=[0] * k)
    y = mb.tensor("conv", (1, hw, hw, k), "int16", scales=[sy], zps=[0])
    mb.op("CONV_2D", [x, w, b], [y], ("Conv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1,
                                                          "FusedActivationFunction": 1}))
    p = mb.tensor("pool", (1, hw // 2, hw // 2, k), "int16", scales=[sy], zps=[0])
    mb.op("AVERAGE_POOL_2D", [y], [p], ("Pool2DOptions", {"Padding": 1, "StrideW": 2, "StrideH": 2,
                                                            "FilterWidth": 2, "FilterHeight": 2}))
    m = mb.tensor("maxpool", (1, hw // 2, hw // 2, k), "int16", scales=[sy], zps=[0])
    mb.op("MAX_POOL_2D", [y], [m], ("Pool2DOptions", {"Padding": 1, "StrideW": 2, "StrideH": 2,
                                                        "FilterWidth": 2, "FilterHeight": 2}))
    a = mb.tensor("add", (1, hw // 2, hw // 2, k), "int16", scales=[2 * sy], zps=[0])
    mb.op("ADD", [p, m], [a], ("AddOptions", {"FusedActivationFunction": 0}))
    f = mb.tensor("flat", (1, k * (hw // 2) ** 2), "int16", scales=[2 * sy], zps=[0])
    shape = mb.tensor("flat/shape", (2,), "int32", np.array([1, k * (hw // 2) ** 2]))
    mb.op("RESHAPE", [a, shape], [f])
    sf = float(rng.uniform(0.002, 0.01))
    sp = float(rng.uniform(300, 800)) * 2 * sy * sf
    fw = mb.tensor("fc/w", (n, k * (hw // 2) ** 2), "int8", rng.integers(-127, 128, (n, k * (hw // 2) ** 2)),
                   scales=[sf], zps=[0])
    fb = mb.tensor("fc/b", (n,), "int64", rng.integers(-500, 500, n), scales=[2 * sy * sf], zps=[0])
    out = mb.tensor("fc", (1, n), "int16", scales=[sp], zps=[0])
    mb.op("FULLY_CONNECTED", [f, fw, fb], [out], ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
    path.write_bytes(mb.finish([x], [out], "int16x8"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_int16x8_bit_exact_vs_litert_reference(tmp_path, seed, monkeypatch):
    pytest.importorskip("ai_edge_litert")
    from litert_ref import compare

    path = tmp_path / "m.tflite"
    _model(path, seed, monkeypatch)
    agree = compare(path, "BUILTIN_REF", seed=seed)
    assert agree.compared >= 5
    assert agree.outputs_lsb == 0 and agree.tensors_lsb == 0, agree


def test_int16_activations_are_two_bytes(tmp_path, monkeypatch):
    path = tmp_path / "m.tflite"
    _model(path, 0, monkeypatch)
    g = cnncc.load(path)
    conv = g.layer("conv")
    x, w, y = g.type_of(conv.inputs[0]), g.type_of(conv.inputs[1]), g.type_of(conv.outputs[0])
    assert (x.dtype, x.itemsize, w.itemsize, y.itemsize) == ("int16", 2, 1, 2)
    assert g.type_of(conv.inputs[2]).dtype == "int64"
    nest = g.loop_nest(conv)
    ai = g.intensities(conv)
    assert ai.ai_in == round(nest.macs / (2 * nest.input_elems), 4)
    assert ai.ai_w == round(nest.macs / nest.weight_elems, 4)
    assert ai.ai_out == round(nest.macs / (2 * nest.output_elems), 4)


def test_int16x8_on_ethos_is_refused_not_undercosted(tmp_path, monkeypatch):
    """The Ethos-U model sizes feature maps at 1 byte; an int16x8 model exits 3 naming the layer instead of being
    costed as if its activations were int8. The other targets cost it with its 2-byte elements."""
    from cnncc.errors import UnsupportedError

    path = tmp_path / "m.tflite"
    _model(path, 0, monkeypatch)
    with pytest.raises(UnsupportedError, match="int16 activations"):
        cnncc.compile(path, target="ethos-u65-256")
    assert cnncc.compile(path, target="offload-64k").totals["cycles"] > 0
