"""Quantised IR -> QDQ ONNX: the float graph the quantised one stands for, with every quantised tensor written
back as QuantizeLinear/DequantizeLinear around it (the form onnxruntime.quantization writes and runs).

Integer weights are stored as they are (int8 weights, int32 biases) behind a DequantizeLinear with their own
scales (per axis where the model has them); each quantised activation is written float by its node, then
QuantizeLinear (the model's scale and zero point) and DequantizeLinear for its readers; integer graph inputs
stay integer and are dequantized for their readers; integer graph outputs are the QuantizeLinear outputs.
"""

from __future__ import annotations

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.ir import Graph
from cnncc.ir.types import QuantParams

_ZP_NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32}


def _qparams(nh, name: str, q: QuantParams, dtype: str) -> tuple[list, list[str]]:
    s = np.asarray(q.scale, np.float32)
    z = np.asarray(q.zero_point).astype(_ZP_NP[dtype])
    if q.axis is None:
        s, z = s.reshape(()), z.reshape(())
    return [nh.from_array(s, f"{name}_scale"), nh.from_array(z, f"{name}_zero_point")], \
        [f"{name}_scale", f"{name}_zero_point"]


def to_qdq_onnx(graph: Graph, opset: int = 17):
    """A QDQ ``onnx.ModelProto`` of the quantised ``graph`` (checked with ``onnx.checker``)."""
    import onnx
    from onnx import helper
    from onnx import numpy_helper as nh

    from cnncc.frontend.onnx.writer import _DTYPES, to_onnx
    from cnncc.ir.quant import dequantized_view

    if any(t.dtype == "int16" and t.quant is not None for t in graph.types.values()) and opset < 21:
        opset = 21  # int16 QuantizeLinear needs opset 21
    model = to_onnx(dequantized_view(graph), opset)
    g = model.graph
    records = graph.weights.quant
    nodes, inits = list(g.node), list(g.initializer)
    new_inits, pre_nodes = [], []
    # weights: integers + DequantizeLinear
    keep = []
    for init in inits:
        w = init.name
        if w in graph.weights and w in records and np.issubdtype(graph.weights[w].dtype, np.integer):
            a = graph.weights[w]
            q = records[w]
            qi, names = _qparams(nh, f"{w}_q", q, str(a.dtype))
            new_inits += [nh.from_array(np.asarray(a), f"{w}_quantized")] + qi
            node = helper.make_node("DequantizeLinear", [f"{w}_quantized"] + names, [w], name=f"{w}/DequantizeLinear")
            if q.axis is not None:
                node.attribute.append(helper.make_attribute("axis", int(q.axis)))
            pre_nodes.append(node)
        else:
            keep.append(init)
    # activations
    acts = {t: (ty, ty.quant) for t, ty in graph.types.items() if ty.quant is not None}
    renamed: dict[str, str] = {}
    post: list = []
    in_vis, out_vis = list(g.input), list(g.output)
    for t, (ty, tq) in sorted(acts.items()):
        if tq is None or tq.per_axis:
            raise UnsupportedError(f"tensor {t!r}: per-axis quantised activations cannot be written as QDQ")
        qi, names = _qparams(nh, f"{t}_q", tq, ty.dtype)
        new_inits += qi
        if t in graph.inputs:
            post.append(helper.make_node("DequantizeLinear", [t] + names, [f"{t}_dq"], name=f"{t}/DequantizeLinear"))
            for vi in in_vis:
                if vi.name == t:
                    vi.type.tensor_type.elem_type = _DTYPES[ty.dtype]
        else:
            for n in nodes:
                n.output[:] = [f"{t}_float" if o == t else o for o in n.output]
            post.append(helper.make_node("QuantizeLinear", [f"{t}_float"] + names, [t], name=f"{t}/QuantizeLinear"))
            post.append(helper.make_node("DequantizeLinear", [t] + names, [f"{t}_dq"], name=f"{t}/DequantizeLinear"))
            for vi in out_vis:
                if vi.name == t:
                    vi.type.tensor_type.elem_type = _DTYPES[ty.dtype]
        renamed[t] = f"{t}_dq"
    for n in nodes:
        n.input[:] = [renamed.get(i, i) for i in n.input]
    nodes, post = _conversions(graph, nodes, post)
    order = _toposort(pre_nodes + nodes + post)
    graph_proto = helper.make_graph(order, g.name, in_vis, out_vis, initializer=keep + new_inits)
    out = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", opset)],
                            producer_name="cnncc", ir_version=model.ir_version)
    for p in model.metadata_props:
        out.metadata_props.add(key=p.key, value=p.value)
    onnx.checker.check_model(out)
    return out


def _conversions(graph: Graph, nodes: list, post: list) -> tuple[list, list]:
    """The IR's Quantize/Dequantize layers (Identity in the float view) as the Q/DQ nodes themselves."""
    from onnx import helper

    from cnncc.ir.quant import Dequantize, Quantize

    kinds = {la.outputs[0]: la for la in graph.layers if isinstance(la.op, (Quantize, Dequantize))}
    feeds: dict[str, str] = {}
    keep = []
    for n in nodes:
        out = n.output[0]
        la = kinds.get(out[: -len("_float")] if out.endswith("_float") else out)
        if n.op_type != "Identity" or la is None:
            keep.append(n)
        elif isinstance(la.op, Quantize) and out.endswith("_float"):
            feeds[out] = n.input[0]          # QuantizeLinear reads the float input directly
        elif isinstance(la.op, Dequantize) and graph.types[la.inputs[0]].quant is not None:
            t = la.inputs[0]
            keep.append(helper.make_node("DequantizeLinear", [t, f"{t}_q_scale", f"{t}_q_zero_point"], [out],
                                         name=f"{la.name}/DequantizeLinear"))
        else:
            keep.append(n)
    for n in post:
        n.input[:] = [feeds.get(i, i) for i in n.input]
    return keep, post


def _toposort(nodes: list) -> list:
    produced = {o: i for i, n in enumerate(nodes) for o in n.output}
    done: set[int] = set()
    order: list = []

    def visit(i: int) -> None:
        stack = [(i, False)]
        while stack:
            j, expanded = stack.pop()
            if j in done:
                continue
            if expanded:
                done.add(j)
                order.append(nodes[j])
                continue
            stack.append((j, True))
            for t in nodes[j].input:
                k = produced.get(t)
                if k is not None and k not in done:
                    stack.append((k, False))

    for i in range(len(nodes)):
        visit(i)
    return order
