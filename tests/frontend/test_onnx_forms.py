"""The forms real exporters write: weights as Constant nodes / Identity of initializers, Sum with many
inputs, auto_pad, opset<11 attribute forms of Clip/Pad/Slice, opset 7-10 Upsample/Resize. Each model is
checked against onnxruntime through the interpreter."""

import numpy as np
import pytest
from fe_util import assert_close, check_against_ort, make_model, random_feeds, save
from onnx import helper, numpy_helper

from cnncc.errors import UnsupportedError
from cnncc.frontend.onnx import load_onnx
from cnncc.ir import interp

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(tmp_path, model, name="m.onnx", **kw):
    return check_against_ort(save(model, tmp_path / name), **kw)


def test_constant_node_weights(tmp_path):
    w, b = rand(4, 3, 3, 3), rand(4)
    nodes = [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(w, "wv")),
             helper.make_node("Constant", [], ["b"], value=numpy_helper.from_array(b, "bv")),
             helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    g = check(tmp_path, make_model(nodes, {"x": (1, 3, 5, 5)}, ["y"]))
    (conv,) = g.layers
    assert conv.kind == "Conv" and all(g.is_weight(t) for t in conv.inputs[1:])
    np.testing.assert_array_equal(g.weights[conv.inputs[1]], w)


def test_identity_of_initializer_weights(tmp_path):
    w, b = rand(6, 4), rand(6)
    nodes = [helper.make_node("Identity", ["w0"], ["w"], name="id_w"),
             helper.make_node("Identity", ["w"], ["w2"], name="id_w2"),
             helper.make_node("Identity", ["b0"], ["b"], name="id_b"),
             helper.make_node("Gemm", ["x", "w2", "b"], ["y"], name="fc", transB=1)]
    g = check(tmp_path, make_model(nodes, {"x": (1, 4)}, ["y"], {"w0": w, "b0": b}))
    assert [layer.kind for layer in g.layers] == ["Gemm"]
    assert g.layers[0].inputs[1:] == ("w0", "b0")
    assert g.total_macs == 24


def test_folded_weight_arithmetic(tmp_path):
    # weights computed from initializers (Transpose, Mul, Reshape of a Constant shape) fold at load time
    w = rand(3, 2, 3, 3)
    nodes = [helper.make_node("Transpose", ["wt"], ["w1"], perm=[1, 0, 2, 3]),
             helper.make_node("Mul", ["w1", "two"], ["w2"]),
             helper.make_node("Constant", [], ["shp"], value=numpy_helper.from_array(
                 np.array([2, 3, 3, 3], np.int64))),
             helper.make_node("Reshape", ["w2", "shp"], ["w"]),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    g = check(tmp_path, make_model(nodes, {"x": (1, 3, 6, 6)}, ["y"], {"wt": w, "two": np.float32(2)}))
    assert [layer.kind for layer in g.layers] == ["Conv"]


def check_with_onnx_reference(tmp_path, model):
    from onnx.reference import ReferenceEvaluator

    g = load_onnx(save(model, tmp_path / "r.onnx"))
    feeds = random_feeds(g)
    (ref,) = ReferenceEvaluator(model).run(None, feeds)
    assert_close(interp.run(g, feeds)[g.outputs[0]], ref, "onnx reference")
    return g


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_sum_many_inputs(tmp_path, n):
    ins = {f"x{i}": (1, 3, 4, 4) for i in range(n)}
    nodes = [helper.make_node("Sum", list(ins) + ["c"], ["s"], name="sum"),
             helper.make_node("Relu", ["s"], ["y"], name="relu")]
    g = check(tmp_path, make_model(nodes, ins, ["y"], {"c": rand(3, 1, 1)}))
    add = g.layers[0]
    assert add.kind == "Add" and len(add.inputs) == n + 1


def test_sum_single_input_is_graph_output(tmp_path):
    m = make_model([helper.make_node("Relu", ["x"], ["t"]), helper.make_node("Sum", ["t"], ["y"], name="s")],
                   {"x": (1, 2)}, ["y"])
    g = check(tmp_path, m)
    assert g.outputs == ("y",)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("k,s,d,hw", [(2, 1, 1, 7), (3, 2, 1, 8), (4, 2, 1, 9), (3, 1, 2, 6), (5, 3, 1, 10)])
def test_auto_pad_conv(tmp_path, auto_pad, k, s, d, hw):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", auto_pad=auto_pad, kernel_shape=[k, k],
                              strides=[s, s], dilations=[d, d])]
    m = make_model(nodes, {"x": (1, 2, hw, hw)}, ["y"], {"w": rand(3, 2, k, k)})
    if d > 1 and auto_pad != "VALID":  # onnxruntime refuses dilation with SAME_*: use onnx's reference
        g = check_with_onnx_reference(tmp_path, m)
    else:
        g = check(tmp_path, m)
    if auto_pad != "VALID":
        assert g.types["y"].shape[2:] == (-(-hw // s),) * 2


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_auto_pad_pool(tmp_path, auto_pad, op):
    nodes = [helper.make_node(op, ["x"], ["y"], name="pool", auto_pad=auto_pad, kernel_shape=[2, 3],
                              strides=[2, 2])]
    check(tmp_path, make_model(nodes, {"x": (1, 2, 7, 8)}, ["y"]))


def test_opset9_clip_pad_slice_attributes(tmp_path):
    nodes = [helper.make_node("Clip", ["x"], ["c"], name="clip", min=-0.5, max=0.75),
             helper.make_node("Pad", ["c"], ["p"], name="pad", pads=[0, 0, 1, 2, 0, 0, 3, 0], value=0.25),
             helper.make_node("Pad", ["p"], ["p2"], name="pad_reflect", mode="reflect",
                              pads=[0, 0, 1, 1, 0, 0, 0, 2]),
             helper.make_node("Slice", ["p2"], ["y"], name="slice", starts=[1, -6], ends=[100, -1],
                              axes=[2, 3])]
    g = check(tmp_path, make_model(nodes, {"x": (1, 2, 5, 6)}, ["y"], opset=9))
    assert [layer.kind for layer in g.layers] == ["Clip", "Pad", "Pad", "Slice"]


def test_opset11_clip_pad_slice_inputs(tmp_path):
    nodes = [helper.make_node("Clip", ["x", "lo", ""], ["c"], name="clip"),
             helper.make_node("Pad", ["c", "pads", "val"], ["p"], name="pad", mode="edge"),
             helper.make_node("Slice", ["p", "st", "en", "ax", "sp"], ["y"], name="slice")]
    inits = {"lo": np.float32(-0.1), "pads": np.array([0, 0, 2, 1, 0, 0, 0, 3], np.int64),
             "val": np.float32(0), "st": np.array([-1, 0], np.int64), "en": np.array([-100, 100], np.int64),
             "ax": np.array([2, 3], np.int64), "sp": np.array([-2, 3], np.int64)}
    check(tmp_path, make_model(nodes, {"x": (1, 2, 5, 6)}, ["y"], inits, opset=11))


def test_pad_with_axes_opset18(tmp_path):
    nodes = [helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"], name="pad")]
    inits = {"pads": np.array([1, 2, 0, 1], np.int64), "axes": np.array([-1, 2], np.int64)}
    check(tmp_path, make_model(nodes, {"x": (1, 2, 3, 4)}, ["y"], inits, opset=18))


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_opset7_upsample_scales_attribute(tmp_path, mode):
    nodes = [helper.make_node("Upsample", ["x"], ["y"], name="up", mode=mode, scales=[1.0, 1.0, 2.0, 3.0])]
    g = check(tmp_path, make_model(nodes, {"x": (1, 2, 3, 4)}, ["y"], opset=7))
    assert g.types["y"].shape == (1, 2, 6, 12)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_opset9_upsample_scales_input(tmp_path, mode):
    nodes = [helper.make_node("Upsample", ["x", "sc"], ["y"], name="up", mode=mode)]
    check(tmp_path, make_model(nodes, {"x": (1, 2, 3, 4)}, ["y"],
                               {"sc": np.array([1, 1, 2, 2.5], np.float32)}, opset=9))


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [(2.0, 3.0), (0.5, 0.5), (0.6, 1.7)])
def test_opset10_resize(tmp_path, mode, scales):
    nodes = [helper.make_node("Resize", ["x", "sc"], ["y"], name="rs", mode=mode)]
    check(tmp_path, make_model(nodes, {"x": (1, 2, 6, 7)}, ["y"],
                               {"sc": np.array((1, 1) + scales, np.float32)}, opset=10))


def test_resize_sizes_opset13(tmp_path):
    nodes = [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="rs", mode="linear",
                              coordinate_transformation_mode="align_corners")]
    g = check(tmp_path, make_model(nodes, {"x": (1, 2, 4, 5)}, ["y"],
                                   {"sz": np.array([1, 2, 9, 3], np.int64)}, opset=13))
    assert g.types["y"].shape == (1, 2, 9, 3)


def test_softmax_opset11_flattens_tail(tmp_path):
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)]
    check(tmp_path, make_model(nodes, {"x": (2, 3, 4)}, ["y"], opset=11))


def test_shape_arithmetic_head(tmp_path):
    # x.view(x.size(0), -1) as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["i0"], value=numpy_helper.from_array(np.array(0, np.int64))),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
             helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"], name="flat")]
    g = check(tmp_path, make_model(nodes, {"x": ("N", 3, 2, 2)}, ["y"],
                                   {"ax0": np.array([0], np.int64), "m1": np.array([-1], np.int64)}))
    assert [layer.kind for layer in g.layers] == ["Reshape"] and g.types["y"].shape == (1, 12)


def test_symbolic_batch_bound_to_one(tmp_path):
    m = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": ("batch", 3, 4, 4)}, ["y"])
    assert load_onnx(save(m, tmp_path / "b.onnx")).types["x"].shape == (1, 3, 4, 4)
    with pytest.raises(UnsupportedError, match="'x' has batch 2.*batch 1 only"):  # never costed as batch 1
        load_onnx(tmp_path / "b.onnx", {"x": "2x3x4x4"})


def test_conv_transpose(tmp_path):
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="ct", strides=[2, 2],
                              pads=[1, 0, 0, 1], output_padding=[1, 1])]
    check(tmp_path, make_model(nodes, {"x": (1, 4, 3, 5)}, ["y"], {"w": rand(4, 3, 3, 3), "b": rand(3)}))


@pytest.mark.parametrize("auto_pad", ["NOTSET", "SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_output_shape(tmp_path, auto_pad):
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="ct", strides=[2, 2], auto_pad=auto_pad,
                              output_shape=[8, 9])]
    g = check(tmp_path, make_model(nodes, {"x": (1, 2, 4, 5)}, ["y"], {"w": rand(2, 3, 4, 4)}))
    assert g.types["y"].shape == (1, 3, 8, 9)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_auto_pad(tmp_path, auto_pad):
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="ct", strides=[2, 2], auto_pad=auto_pad)]
    g = check(tmp_path, make_model(nodes, {"x": (1, 2, 4, 5)}, ["y"], {"w": rand(2, 3, 3, 3)}))
    assert g.types["y"].shape == (1, 3, 8, 10)
