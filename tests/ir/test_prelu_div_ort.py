"""PRelu (float and QDQ) and a quantised Div against onnxruntime, on seeded random shapes and quantisation
parameters: the ONNX reader, the float interpreter (bit-exact in float32) and the integer interpreter (a QDQ graph
means dequantize -> float op -> quantize: PRelu bit-exact, Div within 1 LSB), including a PRelu whose output
onnxruntime keeps float into a ceil-mode MaxPool / Flatten before the QuantizeLinear."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")


def _save(tmp_path, nodes, inits, x_shape, outs):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    return path


def _ort(path, x):
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, {"x": x})))


def _cnncc(path, x):
    import cnncc
    from cnncc.ir.interp import run

    g = cnncc.load(path)
    return run(g, {"x": x})


def _slope_shape(r, shape):
    c = shape[1]
    return [(c, 1, 1), (1,), (c, 1, 1) if len(shape) == 4 else (shape[-1],), tuple(shape[1:])][int(r.integers(4))] \
        if len(shape) == 4 else [(shape[-1],), (1,)][int(r.integers(2))]


def _shape(r):
    return (1, int(r.integers(1, 9)), int(r.integers(1, 8)), int(r.integers(1, 8))) if r.random() < 0.75 \
        else (1, int(r.integers(2, 40)))


def _q(name, s, z):
    return {f"{name}_s": np.float32(s), f"{name}_z": np.int8(z)}


def _qdq(helper, t, name):
    """QuantizeLinear + DequantizeLinear of ``t`` with the parameters ``name``_s / ``name``_z."""
    return [helper.make_node("QuantizeLinear", [t, f"{name}_s", f"{name}_z"], [f"{t}_q"]),
            helper.make_node("DequantizeLinear", [f"{t}_q", f"{name}_s", f"{name}_z"], [f"{t}_dq"])]


@pytest.mark.parametrize("seed", range(6))
def test_float_prelu_matches_onnxruntime(tmp_path, seed):
    from onnx import helper

    r = np.random.default_rng(seed)
    shape = _shape(r)
    slope = r.uniform(-0.5, 1.5, _slope_shape(r, shape)).astype(np.float32)
    path = _save(tmp_path, [helper.make_node("PRelu", ["x", "a"], ["y"])], {"a": slope}, shape, ["y"])
    x = r.standard_normal(shape).astype(np.float32)
    got, ref = _cnncc(path, x)["y"], _ort(path, x)["y"]
    assert got.dtype == np.float32 and np.array_equal(got, ref)


@pytest.mark.parametrize("seed", range(8))
def test_qdq_prelu_matches_onnxruntime(tmp_path, seed):
    """DQ -> PRelu -> [MaxPool ceil_mode | Flatten] -> Q -> DQ, slope float or itself a DQ of int8 constants."""
    from onnx import helper

    r = np.random.default_rng(100 + seed)
    shape = (1, int(r.integers(1, 9)), int(r.integers(3, 9)), int(r.integers(3, 9))) if seed % 2 == 0 else _shape(r)
    slope = r.uniform(-0.5, 1.5, _slope_shape(r, shape)).astype(np.float32)
    inits = {**_q("x", r.uniform(0.005, 0.05), r.integers(-40, 40)), **_q("y", r.uniform(0.005, 0.05),
                                                                          r.integers(-40, 40))}
    nodes = _qdq(helper, "x", "x")
    if seed % 4 == 1:  # the slope quantised too
        inits.update({"a_int": np.clip(np.round(slope / 0.01), -127, 127).astype(np.int8), "a_s": np.float32(0.01),
                      "a_z": np.int8(0)})
        nodes.append(helper.make_node("DequantizeLinear", ["a_int", "a_s", "a_z"], ["a"]))
    else:
        inits["a"] = slope
    nodes.append(helper.make_node("PRelu", ["x_dq", "a"], ["p"]))
    last = "p"
    if seed % 2 == 0:  # onnxruntime keeps the PRelu output float into the MaxPool: one rounding, at the Q
        nodes.append(helper.make_node("MaxPool", ["p"], ["m"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
        last = "m"
    elif len(shape) == 4:
        nodes.append(helper.make_node("Flatten", ["p"], ["m"], axis=1))
        last = "m"
    nodes += _qdq(helper, last, "y")
    path = _save(tmp_path, nodes, inits, shape, [f"{last}_dq"])
    x = (r.standard_normal(shape) * 0.8).astype(np.float32)
    got, ref = _cnncc(path, x)[f"{last}_dq"], _ort(path, x)[f"{last}_dq"]
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref)) / inits["y_s"] < 1e-3  # bit-exact (in output LSB)


@pytest.mark.parametrize("seed", range(6))
def test_qdq_div_matches_onnxruntime(tmp_path, seed):
    """DQ -> Div by a float constant (scalar or per channel), or by a second quantised activation -> Q -> DQ."""
    from onnx import helper

    r = np.random.default_rng(200 + seed)
    shape = _shape(r)
    inits = {**_q("x", r.uniform(0.005, 0.05), r.integers(-40, 40)), **_q("y", r.uniform(0.005, 0.1),
                                                                          r.integers(-40, 40))}
    nodes = _qdq(helper, "x", "x")
    if seed % 3 == 2:  # x / (x·x + 0.5): two quantised activations
        inits.update({"half": np.float32(0.5), **_q("d", r.uniform(0.01, 0.05), -128),
                      **_q("sq", r.uniform(0.01, 0.05), -128)})
        nodes.append(helper.make_node("Mul", ["x_dq", "x_dq"], ["sq"]))
        nodes += _qdq(helper, "sq", "sq")  # every op output quantised, as onnxruntime's quantiser writes it
        nodes.append(helper.make_node("Add", ["sq_dq", "half"], ["d"]))
        nodes += _qdq(helper, "d", "d")
        nodes.append(helper.make_node("Div", ["x_dq", "d_dq"], ["y"]))
    else:
        div = np.float32(6.0) if seed % 3 == 0 else r.uniform(0.5, 3, _slope_shape(r, shape)).astype(np.float32)
        inits["c"] = div
        nodes.append(helper.make_node("Div", ["x_dq", "c"], ["y"]))
    nodes += _qdq(helper, "y", "y")
    path = _save(tmp_path, nodes, inits, shape, ["y_dq"])
    x = (r.standard_normal(shape) * 0.8).astype(np.float32)
    got, ref = _cnncc(path, x)["y_dq"], _ort(path, x)["y_dq"]
    assert np.max(np.abs(got - ref)) / inits["y_s"] <= 1.0 + 1e-3
