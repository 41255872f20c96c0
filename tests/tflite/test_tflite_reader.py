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
