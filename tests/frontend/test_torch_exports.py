"""Real exported graphs: torch (TorchScript exporter) models at several opsets load, match onnxruntime through
the interpreter, and count the same MACs as an independent counter."""

import onnx
import pytest
from fe_util import check_against_ort, independent_macs, random_feeds

from cnncc.errors import InvalidModelError
from cnncc.frontend.onnx import load_onnx

torch_nets = pytest.importorskip("torch_nets")

NEWEST_OPSET = 23  # the newest opset torch 2.13's TorchScript exporter writes (and cnncc's MAX_OPSET)
OPSETS = [9, 11, 13, 17, NEWEST_OPSET]
MODELS = list(torch_nets.MODELS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache = {}
    root = tmp_path_factory.mktemp("torch_exports")

    def get(name, opset, dynamic=None):
        key = (name, opset, tuple(sorted((dynamic or {}).items())))
        if key not in cache:
            model, shape = torch_nets.build(name)
            path = root / f"{name}_op{opset}_{len(cache)}.onnx"
            torch_nets.export(model, shape, path, opset, dynamic)
            cache[key] = (path, shape)
        return cache[key]

    return get


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", MODELS)
def test_export_matches_onnxruntime(exported, name, opset):
    if name == "aligncorners" and opset < 11:
        pytest.skip("torch cannot export align_corners=True before opset 11 (Upsample has no such mode)")
    path, shape = exported(name, opset, {0: "N"})  # symbolic batch -> 1
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N"
    g = check_against_ort(path)
    assert g.types[g.inputs[0]].shape == shape
    assert g.meta["opset"] == str(opset)


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2", "squeezenet", "upnet"])
def test_export_macs_match_independent_count(exported, name):
    path, _ = exported(name, 13, {0: "N"})
    g = load_onnx(path)
    assert g.total_macs > 0
    assert g.total_macs == independent_macs(path, random_feeds(g))


def test_symbolic_hw_needs_input_shape(exported):
    path, _ = exported("resnet18", 17, {0: "N", 2: "H", 3: "W"})
    with pytest.raises(InvalidModelError, match=r"symbolic dimension 'H'.*--input-shape x="):
        load_onnx(path)
    g = check_against_ort(path, {"x": "1x3x48x80"})
    assert g.types["x"].shape == (1, 3, 48, 80)
    g2 = load_onnx(path, {"x": (1, 3, 32, 32)})
    assert g2.types[g2.outputs[0]].shape == (1, 10)
    assert g2.total_macs < g.total_macs


def test_input_shape_unknown_name(exported):
    path, _ = exported("resnet18", 17, {0: "N", 2: "H", 3: "W"})
    with pytest.raises(InvalidModelError, match="unknown input"):
        load_onnx(path, {"x": "1x3x32x32", "nope": "1x3"})
