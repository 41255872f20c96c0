"""The TFLite reader: MAC totals against an independent count from the flatbuffer, quantisation records,
format detection by content, and one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest
from tfl_nets import NETS

import cnncc
from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.frontend.detect import detect_format
from cnncc.frontend.tflite.builder import ModelBuilder
from cnncc.frontend.tflite.writer import write_tflite


def independent_macs(path) -> int:
    """MACs counted straight from the flatbuffer (output elements x filter taps x input channels per group)."""
    import tflite

    m = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    sg = m.Subgraphs(0)
    total = 0
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        name = names[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
        out = sg.Tensors(op.Outputs(0)).ShapeAsNumpy()
        w = sg.Tensors(op.Inputs(1)).ShapeAsNumpy() if op.InputsLength() > 1 else None
        if name == "CONV_2D":
            total += int(np.prod(out)) * int(w[1] * w[2] * w[3])
        elif name == "DEPTHWISE_CONV_2D":
            total += int(np.prod(out)) * int(w[1] * w[2])
        elif name == "FULLY_CONNECTED":
            total += int(np.prod(out)) * int(w[1])
    return total


@pytest.mark.parametrize("net", sorted(NETS))
def test_macs_equal_independent_count(tmp_path, net):
    path = tmp_path / "m.tflite"
    write_tflite(NETS[net](3), path)
    g = cnncc.load(path)
    assert g.total_macs == independent_macs(path) > 0


def test_quant_records_and_layer_names(tmp_path):
    path = tmp_path / "m.tflite"
    write_tflite(NETS["conv"](0), path)
    g = cnncc.load(path)
    conv = next(layer for layer in g.layers if layer.kind == "Conv")
    x, w, b = (g.type_of(t) for t in conv.inputs)
    assert (x.dtype, w.dtype, b.dtype) == ("int8", "int8", "int32")
    assert w.quant.axis == 0 and len(w.quant.scale) == w.shape[0]          # per-channel weights
    assert np.allclose(b.quant.scale, x.quant.scale[0] * np.array(w.quant.scale), rtol=1e-6)
    assert g.type_of(conv.outputs[0]).quant.axis is None
    assert conv.name == conv.outputs[0]                                      # layer = TFLite output tensor
    assert "q(s=" in g.dump() and "int8[" in g.dump()
    assert g.meta["format"] == "tflite"


def test_format_detected_by_content_not_extension(tmp_path, sample_models):
    wrong = tmp_path / "model.onnx"
    write_tflite(NETS["act"](0), wrong)
    assert detect_format(wrong) == "tflite"
    assert cnncc.load(wrong).meta["format"] == "tflite"
    renamed = tmp_path / "model.tflite"
    renamed.write_bytes(sample_models["cgra_baseline"].read_bytes())
    assert detect_format(renamed) == "onnx"
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(InvalidModelError, match="unknown model format"):
        cnncc.load(junk)


def test_truncated_tflite_is_invalid(tmp_path):
    path = tmp_path / "m.tflite"
    write_tflite(NETS["conv"](0), path)
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InvalidModelError) as e:
        cnncc.load(cut)
    assert e.value.exit_code == 2


def test_unsupported_operator_names_op_index_and_tensor(tmp_path):
    mb = ModelBuilder()
    x = mb.tensor("x", (1, 4, 4, 3), "int8", scales=[0.1], zps=[0])
    ax = mb.tensor("axis", (1,), "int32", np.array([3]))
    y = mb.tensor("argmax_out", (1, 4, 4), "int32")
    mb.op("ARG_MAX", [x, ax], [y])
    path = tmp_path / "argmax.tflite"
    path.write_bytes(mb.finish([x], [y], "g"))
    with pytest.raises(UnsupportedError) as e:
        cnncc.load(path)
    msg = str(e.value)
    assert "ARG_MAX" in msg and "#0" in msg and "argmax_out" in msg and e.value.exit_code == 3


def test_float16_weights_fold_to_float32(tmp_path, monkeypatch):
    from cnncc.frontend.tflite import builder

    monkeypatch.setitem(builder._NP, "float16", np.float16)
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.tensor("x", (1, 6, 6, 3), "float32")
    w16 = mb.tensor("w16", (4, 3, 3, 3), "float16", rng.standard_normal((4, 3, 3, 3)).astype(np.float16))
    w = mb.tensor("w", (4, 3, 3, 3), "float32")
    mb.op("DEQUANTIZE", [w16], [w])
    b = mb.tensor("b", (4,), "float32", rng.standard_normal(4).astype(np.float32))
    y = mb.tensor("y", (1, 6, 6, 4), "float32")
    mb.op("CONV_2D", [x, w, b], [y], ("Conv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1}))
    path = tmp_path / "f16.tflite"
    path.write_bytes(mb.finish([x], [y], "f16"))
    g = cnncc.load(path)
    assert [la.kind for la in g.layers] == ["Conv"] and g.type_of(g.layers[0].inputs[1]).dtype == "float32"
    pytest.importorskip("ai_edge_litert")
    from litert_ref import compare

    assert compare(path).outputs_lsb <= 1e-5


def test_hybrid_quantisation_refused(tmp_path):
    mb = ModelBuilder()
    x = mb.tensor("x", (1, 4, 4, 2), "float32")
    w = mb.tensor("w", (3, 1, 1, 2), "int8", np.ones((3, 1, 1, 2)), scales=[0.1, 0.1, 0.1], zps=[0] * 3)
    y = mb.tensor("y", (1, 4, 4, 3), "float32")
    mb.op("CONV_2D", [x, w], [y], ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1}))
    path = tmp_path / "hybrid.tflite"
    path.write_bytes(mb.finish([x], [y], "h"))
    with pytest.raises(UnsupportedError, match="hybrid"):
        cnncc.load(path)


def test_multiple_subgraphs_refused():
    from types import SimpleNamespace as NS

    from cnncc.frontend.tflite.reader import check_subgraphs, op_names

    names = op_names()
    code = {v: k for k, v in names.items()}
    op = NS(OpcodeIndex=lambda: 0)
    sub = NS(OperatorsLength=lambda: 1, Operators=lambda i: op)
    model = NS(SubgraphsLength=lambda: 2, Subgraphs=lambda i: sub,
               OperatorCodes=lambda i: NS(BuiltinCode=lambda: code["CONV_2D"], DeprecatedBuiltinCode=lambda: 0))
    with pytest.raises(UnsupportedError, match="2 subgraphs"):
        check_subgraphs(model, names, "m.tflite")
    init_only = NS(OperatorCodes=lambda i: NS(BuiltinCode=lambda: code["VAR_HANDLE"], DeprecatedBuiltinCode=lambda: 0),
                   SubgraphsLength=lambda: 2, Subgraphs=lambda i: sub)
    check_subgraphs(init_only, names, "m.tflite")   # a variable-init subgraph is accepted
