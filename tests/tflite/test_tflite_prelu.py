"""PRelu through the TFLite exporter and reader against LiteRT's reference kernels: the export writes PRELU with a
per-channel int8 alpha tensor ([1, 1, 1, C]), cnncc's integer interpreter on the file read back computes what
LiteRT computes (TFLite's PRELU: two output multipliers, the alpha zero point subtracted), and TFLite -> cnncc ->
TFLite keeps the alpha integers and scales."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.frontend.tflite.reader import load_tflite
from cnncc.frontend.tflite.writer import write_tflite
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O


def _net(seed: int) -> Graph:
    """conv -> PRelu (per-channel slope: negative, zero, below and above 1) -> conv, or a vector PRelu after an FC."""
    r = np.random.default_rng(seed)
    c = int(r.integers(3, 20))
    h, w = (int(v) for v in r.integers(3, 12, 2))
    slope = r.uniform(-0.5, 1.5, c).astype(np.float32)
    wts = {"w1": (r.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32),
           "b1": r.normal(0, 0.1, c).astype(np.float32), "a": slope.reshape(c, 1, 1),
           "w2": (r.standard_normal((4, c, 1, 1)) * 0.3).astype(np.float32)}
    layers = [Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("x", "w1", "b1"), ("c1",)),
              Layer("prelu", O.PRelu(), ("c1", "a"), ("p",)),
              Layer("conv2", O.Conv((1, 1)), ("p", "w2"), ("y",))]
    return Graph.build(f"prelu{seed}", {"x": tensor_type((1, 3, h, w))}, ["y"], layers, weights=wts)


def _vec_net(seed: int) -> Graph:
    r = np.random.default_rng(seed)
    n = int(r.integers(4, 40))
    wts = {"w": (r.standard_normal((n, 16)) * 0.3).astype(np.float32), "a": r.uniform(0.0, 0.6, n).astype(np.float32)}
    layers = [Layer("fc", O.Gemm(trans_b=True), ("x", "w"), ("f",)), Layer("prelu", O.PRelu(), ("f", "a"), ("y",))]
    return Graph.build(f"vprelu{seed}", {"x": tensor_type((1, 16))}, ["y"], layers, weights=wts)


def _prelu_op(path):
    import tflite

    m = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    sg = m.Subgraphs(0)
    codes = [m.OperatorCodes(i).BuiltinCode() for i in range(m.OperatorCodesLength())]
    ops = [sg.Operators(i) for i in range(sg.OperatorsLength())]
    op = next(o for o in ops if codes[o.OpcodeIndex()] == tflite.BuiltinOperator.PRELU)
    t = sg.Tensors(op.Inputs(1))
    q = t.Quantization()
    return tuple(t.ShapeAsNumpy()), m.Buffers(t.Buffer()).DataAsNumpy().tobytes(), \
        (tuple(q.ScaleAsNumpy()), tuple(q.ZeroPointAsNumpy()))


@pytest.mark.parametrize("seed", range(4))
def test_prelu_export_matches_litert(tmp_path, seed):
    pytest.importorskip("ai_edge_litert")
    from litert_ref import compare

    g = _net(seed) if seed < 3 else _vec_net(seed)
    path = tmp_path / "p.tflite"
    write_tflite(g, path)
    shape, _, (scales, _) = _prelu_op(path)
    c = g.weights["a"].size
    assert shape == ((1, 1, 1, c) if seed < 3 else (1, c)) and len(scales) == 1  # per-channel values, one scale
    back = load_tflite(path)
    prelu = next(x for x in back.layers if x.kind == "PRelu")
    assert back.weights[prelu.inputs[1]].dtype == np.int8
    agree = compare(path, seed=seed)
    assert agree.compared >= 2
    assert agree.outputs_lsb == 0 and agree.tensors_lsb == 0, agree


def test_prelu_round_trip_keeps_alpha(tmp_path):
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    write_tflite(_net(7), a)
    write_tflite(load_tflite(a), b)
    assert _prelu_op(a) == _prelu_op(b)  # shape, the int8 alpha values, scale and zero point
