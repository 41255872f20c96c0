"""Pow, Sqrt and the ONNX LayerNorm pattern they come in (ReduceMean over the last axis, Sub, Pow 2, ReduceMean,
Add eps, Sqrt, Div, Mul gamma, Add beta: PP-OCRv4 rec's SVTR neck) against onnxruntime on seeded shapes: the ONNX
reader, the float interpreter (float32, within 2 ulp-sized steps of onnxruntime run as written) and, quantised by
onnxruntime's own quantize_static, the integer interpreter against onnxruntime's session with the int8 -> uint8
rewrite off (the tensors its quantiser leaves float stay float: the centred map, its square, the root)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ir.qdq_util import model, out_scale, quantise

pytest.importorskip("onnxruntime")


def _layernorm(shape, r, exponent=2.0):
    from onnx import helper

    c = shape[-1]
    inits = {"two": np.float32(exponent), "eps": np.float32(1e-5),
             "gamma": r.uniform(0.5, 1.5, c).astype(np.float32), "beta": r.uniform(-0.5, 0.5, c).astype(np.float32)}
    nodes = [helper.make_node("ReduceMean", ["x"], ["mu"], axes=[-1], keepdims=1),
             helper.make_node("Sub", ["x", "mu"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["d2"]),
             helper.make_node("ReduceMean", ["d2"], ["var"], axes=[-1], keepdims=1),
             helper.make_node("Add", ["var", "eps"], ["ve"]),
             helper.make_node("Sqrt", ["ve"], ["sd"]),
             helper.make_node("Div", ["d", "sd"], ["n"]),
             helper.make_node("Mul", ["n", "gamma"], ["g"]),
             helper.make_node("Add", ["g", "beta"], ["y"])]
    return model(nodes, inits, shape, shape)


def _shape(r):
    return (1, int(r.integers(2, 30)), int(r.integers(4, 64))) if r.random() < 0.7 \
        else (1, int(r.integers(1, 6)), int(r.integers(1, 6)), int(r.integers(4, 40)))


def _ort(path_or_model, x, opts=None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    if opts == "as_written":
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = path_or_model if isinstance(path_or_model, str) else path_or_model.SerializeToString()
    s = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"],
                             disabled_optimizers=["QDQS8ToU8Transformer"] if opts == "no_u8" else [])
    return s.run(None, {"x": x})[0]


@pytest.mark.parametrize("seed", range(4))
def test_float_layernorm_and_pow_sqrt_vs_onnxruntime(tmp_path, seed):
    import onnx

    import cnncc
    from cnncc.ir.interp import run

    r = np.random.default_rng(seed)
    shape = _shape(r)
    m = _layernorm(shape, r)
    path = tmp_path / "f.onnx"
    onnx.save(m, path)
    g = cnncc.load(path)
    assert [la.kind for la in g.layers if la.kind in ("Pow", "Sqrt")] == ["Pow", "Sqrt"]
    assert next(la.op for la in g.layers if la.kind == "Pow").exponent == 2.0
    x = r.normal(0.3, 2.0, shape).astype(np.float32)
    want = _ort(str(path), x, "as_written")
    got = run(g, {"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("exponent", [2.0, 3.0, 0.5, -1.0])
def test_pow_exponents_and_sqrt_bit_exact(tmp_path, exponent):
    import onnx
    from onnx import helper

    import cnncc
    from cnncc.ir.interp import run

    r = np.random.default_rng(int(exponent * 10) + 50)
    shape = (1, 3, 5, 7)
    m = model([helper.make_node("Pow", ["x", "e"], ["p"]), helper.make_node("Sqrt", ["p"], ["y"])],
              {"e": np.float32(exponent)}, shape, shape)
    path = tmp_path / "p.onnx"
    onnx.save(m, path)
    x = r.uniform(0.05, 4.0, shape).astype(np.float32)
    got = run(cnncc.load(path), {"x": x})["y"]
    want = _ort(str(path), x, "as_written")
    np.testing.assert_array_equal(got, want)


def test_pow_tensor_exponent_refused(tmp_path):
    import onnx
    from onnx import helper

    import cnncc
    from cnncc.errors import UnsupportedError

    m = model([helper.make_node("Pow", ["x", "x"], ["y"])], {}, (1, 4), (1, 4))
    path = tmp_path / "t.onnx"
    onnx.save(m, path)
    with pytest.raises(UnsupportedError, match="Pow.*constant exponent"):
        cnncc.load(path)


@pytest.mark.parametrize("seed", range(4))
def test_qdq_layernorm_vs_onnxruntime(tmp_path, seed):
    import cnncc
    from cnncc.ir.interp import run

    r = np.random.default_rng(100 + seed)
    shape = _shape(r)
    m = _layernorm(shape, r)
    calib = [r.normal(0.3, 1.5, shape).astype(np.float32) for _ in range(8)]
    q = quantise(tmp_path, m, calib)
    g = cnncc.load(q)
    assert {"Pow", "Sqrt", "ReduceMean"} <= {la.kind for la in g.layers}
    x = r.normal(0.3, 1.5, shape).astype(np.float32)
    want = _ort(str(q), x, "no_u8")
    got = run(g, {"x": x})["y"]
    lsb = np.abs(got.astype(np.float64) - want) / out_scale(g)
    assert lsb.max() <= 1.0 + 1e-6, lsb.max()


@pytest.mark.parametrize("seed", range(2))
def test_qdq_split_outputs_float_then_quantized(tmp_path, seed):
    """DQ -> Split -> Q per output (the quantiser writes a Split's outputs as float, then a QuantizeLinear each, as
    in YOLOv8n's C2f): the Split's outputs are float, each QuantizeLinear quantises them, as onnxruntime runs it."""
    from onnx import helper

    import cnncc
    from cnncc.ir.interp import run

    r = np.random.default_rng(200 + seed)
    c = 2 * int(r.integers(2, 9))
    shape = (1, c, int(r.integers(2, 9)), int(r.integers(2, 9)))
    nodes = [helper.make_node("Mul", ["x", "k"], ["m"]),
             helper.make_node("Split", ["m"], ["s0", "s1"], axis=1),
             helper.make_node("Sigmoid", ["s1"], ["g"]),
             helper.make_node("Add", ["s0", "g"], ["y"])]
    half = (1, c // 2) + shape[2:]
    m = model(nodes, {"k": r.uniform(0.5, 2.0, (1, c, 1, 1)).astype(np.float32)}, shape, half)
    calib = [r.normal(0.0, 1.0, shape).astype(np.float32) for _ in range(8)]
    q = quantise(tmp_path, m, calib)
    g = cnncc.load(q)
    x = r.normal(0.0, 1.0, shape).astype(np.float32)
    got = run(g, {"x": x})["y"]
    want = _ort(str(q), x, "no_u8")
    assert np.abs(got.astype(np.float64) - want).max() / out_scale(g) <= 1.0 + 1e-6
