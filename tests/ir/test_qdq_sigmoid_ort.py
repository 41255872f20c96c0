"""A quantised ONNX Sigmoid against onnxruntime: onnxruntime's float Sigmoid is MLAS's rational approximation
(``cnncc.ir.ort_float.logistic``), not 1/(1+exp(-x)); with the tiny output scale a Sigmoid gets when it was
calibrated on strongly negative inputs (PP-OCRv4 det's head: s = 1.6e-9) the difference is tens of LSB.

Graphs are built with onnx.helper and quantised by onnxruntime's own ``quantize_static`` (QDQ, int8) on seeded
calibration data; they are then run on inputs beyond the calibrated range. Agreement stated per test: the float
function bit-exact (within 1 ulp where a CPU lacks FMA: onnxruntime then runs its SSE2 kernel), the quantised
graphs bit-exact (0 LSB) against onnxruntime with graph optimisations off (the QDQ nodes as written) and, for the
lone Sigmoid, also against the default session (``QLinearSigmoid``, a table of the same function)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

from qdq_util import cnncc_run as _cnncc  # noqa: E402
from qdq_util import model as _model  # noqa: E402
from qdq_util import ort_run as _ort  # noqa: E402
from qdq_util import out_scale as _out_scale  # noqa: E402
from qdq_util import quantise as _quantise  # noqa: E402


def test_logistic_matches_onnxruntime_sigmoid():
    """The float function on seeded values across and beyond the clamp range (±18)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from cnncc.ir.ort_float import logistic

    r = np.random.default_rng(7)
    x = np.concatenate([r.uniform(-25, 25, 200_000), r.normal(0, 4, 50_000), [-18, -17.999, 18, 0, -1e-30, 30],
                        np.float32(-18) + np.arange(-50, 50) * np.float32(2 ** -19)]).astype(np.float32)
    g = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"])], "s",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [x.size])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [x.size])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = logistic(x)
    assert got.dtype == np.float32
    ulps = np.abs(got.view(np.int32).astype(np.int64) - ref.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1, (x[ulps.argmax()], got[ulps.argmax()], ref[ulps.argmax()])
    # and it is not the exact logistic: onnxruntime's is 0 below -18 and ~2x too large near -17
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.max(np.abs(exact - got)) > 1e-8


@pytest.mark.parametrize("seed", range(4))
def test_qdq_sigmoid_small_scale_matches_onnxruntime(tmp_path, seed):
    """Q -> DQ -> Sigmoid -> Q -> DQ calibrated on inputs in [-30, -14] (output scale ~1e-9), run on [-32, -8]:
    0 LSB against onnxruntime unoptimised and against its default session (fused QLinearSigmoid)."""
    from onnx import helper

    r = np.random.default_rng(300 + seed)
    shape = (1, int(r.integers(1, 5)), int(r.integers(2, 9)), int(r.integers(2, 9)))
    hi = float(r.uniform(-16, -13))
    calib = [r.uniform(-30, hi, shape).astype(np.float32) for _ in range(4)]
    path = _quantise(tmp_path, _model([helper.make_node("Sigmoid", ["x"], ["y"])], {}, shape, shape), calib)
    x = r.uniform(-32, -8, shape).astype(np.float32)
    g, got = _cnncc(path, x)
    s = _out_scale(g)
    assert s < 1e-6  # the degenerate calibration this test is about
    for optimise in (False, True):
        ref = _ort(path, x, optimise)
        assert np.max(np.abs(got.astype(np.float64) - ref)) / s < 1e-3, optimise


@pytest.mark.parametrize("seed", range(4))
def test_qdq_conv_sigmoid_head_matches_onnxruntime(tmp_path, seed):
    """A detection-head pattern: Conv (bias pushing the logits below -14 on the calibration data) -> Sigmoid,
    quantised per channel; 0 LSB against onnxruntime running the QDQ nodes as written."""
    from onnx import helper

    r = np.random.default_rng(400 + seed)
    c, k, hw = int(r.integers(1, 4)), int(r.integers(1, 3)), int(r.integers(3, 8))
    f = int(r.choice([1, 3]))
    w = (r.standard_normal((k, c, f, f)) * 0.3).astype(np.float32)
    b = r.uniform(-20, -16, k).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["z"], pads=[f // 2] * 4),
             helper.make_node("Sigmoid", ["z"], ["y"])]
    model = _model(nodes, {"w": w, "b": b}, (1, c, hw, hw), (1, k, hw, hw))
    calib = [r.uniform(-1, 1, (1, c, hw, hw)).astype(np.float32) for _ in range(4)]
    path = _quantise(tmp_path, model, calib)
    x = r.uniform(-3, 3, (1, c, hw, hw)).astype(np.float32)  # beyond the calibration: logits up to ~-10
    g, got = _cnncc(path, x)
    s = _out_scale(g)
    ref = _ort(path, x, optimise=False)
    assert np.max(np.abs(got.astype(np.float64) - ref)) / s < 1e-3


@pytest.mark.parametrize("seed", range(6))
def test_qdq_hardswish_matches_onnxruntime(tmp_path, seed):
    """PP-OCR's hard-swish, x·clip(x + 3, 0, 6)/6 (+ a per-channel bias), quantised by quantize_static: the Clip
    folds into the Add's output range (6/255, zero point -128), so x = 0 makes x + 3 an exact .5 tie there, and
    30 % of the inputs are 0. 0 LSB against onnxruntime running the QDQ nodes as written and against its default
    session (QLinearAdd/QLinearMul; its x86 Add rounds some of those ties the other way, which the Mul by x = 0
    then hides)."""
    from onnx import helper

    r = np.random.default_rng(500 + seed)
    shape = (1, int(r.integers(1, 5)), int(r.integers(2, 9)), int(r.integers(2, 9)))
    inits = {"three": np.float32(3), "zero": np.float32(0), "six": np.float32(6),
             "b": r.uniform(-0.5, 0.5, (shape[1], 1, 1)).astype(np.float32)}
    nodes = [helper.make_node("Add", ["x", "three"], ["a"]), helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
             helper.make_node("Mul", ["x", "c"], ["m"]), helper.make_node("Div", ["m", "six"], ["h"]),
             helper.make_node("Add", ["h", "b"], ["y"])]  # PP-OCR's learnable affine after it (quantises the Div)
    amp = float(r.uniform(2, 8))
    calib = [r.uniform(-amp, amp, shape).astype(np.float32) for _ in range(4)]
    path = _quantise(tmp_path, _model(nodes, inits, shape, shape), calib)
    x = np.where(r.random(shape) < 0.3, 0, r.uniform(-1.2 * amp, 1.2 * amp, shape)).astype(np.float32)  # x = 0: a tie
    g, got = _cnncc(path, x)
    s = _out_scale(g)
    lsb = {opt: np.max(np.abs(got.astype(np.float64) - _ort(path, x, opt))) / s for opt in (False, True)}
    assert lsb[False] < 1e-3 and lsb[True] < 1e-3, lsb


@pytest.mark.parametrize("op,attrs", [("Sigmoid", {}), ("Tanh", {}), ("HardSwish", {}),
                                      ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}), ("LeakyRelu", {"alpha": 0.1})])
def test_int8_input_qdq_activation_table_matches_onnxruntime(tmp_path, op, attrs):
    """An int8 graph input read by a DequantizeLinear (the input carries that node's quantisation) -> activation
    -> Q -> DQ, every int8 value, seeded scales and zero points: 0 LSB against onnxruntime as written and its
    default session (QLinearSigmoid/QLinearLeakyRelu tables, or the nodes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    r = np.random.default_rng(sum(map(ord, op)))
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)
    for trial in range(6):
        si, zi = float(r.uniform(0.005, 0.2)), int(r.integers(-60, 60))
        lo, hi = {"Sigmoid": (0, 1), "Tanh": (-1, 1), "HardSwish": (-0.4, 6), "HardSigmoid": (0, 1)}.get(
            op, (0.1 * si * (-128 - zi), si * (127 - zi)))
        so = float((hi - lo) / 255 * r.uniform(0.3, 1.2))
        zo = int(np.clip(np.round(-128 - lo / so), -128, 127))
        nodes = [helper.make_node("DequantizeLinear", ["x", "si", "zi"], ["xf"]),
                 helper.make_node(op, ["xf"], ["yf"], **attrs),
                 helper.make_node("QuantizeLinear", ["yf", "so", "zo"], ["yq"]),
                 helper.make_node("DequantizeLinear", ["yq", "so", "zo"], ["y"])]
        inits = [numpy_helper.from_array(np.float32(si), "si"), numpy_helper.from_array(np.int8(zi), "zi"),
                 numpy_helper.from_array(np.float32(so), "so"), numpy_helper.from_array(np.int8(zo), "zo")]
        g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.INT8, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x.shape))], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
        m.ir_version = 8
        path = tmp_path / f"{trial}.onnx"
        onnx.save(m, path)
        cg, got = _cnncc(path, x)
        assert cg.type_of("x").quant is not None
        for optimise in (False, True):
            ref = _ort(path, x, optimise)
            assert np.max(np.abs(got - ref)) / so < 1e-3, (trial, optimise)
