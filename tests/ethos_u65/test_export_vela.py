"""The int8 TFLite exporter against tools cnncc did not write, on every sample model, on seeded random networks
covering every op the exporter lowers, and on held-out style torch exports:

* Arm Vela 5.2.0 (``--accelerator-config ethos-u65-256``) compiles each export and places on the NPU every
  operator it can run there — only the float fallbacks (``CPU_CODES``: Div by an activation, LRN with β not a
  multiple of ¼, ...) and resizes outside Vela's documented resize rule may stay on the CPU;
* the LiteRT interpreter computes, on the calibration input, what onnxruntime computes on the float model
  within int8 tolerance (``TOL`` of the output's largest magnitude);
* ops that cannot be exported are refused with a one-line UnsupportedError naming op and node.

Vela-less or LiteRT-less installs skip the corresponding checks with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.writer import to_tflite_bytes
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from tests.frontend import tflite_export_check as C
from tests.frontend import tflite_export_nets as N
from tests.frontend.fe_util import ort_run

#: max |LiteRT − onnxruntime| / max |onnxruntime| on the calibration input (measured ≤ 0.045 on these nets)
TOL = 0.08
SAMPLES = ["cgra_baseline", "small_residual_concat", "mobilenetv1_cifar100", "mobilenetv2_224",
           pytest.param("resnet50_cifar100", marks=pytest.mark.slow)]
PLAN = N.plan(seed=13, n_nets=7, per_net=4)
needs_vela = pytest.mark.skipif(not C.HAVE_VELA, reason="Vela (ethos-u-vela, the bench extra) not installed")
needs_litert = pytest.mark.skipif(not C.HAVE_LITERT, reason="LiteRT (ai-edge-litert) not installed")


def calibration_input(shape) -> np.ndarray:
    """The input the exporter calibrates its ranges on (uniform[-1, 1], seed 0)."""
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)


def _resize_on_npu(graph, name: str) -> bool:
    """Vela's documented rule for RESIZE_*: 1×1 input, same size, or an equal 2/4/8× scale (of size − 1 with
    align_corners)."""
    layer = next(la for la in graph.layers if la.name == name)
    _, _, h, w = graph.type_of(layer.inputs[0]).shape
    _, _, oh, ow = graph.type_of(layer.outputs[0]).shape
    if (h, w) == (1, 1) or (h, w) == (oh, ow):
        return True
    ac = layer.op.coord_mode == "align_corners"
    fy = (oh - 1) / (h - 1) if ac else oh / h
    fx = (ow - 1) / (w - 1) if ac else ow / w
    return fy == fx and fy in (2.0, 4.0, 8.0)


def check_vela(graph, data: bytes, tmp_path, name: str, cpu_allowed: bool = False) -> list:
    r = C.vela_compile(data, tmp_path, name)
    assert r["rc"] == 0, r["log"][-2000:]
    wrong = [(code, out) for code, out in r["cpu_ops"]
             if not (cpu_allowed and code in N.CPU_CODES)
             and not (code.startswith("RESIZE") and not _resize_on_npu(graph, out))]
    assert not wrong, f"Vela left NPU-capable operators on the CPU: {wrong}\n{r['log'][-2000:]}"
    return r["cpu_ops"]


def check_numerics(model, data: bytes, shape, input_name: str) -> float:
    x = calibration_input(shape)
    ref = list(ort_run(model, {input_name: x}).values())
    got = C.litert_run(data, [x])
    errs = [C.rel_error(g, r) for g, r in zip(got, ref)]
    assert len(got) == len(ref) and max(errs) <= TOL, errs
    return max(errs)


# ---------------------------------------------------------------------------------------------- unit checks
def _graph(layers, inputs, weights=None) -> Graph:
    return Graph.build("t", inputs, [layers[-1].outputs[0]], layers, weights=weights or {})


def test_channel_pad_is_written_on_the_nhwc_channel_axis():
    """BlazeFace: ONNX pads on the channel axis must land on NHWC axis 3 (Vela rejected them on W)."""
    import tflite

    g = _graph([Layer("channel_padding", O.Pad(pads=(0, 0, 0, 0, 0, 4, 1, 2)), ["x"], ["y"])],
               {"x": tensor_type((1, 8, 5, 6))})
    m = tflite.Model.GetRootAsModel(to_tflite_bytes(g, calibrate=False)[0], 0)
    sg = m.Subgraphs(0)
    pads = next(sg.Tensors(i) for i in range(sg.TensorsLength()) if sg.Tensors(i).Name() == b"channel_padding/pads")
    raw = m.Buffers(pads.Buffer()).DataAsNumpy().view(np.int32).reshape(4, 2)
    assert raw.tolist() == [[0, 0], [0, 1], [0, 2], [0, 4]]  # N, H, W, C


@pytest.mark.parametrize("layer, why", [
    (Layer("mp", O.MaxPool(kernel=(3, 3), dilations=(2, 2)), ["x"], ["y"]), "MaxPool"),
    (Layer("lrn6", O.LRN(size=4, beta=0.6), ["x"], ["y"]), "LRN"),
    (Layer("dz", O.Div(), ["x", "zero"], ["y"]), "Div"),
    (Layer("wrap", O.Pad(pads=(0, 0, 1, 1, 0, 0, 1, 1), mode="wrap"), ["x"], ["y"]), "Pad"),
    (Layer("rz", O.Resize((3, 3), (0.55, 0.55), "nearest", "asymmetric", "floor"), ["x"], ["y"]), "Resize"),
])
@pytest.mark.filterwarnings("ignore:divide by zero")
def test_refused_naming_op_and_node(layer, why):
    g = _graph([layer], {"x": tensor_type((1, 4, 6, 6))}, {"zero": np.array([1.0, 0.0, 2.0, 3.0],
                                                                            np.float32).reshape(4, 1, 1)})
    with pytest.raises(UnsupportedError, match=rf"'{why}'.*'{layer.name}'"):
        to_tflite_bytes(g)


# ---------------------------------------------------------------------------------------------- samples
@needs_vela
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_exports_compile_on_the_npu(sample_models, name, tmp_path):
    g, data = C.export(sample_models[name])
    check_vela(g, data, tmp_path, name)
    if C.HAVE_LITERT:
        check_numerics(str(sample_models[name]), data, g.types[g.inputs[0]].shape, g.inputs[0])


# ---------------------------------------------------------------------------------------------- random nets
@pytest.fixture(scope="module")
def random_exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("random_exports")
    cache = {}

    def get(i):
        if i not in cache:
            seed, blocks, head = PLAN[i]
            m = N.random_net(seed, blocks, head)
            g, data = C.export(m, root)
            cache[i] = (m, g, data, blocks)
        return cache[i]

    return get


def test_plan_covers_every_block_and_head():
    assert {b for _, blocks, _ in PLAN for b in blocks} == set(N.BLOCKS)
    assert {h for _, _, h in PLAN} == set(N.HEADS)


def test_lowerings_export_byte_identically(random_exports, tmp_path):
    m, _, data, blocks = random_exports(2)
    assert {"lrn", "lrn_float", "div_act", "hardsigmoid"} <= set(blocks)
    assert C.export(m, tmp_path)[1] == data


@needs_vela
@pytest.mark.parametrize("i", range(len(PLAN)))
def test_random_net_compiles_on_the_npu(random_exports, i, tmp_path):
    m, g, data, blocks = random_exports(i)
    cpu = check_vela(g, data, tmp_path, f"rand{i}", cpu_allowed=any(b in N.CPU_BLOCKS for b in blocks))
    if not any(b in ("div_act", "lrn_float") for b in blocks):
        assert not cpu, cpu


@needs_litert
@pytest.mark.parametrize("i", range(len(PLAN)))
def test_random_net_matches_onnxruntime(random_exports, i):
    m, g, data, _ = random_exports(i)
    check_numerics(m, data, g.types[g.inputs[0]].shape, g.inputs[0])


@pytest.mark.parametrize("seed", range(3))
def test_nhwc_flatten_head_is_one_reshape(tmp_path, seed):
    """tf2onnx's head (Transpose to NHWC order -> Reshape [1, -1] -> MatMul) flattens the map in the order the
    export stores it: one RESHAPE, no TRANSPOSE and no permuted FC columns; Vela runs it all on the NPU and LiteRT
    computes what onnxruntime computes on the float model."""
    import tflite

    rng = np.random.default_rng(seed)
    blocks = [str(b) for b in rng.choice(["conv", "depthwise", "maxpool", "sigmoid", "concat"], 2)]
    m = N.random_net(700 + seed, blocks, "nhwc_matmul", c=int(rng.integers(2, 7)), h=int(rng.integers(3, 9)),
                     w=int(rng.integers(3, 9)))
    g, data = C.export(m, tmp_path)
    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    codes = {max(model.OperatorCodes(sg.Operators(i).OpcodeIndex()).BuiltinCode(),
                 model.OperatorCodes(sg.Operators(i).OpcodeIndex()).DeprecatedBuiltinCode())
             for i in range(sg.OperatorsLength())}
    assert tflite.BuiltinOperator.TRANSPOSE not in codes and tflite.BuiltinOperator.RESHAPE in codes
    if C.HAVE_VELA:
        assert not check_vela(g, data, tmp_path, f"nhwc{seed}")
    if C.HAVE_LITERT:
        check_numerics(m, data, g.types[g.inputs[0]].shape, g.inputs[0])


# ---------------------------------------------------------------------------------------------- torch exports
TORCH = ["alexstyle", "hardact", "paddedpools", "channelsoftmax", "loosebn", "blazestyle",
         "squeezenet", "upnet", "aligncorners"]


@pytest.fixture(scope="module")
def torch_exports(tmp_path_factory):
    pytest.importorskip("torch")
    from tests.frontend import tflite_export_torch, torch_nets

    root = tmp_path_factory.mktemp("torch_exports")

    def get(name):
        mod = tflite_export_torch if name in tflite_export_torch.MODELS else torch_nets
        model, shape = mod.build(name)
        path = root / f"{name}.onnx"
        torch_nets.export(model, shape, path, 17)
        return path

    return get


@needs_vela
@pytest.mark.parametrize("name", TORCH)
def test_torch_export_compiles_and_matches(torch_exports, name, tmp_path):
    path = torch_exports(name)
    g, data = C.export(path)
    check_vela(g, data, tmp_path, name)
    if C.HAVE_LITERT:
        check_numerics(str(path), data, g.types[g.inputs[0]].shape, g.inputs[0])


def test_torch_local_response_norm_is_refused_naming_the_node(tmp_path):
    """torch writes LocalResponseNorm as Pow / 5-D AveragePool / Div, not as an ONNX LRN node: the frontend
    refuses the 5-D pool by name (ONNX LRN nodes, as in the model zoo, export — see the random nets)."""
    torch = pytest.importorskip("torch")
    from tests.frontend import torch_nets

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.LocalResponseNorm(5)).eval()
    path = tmp_path / "lrn.onnx"
    torch_nets.export(model, (1, 3, 12, 12), path, 17)
    with pytest.raises(UnsupportedError, match="AveragePool"):
        C.export(path)
