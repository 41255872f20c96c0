"""Helpers for the pass tests: tiny ONNX models written with onnx.helper (not with cnncc's exporter), and the
onnxruntime comparison of an original model with the pipeline's written result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from cnncc.frontend.onnx import load_onnx
from cnncc.frontend.onnx.writer import write_onnx
from cnncc.pipeline import run_pipeline
from cnncc.verify import compare_models


def conv_model(c, k, h, w, kernel, strides=(1, 1), dilations=(1, 1), pads=(0, 0, 0, 0), groups=1, bias=True,
               seed=0, bn=False, act=None):
    """A one-conv ONNX model (optionally + BatchNormalization + an activation node). ``pads`` (t, l, b, r)."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal((k, c // groups, *kernel)).astype(np.float32), "W")]
    ins = ["x", "W"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(k).astype(np.float32), "B"))
        ins.append("B")
    nodes = [helper.make_node("Conv", ins, ["y0"], name="conv", kernel_shape=list(kernel),
                              strides=list(strides), dilations=list(dilations),
                              pads=[pads[0], pads[1], pads[2], pads[3]], group=groups)]
    last = "y0"
    if bn:
        for nm, v in (("s", rng.uniform(0.5, 1.5, k)), ("b", rng.standard_normal(k)),
                      ("m", rng.standard_normal(k) * 0.1), ("v", rng.uniform(0.5, 2, k))):
            inits.append(numpy_helper.from_array(v.astype(np.float32), f"bn.{nm}"))
        nodes.append(helper.make_node("BatchNormalization", [last, "bn.s", "bn.b", "bn.m", "bn.v"], ["y1"],
                                      name="bn", epsilon=1e-5))
        last = "y1"
    if act:
        op, attrs, extra = act
        for nm, v in extra.items():
            inits.append(numpy_helper.from_array(np.asarray(v, np.float32), nm))
        nodes.append(helper.make_node(op, [last] + list(extra), ["y"], name="act", **attrs))
    else:
        nodes[-1].output[0] = "y"
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def check_pipeline(model_or_path, pipeline: str, tmp: Path, tag: str = "m", target=None, semantic=True):
    """Load (via the frontend), run ``pipeline``, write ONNX, compare on onnxruntime; returns
    (comparison dict, pipeline result)."""
    if not isinstance(model_or_path, (str, Path)):
        orig = tmp / f"{tag}.onnx"
        orig.write_bytes(model_or_path.SerializeToString())
    else:
        orig = Path(model_or_path)
    res = run_pipeline(load_onnx(orig), pipeline, target=target)
    out = tmp / f"{tag}.out.onnx"
    write_onnx(res.graph, out)
    return compare_models(orig, out, semantic=semantic), res
