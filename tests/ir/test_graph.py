"""Graph construction and verify(), the stable dump() text (golden file), loop nests and arithmetic
intensities checked exactly against shared/reference/abconv.md's formulas."""

import os
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from cnncc.errors import InvalidModelError, IRVerifyError
from cnncc.ir import Graph, Layer, interp, tensor_type
from cnncc.ir import ops as O

GOLDEN = Path(__file__).parent / "golden" / "small_graph.txt"


def small_graph() -> Graph:
    rng = np.random.default_rng(0)
    w = {"conv.w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
         "conv.b": np.zeros(8, np.float32),
         "dw.w": rng.standard_normal((8, 1, 3, 3)).astype(np.float32),
         "fc.w": rng.standard_normal((10, 32)).astype(np.float32)}
    layers = [
        Layer("conv", O.Conv((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, O.Relu()), ("x", "conv.w", "conv.b"),
              ("c",), ("/conv/Conv", "/relu/Relu")),
        Layer("dw", O.Conv((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 8, O.Clip(0.0, 6.0)), ("c", "dw.w"), ("d",)),
        Layer("pool", O.MaxPool((2, 2), (2, 2)), ("d",), ("p",)),
        Layer("add", O.Add(), ("p", "p", "p"), ("s",)),
        Layer("flat", O.Flatten(1), ("s",), ("f",)),
        Layer("fc", O.Gemm(trans_b=True), ("f", "fc.w"), ("y",), group="head"),
    ]
    return Graph.build("small", {"x": tensor_type((1, 3, 8, 8))}, ["y"], layers, w, {"opset": "17"})


def test_build_infers_types():
    g = small_graph()
    assert g.types["c"].shape == (1, 8, 8, 8) and g.types["c"].layout == "NCHW"
    assert g.types["d"].shape == (1, 8, 4, 4)
    assert g.types["p"].shape == (1, 8, 2, 2)
    assert g.types["y"].shape == (1, 10) and g.types["y"].layout == ""
    assert g.is_weight("fc.w") and not g.is_weight("c")
    assert g.params(g.layer("conv")) == 8 * 27 + 8
    assert [layer.name for layer in g.consumers("p")] == ["add"]
    assert g.producer("d").name == "dw"
    out = interp.run(g, {"x": np.ones((1, 3, 8, 8), np.float32)})
    assert out["y"].shape == (1, 10)


def test_dump_matches_golden():
    text = small_graph().dump()
    if os.environ.get("CNNCC_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert small_graph().dump() == text  # stable across builds


def test_verify_duplicate_layer_names():
    g = small_graph()
    layers = list(g.layers)
    layers[1] = Layer("conv", layers[1].op, layers[1].inputs, layers[1].outputs)
    with pytest.raises(IRVerifyError, match="duplicate layer name 'conv'"):
        g.with_layers(layers)


def test_verify_tensor_defined_twice():
    g = small_graph()
    layers = list(g.layers)
    layers[3] = Layer("add", O.Add(), ("p", "p"), ("d",))
    with pytest.raises(IRVerifyError, match="'d' is defined twice"):
        Graph(g.name, g.inputs, g.outputs, tuple(layers), g.types, g.weights, g.meta).verify()


def test_verify_undefined_input():
    g = small_graph()
    layers = list(g.layers)
    layers[2] = Layer("pool", O.MaxPool((2, 2), (2, 2)), ("ghost",), ("p",))
    with pytest.raises(IRVerifyError, match="'ghost'"):
        g.with_layers(layers)
    with pytest.raises(IRVerifyError, match="'ghost' before it is defined"):
        Graph(g.name, g.inputs, g.outputs, tuple(layers), g.types, g.weights, g.meta).verify()


def test_verify_wrong_order():
    g = small_graph()
    layers = list(g.layers)
    layers[0], layers[1] = layers[1], layers[0]
    with pytest.raises(IRVerifyError, match="'c'"):
        Graph(g.name, g.inputs, g.outputs, tuple(layers), g.types, g.weights, g.meta).verify()


def test_verify_shape_mismatch():
    g = small_graph()
    types = dict(g.types)
    types["p"] = tensor_type((1, 8, 3, 3))
    with pytest.raises(IRVerifyError, match="'p' recorded as float32\\[1x8x3x3\\] but infers to "
                                            "float32\\[1x8x2x2\\]"):
        Graph(g.name, g.inputs, g.outputs, g.layers, MappingProxyType(types), g.weights, g.meta).verify()


def test_verify_bad_shapes_and_outputs():
    g = small_graph()
    with pytest.raises(IRVerifyError, match="never produced"):
        Graph(g.name, g.inputs, ("nope",), g.layers, g.types, g.weights, g.meta).verify()
    types = dict(g.types)
    types["x"] = tensor_type((1, 3, 0, 8))
    with pytest.raises(IRVerifyError, match="non-positive"):
        Graph(g.name, g.inputs, g.outputs, g.layers, MappingProxyType(types), g.weights, g.meta).verify()
    types = dict(g.types)
    types["stray"] = tensor_type((1,))
    with pytest.raises(IRVerifyError, match="stray"):
        Graph(g.name, g.inputs, g.outputs, g.layers, MappingProxyType(types), g.weights, g.meta).verify()


def test_op_shape_errors_are_invalid_model():
    with pytest.raises(InvalidModelError, match="channels"):
        Graph.build("bad", {"x": tensor_type((1, 4, 5, 5))}, ["y"],
                    [Layer("c", O.Conv((1, 1)), ("x", "w"), ("y",))], {"w": np.zeros((2, 3, 1, 1), np.float32)})
    with pytest.raises(InvalidModelError, match="broadcast"):
        Graph.build("bad", {"a": tensor_type((1, 4)), "b": tensor_type((1, 3))}, ["y"],
                    [Layer("add", O.Add(), ("a", "b"), ("y",))])


def test_weights_are_read_only():
    g = small_graph()
    with pytest.raises(ValueError):
        g.weights["fc.w"][0, 0] = 1.0


# ------------------------------------------------------------------------------------------ loop nests
def conv_graph(c, hw, k, kernel, stride, pad, groups=1):
    w = np.zeros((k, c // groups, kernel, kernel), np.float32)
    layer = Layer("l", O.Conv((kernel, kernel), (stride, stride), (1, 1), (pad,) * 4, groups), ("x", "w"), ("y",))
    return Graph.build("n", {"x": tensor_type((1, c, hw, hw))}, ["y"], [layer], {"w": w})


def abconv_terms(c_in, hi, wi, c_out, h, w, k, groups=1):
    """abconv.md: MACs = H·W·K²·C_in·C_out (per group), AI_w = MACs/(K²·C_in·C_out), AI_in = MACs/(H_i·W_i·C_in),
    AI_out = MACs/(H·W·C_out), overall = MACs/(in + w + out)."""
    macs = h * w * k * k * (c_in // groups) * c_out
    wts = k * k * (c_in // groups) * c_out
    inp, out = hi * wi * c_in, h * w * c_out
    return macs, macs / inp, macs / wts, macs / out, macs / (inp + wts + out)


@pytest.mark.parametrize("c,hw,k,kernel,stride,pad,groups,expect_bound", [
    (512, 4, 512, 3, 1, 1, 1, "weight"),      # late CIFAR layer: AI_w = H·W = 16
    (256, 8, 512, 3, 2, 1, 1, "weight"),      # stride 2: AI_in = K²·C_out/stride² exactly
    (1024, 2, 1024, 1, 1, 0, 1, "weight"),    # 2x2 output: AI_w = 4
    (64, 32, 64, 3, 1, 1, 1, "input"),        # early layer: AI_w = 1024 > AI_in = AI_out = 576
    (32, 16, 32, 3, 1, 1, 32, "input"),       # depthwise: AI_in = AI_out = K² = 9 (tie -> first by name)
])
def test_loop_nest_and_intensities_match_abconv(c, hw, k, kernel, stride, pad, groups, expect_bound):
    g = conv_graph(c, hw, k, kernel, stride, pad, groups)
    layer = g.layers[0]
    nest = g.loop_nest(layer)
    _, _, oy, ox = g.types["y"].shape
    assert (nest.K, nest.C, nest.OY, nest.OX, nest.FY, nest.FX, nest.groups) == (k, c, oy, ox, kernel, kernel,
                                                                                   groups)
    assert (nest.IY, nest.IX, nest.SY, nest.pads) == (hw, hw, stride, (pad,) * 4)
    assert nest.kind == ("depthwise" if groups == c > 1 else "conv")
    macs, ai_in, ai_w, ai_out, overall = abconv_terms(c, hw, hw, k, oy, ox, kernel, groups)
    assert g.macs(layer) == nest.macs == macs
    ai = g.intensities(layer)
    assert ai.ai_w == round(ai_w, 4) == oy * ox                       # AI_w = H·W
    assert ai.ai_out == round(ai_out, 4) == kernel * kernel * c // groups  # AI_out = K²·C_in
    assert ai.ai_in == round(ai_in, 4)
    assert ai.overall == round(overall, 4) == round(1 / (1 / ai_in + 1 / ai_w + 1 / ai_out), 4)
    assert ai.overall < min(ai_in, ai_w, ai_out)
    assert ai.bound == expect_bound


def test_stride2_input_intensity_is_exact():
    g = conv_graph(256, 8, 512, 3, 2, 1)
    assert g.intensities(g.layers[0]).ai_in == 9 * 512 / 2 ** 2 == 1152


def test_fc_and_pool_nests():
    w = np.zeros((100, 512), np.float32)
    g = Graph.build("fc", {"x": tensor_type((1, 512))}, ["y"],
                    [Layer("fc", O.Gemm(trans_b=True), ("x", "w"), ("y",))], {"w": w})
    nest = g.loop_nest(g.layers[0])
    assert (nest.kind, nest.K, nest.C, nest.OY, nest.OX) == ("fc", 100, 512, 1, 1)
    ai = g.intensities(g.layers[0])
    assert g.total_macs == 51200 and (ai.ai_in, ai.ai_w, ai.ai_out, ai.bound) == (100, 1, 512, "weight")
    p = Graph.build("p", {"x": tensor_type((1, 8, 6, 6))}, ["y"],
                    [Layer("p", O.MaxPool((3, 3), (2, 2), (1, 1), (1, 1, 1, 1)), ("x",), ("y",))])
    nest = p.loop_nest(p.layers[0])
    assert (nest.kind, nest.macs, nest.window_ops, nest.OY) == ("pool", 0, 8 * 9 * 3 * 3, 3)
    assert p.intensities(p.layers[0]).overall is None and p.total_macs == 0
