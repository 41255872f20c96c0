"""The IR -> ONNX writer: checker-valid standard ONNX, opset stated, every op checked against the numpy
reference interpreter; Im2col's Pad+Gather construction exact; atomic writes; verify's error paths."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from cnncc.errors import MismatchError
from cnncc.frontend.onnx.writer import to_onnx, write_onnx
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.ir.interp import run
from cnncc.verify import compare_models

RNG = np.random.default_rng(11)


def _f(*s):
    return RNG.standard_normal(s).astype(np.float32)


def _ort(model, feeds):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


OPS = [
    ("im2col-chw", O.Im2col((3, 2), (2, 1), (1, 2), (1, 0, 2, 1), "chw"), (1, 3, 7, 6), {}),
    ("im2col-hwc", O.Im2col((2, 3), (1, 2), (2, 1), (0, 2, 1, 0), "hwc"), (2, 4, 6, 7), {}),
    ("conv-act", O.Conv((3, 3), pads=(1, 1, 1, 1), act=O.HardSwish()), (1, 2, 5, 5), {"w": (4, 2, 3, 3)}),
    ("clip", O.Clip(-0.5, 0.5), (1, 3, 4, 4), {}),
    ("clip-open", O.Clip(hi=0.3), (1, 3, 4, 4), {}),
    ("leaky", O.LeakyRelu(0.2), (1, 3, 4, 4), {}),
    ("maxpool", O.MaxPool((3, 3), (2, 2), pads=(1, 1, 1, 1)), (1, 2, 7, 7), {}),
    ("avgpool", O.AveragePool((2, 2), (2, 2), ceil_mode=True), (1, 2, 7, 7), {}),
    ("gap", O.GlobalAveragePool(), (1, 3, 4, 4), {}),
    ("pad", O.Pad((0, 0, 1, 2, 0, 0, 2, 1)), (1, 2, 3, 3), {}),
    ("slice", O.Slice((1, 0), (3, 4), (1, 3), (1, 2)), (1, 4, 5, 5), {}),
    ("transpose", O.Transpose((0, 2, 3, 1)), (1, 2, 3, 4), {}),
    ("reshape", O.Reshape((2, 12)), (1, 2, 3, 4), {}),
    ("softmax", O.Softmax(1), (2, 5), {}),
    ("reducemean", O.ReduceMean((2, 3)), (1, 3, 4, 4), {}),
    ("matmul-act", O.MatMul(act=O.Relu()), (2, 3, 4), {"b": (4, 5)}),
    ("gemm", O.Gemm(trans_b=True, alpha=0.5, beta=2.0), (3, 4), {"b": (6, 4), "c": (6,)}),
    ("add3", O.Add(), (1, 3, 2, 2), {"b": (1, 3, 2, 2), "c": (3, 1, 1)}),
]


@pytest.mark.parametrize("case", OPS, ids=[c[0] for c in OPS])
def test_op_matches_interpreter(case):
    _, op, shape, weights = case
    w = {k: _f(*s) for k, s in weights.items()}
    g = Graph.build("t", {"x": tensor_type(shape)}, ["y"], [Layer("l", op, ("x", *w), ("y",))], w)
    model = to_onnx(g)
    assert model.opset_import[0].version == 17
    standard = {s.name for s in onnx.defs.get_all_schemas() if s.domain == ""}
    assert all(n.domain == "" and n.op_type in standard for n in model.graph.node)
    x = _f(*shape)
    ref = run(g, {"x": x})["y"]
    (got,) = _ort(model, {"x": x})
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_write_is_atomic_and_verify_reports(tmp_path):
    w = {"w": _f(3, 2, 1, 1)}
    g = Graph.build("t", {"x": tensor_type((1, 2, 3, 3))}, ["y"], [Layer("c", O.Conv(), ("x", "w"), ("y",))], w)
    a = tmp_path / "a.onnx"
    write_onnx(g, a)
    assert [p.name for p in tmp_path.iterdir()] == ["a.onnx"]
    res = compare_models(a, a)
    assert res["max_rel_err"] == 0.0 and res["outputs"][0]["shape"] == [1, 3, 3, 3]
    # a different function: semantic comparison fails, non-semantic passes (same shapes)
    g2 = Graph.build("t", {"x": tensor_type((1, 2, 3, 3))}, ["y"], [Layer("c", O.Conv(), ("x", "w"), ("y",))],
                     {"w": _f(3, 2, 1, 1)})
    b = tmp_path / "b.onnx"
    write_onnx(g2, b)
    with pytest.raises(MismatchError, match="relative error"):
        compare_models(a, b)
    assert compare_models(a, b, semantic=False)["max_rel_err"] is None
    # different output shape: always a mismatch
    g3 = Graph.build("t", {"x": tensor_type((1, 2, 3, 3))}, ["y"], [Layer("c", O.Conv(), ("x", "w"), ("y",))],
                     {"w": _f(4, 2, 1, 1)})
    c = tmp_path / "c.onnx"
    write_onnx(g3, c)
    with pytest.raises(MismatchError, match="shape"):
        compare_models(a, c, semantic=False)
