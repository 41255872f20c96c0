"""Helpers for the IR tests: one-node ONNX models checked against onnxruntime through cnncc."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from cnncc.frontend.onnx import load_onnx
from cnncc.ir import interp

REL_TOL = 1e-4


def one_node_model(node, x_shape, inits: dict | None = None, opset: int = 17) -> onnx.ModelProto:
    g = helper.make_graph([node], "p", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def ort_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def check_node(node, x_shape, inits=None, opset=17, seed=0):
    """Load the one-node model with cnncc, run the interpreter and onnxruntime, compare; return the graph."""
    model = one_node_model(node, x_shape, inits, opset)
    x = np.random.default_rng(seed).standard_normal(x_shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.onnx"
        onnx.save(model, str(path))
        g = load_onnx(path)
    got = interp.run(g, {"x": x})[g.outputs[0]]
    ref = ort_run(model, x)
    assert got.shape == ref.shape, f"shape {got.shape} != onnxruntime {ref.shape}"
    scale = float(np.abs(ref).max()) or 1.0
    err = float(np.abs(got.astype(np.float64) - ref).max()) / scale
    assert err <= REL_TOL, f"relative error {err:.3g}"
    return g
