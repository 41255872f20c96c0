"""Helpers for the QDQ tests against onnxruntime: float graphs built with onnx.helper, quantised by onnxruntime's
own ``quantize_static`` (QDQ, int8, per-channel weights) on seeded calibration data, run by onnxruntime (as
written or its default session) and by cnncc's interpreter."""

from __future__ import annotations

import numpy as np


def model(nodes, inits, x_shape, y_shape):
    from onnx import TensorProto, helper, numpy_helper

    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def quantise(tmp_path, model, calib: list[np.ndarray]):
    """onnxruntime's quantize_static (QDQ, int8 activations and weights) calibrated on ``calib``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": c} for c in calib])

        def get_next(self):
            return next(self.it, None)

    src, dst = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(model, src)
    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8, per_channel=True)
    return dst


def ort_run(path, x, optimise: bool):
    import onnxruntime as ort

    so = ort.SessionOptions()
    if not optimise:  # run the QDQ nodes as written: dequantize, the float op, quantize
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def cnncc_run(path, x):
    import cnncc
    from cnncc.ir.interp import run

    g = cnncc.load(path)
    return g, run(g, {"x": x})["y"]


def out_scale(g) -> float:
    prod = g.producer("y")
    assert prod is not None and prod.kind == "Dequantize"
    return float(g.type_of(prod.inputs[0]).quant.scale[0])
