"""Bad input gives the right CnnccError subclass with a clear one-line message (never a traceback)."""

import os

import numpy as np
import onnx
import pytest
from fe_util import check_against_ort, make_model, save
from onnx import helper

from cnncc.errors import CnnccError, InvalidModelError, UnsupportedError
from cnncc.frontend.onnx import load_onnx, parse_shape


def raises(exc, path, match, **kw):
    with pytest.raises(exc, match=match) as info:
        load_onnx(path, **kw)
    assert type(info.value) is exc
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 300, msg
    return msg


def relu_model(shape=(1, 2, 3, 3), **kw):
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], {"x": shape}, ["y"], **kw)


def test_missing_file(tmp_path):
    raises(InvalidModelError, tmp_path / "nope.onnx", "no such file")


def test_directory_instead_of_file(tmp_path):
    raises(InvalidModelError, tmp_path, "is a directory")


@pytest.mark.parametrize("data", [b"", b"hello, this is not an ONNX model\n", bytes(range(256)) * 4,
                                  b"\x08\x07\x12\x03abc"])
def test_not_an_onnx_file(tmp_path, data):
    p = tmp_path / "bad.onnx"
    p.write_bytes(data)
    raises(InvalidModelError, p, "not an ONNX model|empty file")


@pytest.mark.parametrize("fraction", [0.03, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999])
def test_truncated_file(tmp_path, sample_models, fraction):
    data = sample_models["small_residual_concat"].read_bytes()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(InvalidModelError) as info:
        load_onnx(p)
    assert "\n" not in str(info.value) and str(p) in str(info.value)


def test_cycle(tmp_path):
    nodes = [helper.make_node("Relu", ["x2"], ["x1"], name="a"), helper.make_node("Add", ["x", "x1"], ["x2"],
                                                                                  name="b"),
             helper.make_node("Relu", ["x2"], ["y"], name="c")]
    m = make_model(nodes, {"x": (1, 2, 3, 3)}, ["y"], check=False)
    raises(InvalidModelError, save(m, tmp_path / "cyc.onnx"), "cycle")


def test_self_loop(tmp_path):
    m = make_model([helper.make_node("Add", ["x", "t"], ["t"], name="selfloop"),
                    helper.make_node("Relu", ["t"], ["y"], name="r")], {"x": (1, 2)}, ["y"], check=False)
    raises(InvalidModelError, save(m, tmp_path / "loop.onnx"), "cycle.*selfloop")


def test_unknown_op(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["t"], name="r"),
             helper.make_node("Einsum", ["t"], ["y"], name="mystery_node", equation="ij->ji")]
    m = make_model(nodes, {"x": (2, 3)}, ["y"])
    msg = raises(UnsupportedError, save(m, tmp_path / "u.onnx"), "unsupported")
    assert "'Einsum'" in msg and "'mystery_node'" in msg
    assert info_exit(UnsupportedError) == 3


def info_exit(cls):
    return cls("x").exit_code


def test_unknown_domain_op(tmp_path):
    node = helper.make_node("FusedThing", ["x"], ["y"], name="custom", domain="com.example")
    g = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", 1, [1, 2])],
                          [helper.make_tensor_value_info("y", 1, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    msg = raises(UnsupportedError, save(m, tmp_path / "d.onnx"), "unsupported")
    assert "FusedThing" in msg and "custom" in msg


@pytest.mark.parametrize("shape", [(1, 0, 4, 4), (1, 3, -2, 4)])
def test_zero_or_negative_dimension(tmp_path, shape):
    m = relu_model(shape, check=False)
    raises(InvalidModelError, save(m, tmp_path / "z.onnx"), "zero or negative dimension")


@pytest.mark.parametrize("text", ["1x0x4x4", "1x-3x4x4", "1xax4", "", "x"])
def test_bad_input_shape_text(tmp_path, text):
    with pytest.raises(InvalidModelError, match="bad shape"):
        parse_shape(text)
    raises(InvalidModelError, save(relu_model(("N", 2, "H", 3)), tmp_path / "s.onnx"), "bad shape",
           input_shapes={"x": text})


def test_parse_shape():
    assert parse_shape("1x3x224x224") == (1, 3, 224, 224)
    assert parse_shape("1,3,8,8") == (1, 3, 8, 8)
    assert parse_shape("7") == (7,)


def test_absurd_input_shape_refused(tmp_path):
    m = relu_model((1, 1000, 1000, 1000, 1000))  # 10**12 elements
    raises(InvalidModelError, save(m, tmp_path / "big.onnx"), "over the limit.*refused")
    # the same through --input-shape
    m2 = relu_model(("N", 2, "H", "W"))
    raises(InvalidModelError, save(m2, tmp_path / "big2.onnx"), "refused",
           input_shapes={"x": "1x1000x1000x1000000"})


def test_absurd_intermediate_refused(tmp_path):
    # an Upsample by 10**6 in both axes: 1*1*1000*1000 * 10**12 elements; refused before allocating
    nodes = [helper.make_node("Resize", ["x", "", "sc"], ["y"], name="huge", mode="nearest")]
    m = make_model(nodes, {"x": (1, 1, 1000, 1000)}, ["y"],
                   {"sc": np.array([1, 1, 1e6, 1e6], np.float32)})
    raises(InvalidModelError, save(m, tmp_path / "up.onnx"), "huge.*elements; refused")


def test_absurd_constant_of_shape_refused(tmp_path):
    nodes = [helper.make_node("ConstantOfShape", ["shp"], ["big"], name="cos"),
             helper.make_node("Add", ["x", "big"], ["y"], name="add")]
    m = make_model(nodes, {"x": (1, 1)}, ["y"], {"shp": np.array([10**6, 10**6], np.int64)})
    raises(InvalidModelError, save(m, tmp_path / "cos.onnx"), "too large")


def test_absurd_initializer_refused(tmp_path):
    t = onnx.TensorProto(name="w", data_type=onnx.TensorProto.FLOAT, dims=[1000, 1000, 1000, 1000])
    m = make_model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], {"x": (1, 1)}, ["y"], check=False)
    m.graph.initializer.append(t)
    raises(InvalidModelError, save(m, tmp_path / "w.onnx"), "'w' has 1000000000000 elements; refused")


def test_unsupported_opset(tmp_path):
    m = relu_model(opset=5, check=False)
    raises(UnsupportedError, save(m, tmp_path / "o.onnx"), "opset 5")


def test_non_constant_weight(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    m = make_model(nodes, {"x": (1, 2, 4, 4), "w": (3, 2, 1, 1)}, ["y"])
    raises(UnsupportedError, save(m, tmp_path / "cw.onnx"), "conv.*must be a constant")


def test_graph_output_never_produced(tmp_path):
    m = make_model([helper.make_node("Relu", ["x"], ["t"], name="r")], {"x": (1, 2)}, ["y"], check=False)
    raises(InvalidModelError, save(m, tmp_path / "o.onnx"), "'y' is never produced")


def test_undefined_node_input(tmp_path):
    m = make_model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")], {"x": (1, 2)}, ["y"],
                   check=False)
    with pytest.raises(CnnccError) as info:
        load_onnx(save(m, tmp_path / "g.onnx"))
    assert "ghost" in str(info.value) and "\n" not in str(info.value)


def test_shape_mismatch_in_model(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    m = make_model(nodes, {"x": (1, 3, 4, 4)}, ["y"], {"w": np.zeros((2, 2, 1, 1), np.float32)}, check=False)
    raises(InvalidModelError, save(m, tmp_path / "m.onnx"), "channels")


# ------------------------------------------------------------------------------------------- external data
def _external_model(folder, location="weights.bin"):
    from onnx.external_data_helper import convert_model_to_external_data

    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1])],
                   {"x": (1, 3, 6, 6)}, ["y"], {"w": w, "b": b})
    convert_model_to_external_data(m, all_tensors_to_one_file=True, location=location, size_threshold=0)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(folder / "model.onnx"))
    return folder / "model.onnx", w


def test_external_data_in_own_folder_loads(tmp_path):
    path, w = _external_model(tmp_path / "m")
    assert (tmp_path / "m" / "weights.bin").is_file()
    g = check_against_ort(path)
    np.testing.assert_array_equal(g.weights["w"], w)


def test_external_data_escaping_folder_refused(tmp_path):
    path, _ = _external_model(tmp_path / "m")
    os.replace(tmp_path / "m" / "weights.bin", tmp_path / "secret.bin")
    m = onnx.load(str(path), load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../secret.bin"
    onnx.save(m, str(path))
    raises(InvalidModelError, path, "outside the model's folder; refused")


def test_external_data_absolute_path_refused(tmp_path):
    path, _ = _external_model(tmp_path / "m")
    m = onnx.load(str(path), load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = str(tmp_path / "m" / "weights.bin")
    onnx.save(m, str(path))
    raises(InvalidModelError, path, "outside the model's folder; refused")


def test_external_data_symlink_escape_refused(tmp_path):
    path, _ = _external_model(tmp_path / "m")
    os.replace(tmp_path / "m" / "weights.bin", tmp_path / "secret.bin")
    os.symlink(tmp_path / "secret.bin", tmp_path / "m" / "weights.bin")
    raises(InvalidModelError, path, "outside the model's folder; refused")


def test_external_data_missing_or_short(tmp_path):
    path, _ = _external_model(tmp_path / "m")
    data = (tmp_path / "m" / "weights.bin").read_bytes()
    (tmp_path / "m" / "weights.bin").write_bytes(data[:10])
    raises(InvalidModelError, path, "past the end")
    (tmp_path / "m" / "weights.bin").unlink()
    raises(InvalidModelError, path, "not found")


@pytest.mark.parametrize("attrs", [{"strides": [0, 1]}, {"kernel_shape": [3]}, {"pads": [1, 1]},
                                   {"group": 0}, {"dilations": [0, 1]}])
def test_malformed_conv_attributes(tmp_path, attrs):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="badconv", **attrs)]
    m = make_model(nodes, {"x": (1, 2, 5, 5)}, ["y"], {"w": np.ones((2, 2, 3, 3), np.float32)})
    with pytest.raises(CnnccError) as info:
        load_onnx(save(m, tmp_path / "c.onnx"))
    assert "\n" not in str(info.value)


def test_external_data_bad_offset(tmp_path):
    path, _ = _external_model(tmp_path / "m")
    m = onnx.load(str(path), load_external_data=False)
    m.graph.initializer[0].external_data.add(key="offset", value="abc")
    onnx.save(m, str(path))
    raises(InvalidModelError, path, "external data")
