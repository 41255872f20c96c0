"""`cnncc inspect`, `--version`, `--help` and the error paths every command shares."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _conv_model(path, op_type="Conv"):
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node(op_type, ["x", "w"], ["y"], name="the_node", kernel_shape=[3, 3])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, path)
    return path


def test_version(cli):
    r = cli("--version")
    assert r.code == 0 and r.out.startswith("cnncc ")


def test_inspect_json_has_identity_and_hash(cli, sample_models):
    r = cli("inspect", sample_models["cgra_baseline"], "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["schema_version"] == 2 and d["command"] == "inspect"
    assert len(d["inputs"]["model"]["sha256"]) == 64
    (layer,) = d["layers"]
    assert layer["name"] == "conv" and layer["onnx_nodes"] == ["conv"] and layer["output"] == "conv_out"
    # 14x14 output, 16 in/out channels, 3x3 kernel (abconv.md definitions, bytes = elements)
    assert layer["macs"] == 14 * 14 * 16 * 16 * 9 == d["totals"]["macs"]
    assert layer["ai_w"] == 196.0 and layer["ai_out"] == 144.0 and layer["ai_in"] == 110.25
    assert layer["ai_bound"] == "input"


def test_inspect_is_deterministic(cli, sample_models):
    a = cli("inspect", sample_models["small_residual_concat"], "-f", "json").out
    b = cli("inspect", sample_models["small_residual_concat"], "-f", "json").out
    assert a == b


def test_inspect_table_and_csv(cli, sample_models):
    r = cli("inspect", sample_models["small_residual_concat"])
    assert r.code == 0 and "branch_a" in r.out and "totals" in r.out
    r = cli("inspect", sample_models["small_residual_concat"], "-f", "csv")
    lines = r.out.splitlines()
    assert lines[0].startswith("name,op,") and len(lines) == 1 + 21


def test_missing_file_exit_2(cli, tmp_path):
    r = cli("inspect", tmp_path / "nope.onnx")
    assert r.code == 2 and "no such file" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_not_onnx_exit_2(cli, tmp_path):
    p = tmp_path / "x.onnx"
    p.write_text("hello, this is not a model")
    r = cli("inspect", p)
    assert r.code == 2 and "not an ONNX model" in r.err


def test_unsupported_op_exit_3_names_op_and_node(cli, tmp_path):
    p = _conv_model(tmp_path / "m.onnx", op_type="FancyConv")
    r = cli("inspect", p)
    assert r.code == 3
    assert "FancyConv" in r.err and "the_node" in r.err and "unsupported" in r.err


def test_bad_option_exit_2(cli):
    r = cli("inspect", "--no-such-option")
    assert r.code == 2


def test_input_shape_override_and_bad_shape(cli, tmp_path):
    p = _conv_model(tmp_path / "m.onnx")
    r = cli("inspect", p, "--input-shape", "x=1x3x16x16", "-f", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["layers"][0]["output_shape"] == [1, 4, 14, 14]
    r = cli("inspect", p, "--input-shape", "x=1x3x0x16")
    assert r.code == 2 and "positive" in r.err
