"""Hypothesis strategies for hostile ONNX models: random valid CNN graphs, the same with attributes set to
random values, and byte-level mutations of their serialisation."""

from __future__ import annotations

import numpy as np
import onnx
from hostile_util import model, tensor
from hypothesis import strategies as st
from onnx import helper

#: attribute values a mutation may set (right and wrong types, out-of-range numbers, strange strings)
ATTR_VALUES = st.one_of(
    st.integers(-3, 9), st.sampled_from([0, -1, 2**31, -(2**63), 2**63 - 1, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.lists(st.integers(-4, 12), max_size=6), st.lists(st.sampled_from([0, -1, 10**18, 2**62]), max_size=4),
    st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "constant", "reflect", "edge", "wrap",
                     "nearest", "linear", "cubic", "", "\x00", "half_pixel", "bogus"]),
    st.lists(st.floats(-4, 4, width=32), max_size=4),
)

ATTR_NAMES = ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "axis", "axes", "perm", "mode",
              "size", "alpha", "beta", "epsilon", "ceil_mode", "count_include_pad", "transA", "transB", "split",
              "num_outputs", "keepdims", "allowzero", "to", "output_padding", "coordinate_transformation_mode",
              "nearest_mode", "noop_with_empty_axes", "training_mode", "bias", "min", "max", "value"]


@st.composite
def cnn_graphs(draw) -> onnx.ModelProto:
    """A valid random CNN: a chain of conv / pool / elementwise / residual / concat / head blocks on a small
    NCHW input, weights seeded."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    c, hw = draw(st.integers(1, 6)), draw(st.integers(4, 12))
    nodes, inits, last, n = [], [], "x", 0

    def name(kind: str) -> str:
        nonlocal n
        n += 1
        return f"{kind}{n}"

    def w(shape) -> str:
        t = name("w")
        inits.append(tensor(t, rng.standard_normal(shape).astype(np.float32)))
        return t

    shape = [1, c, hw, hw]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "dw", "pool", "act", "bn", "residual", "concat", "pad", "resize"]))
        out = name("t")
        if kind in ("conv", "dw"):
            k = draw(st.integers(1, 3)) * 2 - 1
            stride = draw(st.integers(1, 2))
            groups = shape[1] if kind == "dw" else 1
            kout = shape[1] * (draw(st.integers(1, 2)) if kind == "dw" else 1) if kind == "dw" else \
                draw(st.integers(1, 8))
            p = k // 2
            nodes.append(helper.make_node("Conv", [last, w((kout, shape[1] // groups, k, k)), w((kout,))], [out],
                                          name=name("conv"), kernel_shape=[k, k], strides=[stride, stride],
                                          pads=[p, p, p, p], group=groups))
            size = (shape[2] + 2 * p - k) // stride + 1
            shape = [1, kout, size, size]
        elif kind == "pool" and shape[2] >= 2:
            op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
            nodes.append(helper.make_node(op, [last], [out], name=name("pool"), kernel_shape=[2, 2], strides=[2, 2]))
            shape = [1, shape[1], shape[2] // 2, shape[3] // 2]
        elif kind == "act":
            op = draw(st.sampled_from(["Relu", "Sigmoid", "Tanh", "HardSwish", "LeakyRelu"]))
            nodes.append(helper.make_node(op, [last], [out], name=name("act")))
        elif kind == "bn":
            ch = shape[1]
            nodes.append(helper.make_node("BatchNormalization", [last, w((ch,)), w((ch,)), w((ch,)),
                                                                 _pos(inits, name, rng, ch)], [out], name=name("bn")))
        elif kind == "residual":
            mid = name("t")
            ch = shape[1]
            nodes.append(helper.make_node("Conv", [last, w((ch, ch, 1, 1))], [mid], name=name("conv"),
                                          kernel_shape=[1, 1]))
            nodes.append(helper.make_node("Add", [last, mid], [out], name=name("add")))
        elif kind == "concat":
            nodes.append(helper.make_node("Concat", [last, last], [out], name=name("cat"), axis=1))
            shape = [1, shape[1] * 2, shape[2], shape[3]]
        elif kind == "pad":
            nodes.append(helper.make_node("Pad", [last, _i64(inits, name, [0, 0, 1, 1, 0, 0, 1, 1])], [out],
                                          name=name("pad")))
            shape = [1, shape[1], shape[2] + 2, shape[3] + 2]
        elif kind == "resize" and shape[2] * 2 <= 32:
            sc = name("sc")
            inits.append(tensor(sc, np.array([1, 1, 2, 2], np.float32)))
            nodes.append(helper.make_node("Resize", [last, "", sc], [out], name=name("resize"), mode="nearest"))
            shape = [1, shape[1], shape[2] * 2, shape[3] * 2]
        else:
            continue
        last = out
    head = draw(st.sampled_from(["none", "gap-gemm", "flatten-softmax"]))
    if head == "gap-gemm":
        g, f = name("t"), name("t")
        nodes.append(helper.make_node("GlobalAveragePool", [last], [g], name=name("gap")))
        nodes.append(helper.make_node("Flatten", [g], [f], name=name("flat")))
        last = name("t")
        nodes.append(helper.make_node("Gemm", [f, w((shape[1], 5)), w((5,))], [last], name=name("fc")))
    elif head == "flatten-softmax":
        f = name("t")
        nodes.append(helper.make_node("Flatten", [last], [f], name=name("flat")))
        last = name("t")
        nodes.append(helper.make_node("Softmax", [f], [last], name=name("sm"), axis=1))
    if not nodes:
        nodes.append(helper.make_node("Relu", ["x"], ["y0"], name="relu"))
        last = "y0"
    return model(nodes, [("x", [1, c, hw, hw])], [(last, None)], inits, opset=draw(st.sampled_from([13, 17])))


def _pos(inits, name, rng, ch) -> str:
    t = name("var")
    inits.append(tensor(t, rng.uniform(0.5, 2.0, ch).astype(np.float32)))
    return t


def _i64(inits, name, values) -> str:
    t = name("p")
    inits.append(tensor(t, np.array(values, np.int64)))
    return t


@st.composite
def mutated_attributes(draw) -> onnx.ModelProto:
    """A random CNN with 1-3 attributes of random nodes set (or added) to random values."""
    m = draw(cnn_graphs())
    for _ in range(draw(st.integers(1, 3))):
        node = m.graph.node[draw(st.integers(0, len(m.graph.node) - 1))]
        key = draw(st.sampled_from(ATTR_NAMES + [a.name for a in node.attribute]))
        val = draw(ATTR_VALUES)
        for i, a in enumerate(node.attribute):
            if a.name == key:
                del node.attribute[i]
                break
        try:
            node.attribute.append(helper.make_attribute(key, val))
        except (ValueError, TypeError):  # a value make_attribute cannot encode (e.g. an empty list)
            pass
    return m


@st.composite
def mutated_structure(draw) -> onnx.ModelProto:
    """A random CNN with a structural change: an input renamed, a node dropped or duplicated, an initializer
    reshaped or retyped, a graph input shape changed, the opset changed."""
    m = draw(cnn_graphs())
    g = m.graph
    what = draw(st.sampled_from(["rename-input", "drop-node", "dup-node", "init-dims", "init-type", "input-dims",
                                 "opset", "output-name", "swap-inputs"]))
    i = draw(st.integers(0, len(g.node) - 1))
    if what == "rename-input" and g.node[i].input:
        g.node[i].input[draw(st.integers(0, len(g.node[i].input) - 1))] = draw(st.sampled_from(["x", "", "nope",
                                                                                                g.node[0].output[0]]))
    elif what == "drop-node":
        del g.node[i]
    elif what == "dup-node":
        g.node.append(g.node[i])
    elif what == "init-dims" and g.initializer:
        t = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        t.dims[:] = draw(st.lists(st.integers(-1, 9), max_size=5))
    elif what == "init-type" and g.initializer:
        t = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        t.data_type = draw(st.sampled_from([0, 2, 3, 6, 7, 8, 9, 10, 11, 16, 99]))
    elif what == "input-dims":
        dims = g.input[0].type.tensor_type.shape.dim
        dims[draw(st.integers(0, len(dims) - 1))].dim_value = draw(st.sampled_from([0, 2, 3, 10**6, 2**40]))
    elif what == "opset":
        m.opset_import[0].version = draw(st.sampled_from([1, 6, 7, 10, 11, 24, 99]))
    elif what == "output-name":
        g.output[0].name = draw(st.sampled_from(["x", "nope", ""]))
    elif what == "swap-inputs" and len(g.node[i].input) > 1:
        ins = list(g.node[i].input)
        g.node[i].input[:] = ins[::-1]
    return m


@st.composite
def mutated_bytes(draw) -> bytes:
    """A random CNN serialised, then bytes flipped, inserted, deleted or the file truncated."""
    data = bytearray(draw(cnn_graphs()).SerializeToString())
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "varint"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "varint":  # a huge length or value where a varint was
            data[pos:pos] = b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
    return bytes(data)
