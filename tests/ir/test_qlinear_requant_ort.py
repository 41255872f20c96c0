"""The accumulator rescale of onnxruntime's QLinearConv / QLinearMatMul: ``s_x·s_w[k]/s_y`` evaluated in float32
(product rounded, then the quotient), ``float(acc)·scale`` rounded half to even. Seeded scale triples where that
float32 scale differs in its last bit from the correctly rounded one, each with an accumulator whose product
lies between the two roundings of a .5 tie: cnncc's interpreter = onnxruntime on every case (0 LSB); the scale
computed in double instead is 1 LSB off on them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")


def _tie_cases(seed: int, n: int, accs: np.ndarray):
    """(s_x, s_w, s_y, acc): float32 scales where the two evaluations of the rescale differ, ``acc`` from
    ``accs`` with |acc·scale| < 100 that rounds differently under them."""
    r = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        sx, sw, sy = (np.float32(r.uniform(lo, hi)) for lo, hi in ((0.001, 0.1), (0.0005, 0.02), (0.01, 0.5)))
        s32 = np.float32(np.float32(sx * sw) / sy)
        s64 = np.float32(np.float64(sx) * np.float64(sw) / np.float64(sy))
        if s32 == s64:
            continue
        f = accs.astype(np.float32)
        hit = (np.rint(f * s32) != np.rint(f * s64)) & (np.abs(f * s32) < 100)
        if hit.any():
            out.append((sx, sw, sy, int(accs[hit][0])))
    return out


def _run_both(tmp_path, model, feeds):
    import onnx
    import onnxruntime as ort

    import cnncc
    from cnncc.ir.interp import run

    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    return run(cnncc.load(path), feeds)["y"], ref


def test_qlinearconv_rescale_ties_match_onnxruntime(tmp_path):
    """1x1 QLinearConv, int8, the accumulator set by the int32 bias (x at its zero point)."""
    from onnx import TensorProto, helper, numpy_helper

    for sx, sw, sy, acc in _tie_cases(11, 12, np.arange(1, 20000, dtype=np.int64)):
        c = {"xs": sx, "xz": np.int8(0), "w": np.ones((1, 1, 1, 1), np.int8), "ws": sw, "wz": np.int8(0),
             "ys": sy, "yz": np.int8(0), "b": np.array([acc], np.int32)}
        node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"])
        g = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, [1, 1, 1, 1])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in c.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        got, ref = _run_both(tmp_path, m, {"x": np.zeros((1, 1, 1, 1), np.int8)})
        assert np.array_equal(got, ref), (sx, sw, sy, acc, got, ref)


def test_qlinearmatmul_rescale_ties_match_onnxruntime(tmp_path):
    """1x1 QLinearMatMul, uint8 (onnxruntime's opset-10 kernel), the accumulator a product a·b of two values."""
    from onnx import TensorProto, helper, numpy_helper

    prods = np.unique(np.outer(np.arange(1, 256), np.arange(1, 256)).ravel()).astype(np.int64)
    for sx, sw, sy, acc in _tie_cases(12, 12, prods):
        a = next(d for d in range(1, 256) if acc % d == 0 and acc // d < 256)
        c = {"as": sx, "az": np.uint8(0), "b": np.array([[acc // a]], np.uint8), "bs": sw, "bz": np.uint8(0),
             "ys": sy, "yz": np.uint8(128)}
        node = helper.make_node("QLinearMatMul", ["x", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
        g = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 1])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in c.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        got, ref = _run_both(tmp_path, m, {"x": np.array([[a]], np.uint8)})
        assert np.array_equal(got, ref), (sx, sw, sy, acc, got, ref)
