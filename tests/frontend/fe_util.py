"""Helpers shared by the frontend tests: onnxruntime references and an independent MAC counter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from cnncc.ir import interp

REL_TOL = 1e-4  # max abs error relative to the output's scale (max |reference|)


def ort_session(model: onnx.ModelProto | str | Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def ort_run(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def random_feeds(graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(graph.types[n].shape).astype(np.float32) for n in graph.inputs}


def assert_close(got: np.ndarray, ref: np.ndarray, what: str = "") -> float:
    """Assert max |got - ref| <= REL_TOL · max |ref|; return the relative error."""
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != onnxruntime {ref.shape}"
    scale = float(np.abs(ref).max()) or 1.0
    err = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()) / scale
    assert err <= REL_TOL, f"{what}: max abs error {err:.3g} x scale {scale:.3g} over tolerance"
    return err


def check_against_ort(path: str | Path, input_shapes=None, seed: int = 0):
    """Load ``path`` with cnncc, run the interpreter and onnxruntime on the same random feed, compare every
    graph output. Returns the cnncc graph."""
    from cnncc.frontend.onnx import load_onnx

    g = load_onnx(path, input_shapes)
    feeds = random_feeds(g, seed)
    ref = ort_run(path, feeds)
    got = interp.run(g, feeds)
    onnx_outs = [o.name for o in onnx.load(str(path), load_external_data=False).graph.output]
    assert len(onnx_outs) == len(g.outputs)
    for onnx_name, name in zip(onnx_outs, g.outputs):
        assert_close(got[name], ref[onnx_name], f"{Path(path).name}:{onnx_name}")
    return g


def independent_macs(path: str | Path, feeds: dict[str, np.ndarray]) -> int:
    """Conv + Gemm/MatMul MACs counted from the ONNX protobuf alone, with every tensor shape taken from an
    onnxruntime run (each intermediate tensor exposed as an extra graph output)."""
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(a.t) for n in graph.node if n.op_type == "Constant"
              for a in n.attribute if a.name == "value"}
    wanted = []
    for n in graph.node:
        if n.op_type in ("Conv", "Gemm", "MatMul"):
            wanted += [t for t in list(n.input[:2]) + [n.output[0]] if t not in inits and t not in consts]
    known = {o.name for o in graph.output} | {i.name for i in graph.input}
    for t in dict.fromkeys(wanted):
        if t not in known:
            graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    values = ort_run(model, feeds)
    values.update(feeds)

    def shape(t):
        if t in inits:
            return inits[t].shape
        if t in consts:
            return consts[t].shape
        return values[t].shape

    total = 0
    for n in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv":
            k, cg, fy, fx = shape(n.input[1])
            nb, _, oy, ox = shape(n.output[0])
            total += nb * k * cg * fy * fx * oy * ox
        elif n.op_type == "Gemm":
            a, b = shape(n.input[0]), shape(n.input[1])
            m, red = (a[1], a[0]) if attrs.get("transA", 0) else a
            cols = b[0] if attrs.get("transB", 0) else b[1]
            total += m * red * cols
        elif n.op_type == "MatMul":
            out = shape(n.output[0])
            red = shape(n.input[0])[-1]
            total += int(np.prod(out)) * red
    return int(total)


def make_model(nodes, inputs: dict[str, tuple], outputs: list[str], inits: dict[str, np.ndarray] | None = None,
               opset: int = 17, out_shapes: dict[str, tuple] | None = None, check: bool = True) -> onnx.ModelProto:
    """A float32 ONNX model from helper-made nodes; ``inputs`` maps names to shapes (a str dim is symbolic)."""
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list((out_shapes or {}).get(n, ())) or None)
            for n in outputs]
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "t", ins, outs, init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="cnncc-tests")
    m.ir_version = 7 if opset < 15 else 8
    if check and all(o in (out_shapes or {}) for o in outputs):  # the checker wants output shapes
        onnx.checker.check_model(m)
    return m


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path
