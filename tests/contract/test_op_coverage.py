"""One place per op's meaning: every IR op kind is handled by the interpreter, the ONNX writer (and read back by
the ONNX reader) and the TFLite writer — or explicitly refused there, with the reason listed here. A new op
fails this test until it has an example below and each table handles or refuses it."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.errors import UnsupportedError
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import intops as _intops  # noqa: F401 - registers the dynamic-quantisation ops
from cnncc.ir import ops as O
from cnncc.ir import quant as Q  # noqa: F401 - registers the quantisation ops

R = np.random.default_rng(0)


def _w(*shape):
    return R.standard_normal(shape).astype(np.float32)


#: kind -> (op record, input shapes (activations), weights in input order after the activations)
EXAMPLES = {
    "Relu": (O.Relu(), [(1, 4, 5, 5)], []),
    "Clip": (O.Clip(0.0, 6.0), [(1, 4, 5, 5)], []),
    "Sigmoid": (O.Sigmoid(), [(1, 4, 5, 5)], []),
    "Tanh": (O.Tanh(), [(1, 4, 5, 5)], []),
    "HardSigmoid": (O.HardSigmoid(), [(1, 4, 5, 5)], []),
    "HardSwish": (O.HardSwish(), [(1, 4, 5, 5)], []),
    "LeakyRelu": (O.LeakyRelu(0.1), [(1, 4, 5, 5)], []),
    "Conv": (O.Conv((3, 3), pads=(1, 1, 1, 1)), [(1, 4, 6, 6)], [_w(8, 4, 3, 3), _w(8)]),
    "ConvTranspose": (O.ConvTranspose((2, 2), strides=(2, 2)), [(1, 4, 3, 3)], [_w(4, 6, 2, 2)]),
    "Gemm": (O.Gemm(trans_b=True), [(1, 16)], [_w(10, 16), _w(10)]),
    "MatMul": (O.MatMul(), [(1, 16)], [_w(16, 10)]),
    "Im2col": (O.Im2col((3, 3)), [(1, 4, 6, 6)], []),
    "MaxPool": (O.MaxPool((2, 2), (2, 2)), [(1, 4, 6, 6)], []),
    "AveragePool": (O.AveragePool((2, 2), (2, 2)), [(1, 4, 6, 6)], []),
    "GlobalAveragePool": (O.GlobalAveragePool(), [(1, 4, 6, 6)], []),
    "GlobalMaxPool": (O.GlobalMaxPool(), [(1, 4, 6, 6)], []),
    "LRN": (O.LRN(3), [(1, 4, 6, 6)], []),
    "BatchNormalization": (O.BatchNormalization(), [(1, 4, 6, 6)],
                           [_w(4), _w(4), _w(4), np.abs(_w(4)) + 0.5]),
    "Add": (O.Add(), [(1, 4, 6, 6), (1, 4, 6, 6)], []),
    "Sub": (O.Sub(), [(1, 4, 6, 6), (1, 4, 6, 6)], []),
    "Mul": (O.Mul(), [(1, 4, 6, 6), (1, 4, 6, 6)], []),
    "Div": (O.Div(), [(1, 4, 6, 6)], [np.full((1, 4, 1, 1), 2.0, np.float32)]),
    "PRelu": (O.PRelu(), [(1, 4, 6, 6)], [np.array([0.25, -0.5, 0.0, 1.5], np.float32).reshape(4, 1, 1)]),
    "Concat": (O.Concat(1), [(1, 4, 6, 6), (1, 2, 6, 6)], []),
    "Split": (O.Split(1, (2, 2)), [(1, 4, 6, 6)], []),
    "Slice": (O.Slice((1,), (5,), (2,), (1,)), [(1, 4, 6, 6)], []),
    "Reshape": (O.Reshape((1, 144)), [(1, 4, 6, 6)], []),
    "Flatten": (O.Flatten(1), [(1, 4, 6, 6)], []),
    "Transpose": (O.Transpose((0, 2, 3, 1)), [(1, 4, 6, 6)], []),
    "Pad": (O.Pad((0, 0, 1, 1, 0, 0, 1, 1)), [(1, 4, 6, 6)], []),
    "Softmax": (O.Softmax(-1), [(1, 10)], []),
    "Resize": (O.Resize((12, 12), (2.0, 2.0), "nearest", "asymmetric", "floor"), [(1, 4, 6, 6)], []),
    "ReduceMean": (O.ReduceMean((2, 3), True), [(1, 4, 6, 6)], []),
    "Pow": (O.Pow(2.0), [(1, 4, 6, 6)], []),
    "Sqrt": (O.Sqrt(), [(1, 4, 6, 6)], []),
    "Identity": (O.Identity(), [(1, 4, 6, 6)], []),
    # integer ops need quantisation records / integer inputs: each is checked against onnxruntime or LiteRT in
    # tests/quant and tests/tflite (reader, interpreter, QDQ writer, TFLite round trip)
    "Quantize": None,
    "Dequantize": None,
    "DynamicQuantize": None,
    "ConvInteger": None,
    "MatMulInteger": None,
    "Cast": None,
}

#: (table, kind) -> why that table refuses the op (the refusal must be an UnsupportedError naming the op)
REFUSED = {
    ("onnx-writer", "Quantize"): "written as QuantizeLinear by the quantised path (tests/quant)",
    ("tflite-writer", "Im2col"): "a lowering artefact: TFLite/Vela have no im2col operator (export before im2col)",
    ("onnx-reader", "Im2col"): "ONNX has no im2col op: the writer emits Pad + Gather, and the reader takes Gather "
                               "only as constant arithmetic",
}


def _graph(kind: str) -> Graph:
    op, shapes, weights = EXAMPLES[kind]
    acts = {f"x{i}": tensor_type(s) for i, s in enumerate(shapes)}
    wnames = {f"w{i}": w for i, w in enumerate(weights)}
    n_out = len(op.sizes) if isinstance(op, O.Split) else 1
    outs = tuple(f"y{i}" for i in range(n_out))
    layer = Layer(kind.lower(), op, tuple(acts) + tuple(wnames), outs, (kind.lower(),))
    return Graph.build(f"cov_{kind}", acts, outs, [layer], weights=wnames)


def _feeds(g: Graph) -> dict:
    return {n: R.standard_normal(g.type_of(n).shape).astype(np.float32) for n in g.inputs}


def test_every_ir_op_has_an_example():
    shipped = {k for k, cls in O.OPS.items() if cls.__module__.startswith("cnncc.")}  # tests may register toys
    assert shipped == set(EXAMPLES), shipped ^ set(EXAMPLES)


CASES = [k for k, v in EXAMPLES.items() if v is not None]


@pytest.mark.parametrize("kind", CASES)
def test_interpreter(kind):
    from cnncc.ir.interp import run

    g = _graph(kind)
    out = run(g, _feeds(g))
    for name in g.outputs:
        assert out[name].shape == g.type_of(name).shape


def _handled_or_refused(table: str, kind: str, fn) -> object | None:
    try:
        result = fn()
    except UnsupportedError as e:
        assert (table, kind) in REFUSED, f"{table} refuses {kind} without a listed reason: {e}"
        assert kind in str(e) or kind.lower() in str(e), f"the refusal must name the op: {e}"
        return None
    assert (table, kind) not in REFUSED, f"{table} handles {kind}: drop it from REFUSED"
    return result


@pytest.mark.parametrize("kind", CASES)
def test_onnx_writer_and_reader(kind, tmp_path):
    import onnxruntime as ort

    from cnncc.frontend.onnx import load_onnx
    from cnncc.frontend.onnx.writer import write_onnx
    from cnncc.ir.interp import run

    g = _graph(kind)
    path = tmp_path / "m.onnx"
    if _handled_or_refused("onnx-writer", kind, lambda: write_onnx(g, path)) is None and not path.exists():
        return
    back = _handled_or_refused("onnx-reader", kind, lambda: load_onnx(path))  # reads what the writer writes
    feeds = _feeds(g)
    ref = run(g, feeds)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    for name in g.outputs:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-4, atol=1e-5)
    if back is not None:
        assert [ly.kind for ly in back.layers]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", CASES)
def test_tflite_writer(kind):
    from cnncc.frontend.tflite.writer import to_tflite_bytes

    g = _graph(kind)
    res = _handled_or_refused("tflite-writer", kind, lambda: to_tflite_bytes(g))
    if res is not None:
        data, _ = res  # type: ignore[misc]
        assert data[4:8] == b"TFL3"
