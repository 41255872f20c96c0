"""Small seeded float ONNX models and their onnxruntime.quantization versions (static QDQ / QOperator,
per-tensor / per-channel, int8 / uint8 activations), made at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _conv(name, x, w, b, y, pads=(1, 1, 1, 1), strides=(1, 1)):
    from onnx import helper

    return helper.make_node("Conv", [x, w, b], [y], name=name, pads=list(pads), strides=list(strides))


def float_model(path: Path, seed: int, kind: str = "res") -> Path:
    """``res``: conv-relu, strided conv-relu, 1x1 conv, residual Add, MaxPool, GlobalAveragePool, Flatten, Gemm.
    ``cat``: conv, Sigmoid, Mul, Concat, AveragePool, conv, Reshape, MatMul."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    c, k = int(rng.integers(2, 5)), int(rng.integers(4, 9))
    hw = int(rng.integers(8, 13)) * 2

    def w(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.4).astype(np.float32), name)

    if kind == "res":
        inits = [w("w1", k, c, 3, 3), w("b1", k), w("w2", k, k, 3, 3), w("b2", k), w("w3", k, k, 1, 1), w("b3", k),
                 w("fc", k, 10), w("fcb", 10)]
        nodes = [_conv("conv1", "x", "w1", "b1", "c1"), helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
                 _conv("conv2", "r1", "w2", "b2", "c2", strides=(2, 2)),
                 helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
                 _conv("conv3", "r2", "w3", "b3", "c3", pads=(0, 0, 0, 0)),
                 helper.make_node("Add", ["c3", "r2"], ["a"], name="add"),
                 helper.make_node("MaxPool", ["a"], ["m"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
                 helper.make_node("GlobalAveragePool", ["m"], ["g"], name="gap"),
                 helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
                 helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc")]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    else:
        inits = [w("w1", k, c, 3, 3), w("b1", k), w("w2", k, 2 * k, 3, 3), w("b2", k), w("mm", k * (hw // 2) ** 2, 6)]
        inits.append(numpy_helper.from_array(np.array([1, -1], np.int64), "shape"))
        nodes = [_conv("conv1", "x", "w1", "b1", "c1"), helper.make_node("Sigmoid", ["c1"], ["s"], name="sig"),
                 helper.make_node("Mul", ["c1", "s"], ["sw"], name="swish"),
                 helper.make_node("Concat", ["sw", "c1"], ["cat"], name="concat", axis=1),
                 helper.make_node("AveragePool", ["cat"], ["ap"], name="avgpool", kernel_shape=[2, 2],
                                  strides=[2, 2]),
                 _conv("conv2", "ap", "w2", "b2", "c2"),
                 helper.make_node("Reshape", ["c2", "shape"], ["flat"], name="reshape"),
                 helper.make_node("MatMul", ["flat", "mm"], ["y"], name="matmul")]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])
    g = helper.make_graph(nodes, f"{kind}{seed}", [inp], [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def calibration(shape, seed: int, n: int = 8):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1000 + seed)
            self.data = iter([{"x": rng.uniform(-1, 1, shape).astype(np.float32)} for _ in range(n)])

        def get_next(self):
            return next(self.data, None)

    return Reader()


def quantized(src: Path, dst: Path, fmt: str, per_channel: bool, act: str = "int8", seed: int = 0) -> Path:
    """onnxruntime.quantization.quantize_static with format ``qdq`` | ``qoperator``."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    shape = [d.dim_value for d in onnx.load(src).graph.input[0].type.tensor_type.shape.dim]
    quantize_static(str(src), str(dst), calibration(shape, seed),
                    quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                    per_channel=per_channel,
                    activation_type=QuantType.QInt8 if act == "int8" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    return dst


def ort_run(path: Path, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    # onnxruntime's U8S8 integer kernels on x86 CPUs with AVX2 but no VNNI add product pairs in int16 with
    # saturation (its documented "saturation issue"); the exact-precision kernels compute what the model defines
    # (they have no int8 x int8 QLinearMatMul: such a model runs on the default session, as before)
    exact = ort.SessionOptions()
    exact.log_severity_level = 3
    exact.add_session_config_entry("session.x64quantprecision", "1")
    try:
        sess = ort.InferenceSession(str(path), exact, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's NotImplemented: no exact-precision kernel for these types
        if "NOT_IMPLEMENTED" not in str(e):
            raise
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def ort_run_exposed(path: Path, feeds: dict, tmp: Path) -> dict[str, np.ndarray]:
    """Run with every quantised tensor (outputs of QuantizeLinear and QLinear* nodes) exposed as a graph output;
    returns name -> array. (Exposing them also fixes which QDQ groups onnxruntime fuses into integer kernels.)"""
    import onnx
    from onnx import helper

    m = onnx.load(path)
    names = [n.output[0] for n in m.graph.node if n.op_type == "QuantizeLinear" or n.op_type.startswith("QLinear")]
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(n))
    exposed = tmp / "exposed.onnx"
    onnx.save(m, exposed)
    outs = [o.name for o in m.graph.output]
    return dict(zip(outs, ort_run(exposed, feeds)))
