"""Table-driven hostile models: each invalid or unsupported model gets its one-line error and documented exit
code (never an internal error), and valid edge cases compile. Run in-process through ``cnncc.cli.main``."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_util import assert_manners, conv_net, model, run_inproc, tensor, tree, write
from onnx import TensorProto, helper

INT64_MAX = 2**63 - 1


def i64(*v):
    return np.array(v, np.int64)


def f32(*shape, value=1.0):
    return np.full(shape, value, np.float32)


def node(op, ins, outs, name="n", **attrs):
    return helper.make_node(op, ins, outs, name=name, **attrs)


def one(op, x_shape, inits=(), opset=17, ins=None, outs=("y",), **attrs):
    """A model of one node reading input x (and ``inits``)."""
    ins = ins if ins is not None else ["x"] + [i.name for i in inits]
    return model([node(op, ins, list(outs), **attrs)], [("x", x_shape)], [(o, None) for o in outs], inits, opset)


def _input_with_initializer_only():
    m = one("Relu", [1, 4])
    m.graph.initializer.append(tensor("x", f32(1, 4)))
    return m


def _dup_input():
    m = conv_net()
    m.graph.input.append(m.graph.input[0])
    return m


def _weight(dtype_tensor):
    m = conv_net()
    m.graph.initializer[0].CopyFrom(dtype_tensor)
    return m


def _batch(n):
    m = conv_net()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = n
    return m


def _tile_const(reps):
    return model([node("Tile", ["c", "r"], ["t"], "tile"), node("Add", ["x", "t"], ["y"], "add")], [("x", [1, 1])],
                 [("y", None)], [tensor("c", f32(1, 1)), tensor("r", i64(*reps))])


def _mul_const(n):
    return model([node("Mul", ["a", "b"], ["t"], "mul"), node("Add", ["x", "t"], ["y"], "add")], [("x", [1, 1])],
                 [("y", None)], [tensor("a", f32(n, 1)), tensor("b", f32(1, n))])


def _range_reshape(start, limit, delta):
    return model([node("Range", ["a", "b", "c"], ["r"], "rg"), node("Reshape", ["x", "r"], ["y"], "rs")],
                 [("x", [1, 10])], [("y", None)],
                 [tensor("a", np.array(start, np.int64)), tensor("b", np.array(limit, np.int64)),
                  tensor("c", np.array(delta, np.int64))])


# (id, model builder, exit code, regex the one stderr line must match)
INVALID = [
    ("auto_pad-unknown", lambda: conv_net(auto_pad="FOO"), 2, r"node 'conv' \(Conv\): attribute auto_pad='FOO'"),
    ("auto_pad-with-pads", lambda: conv_net(auto_pad="VALID"), 2, r"'conv'.*pads.*auto_pad=VALID"),
    ("pool-auto_pad", lambda: one("MaxPool", [1, 2, 4, 4], kernel_shape=[2, 2], auto_pad="SAME"), 2,
     r"'n' \(MaxPool\): attribute auto_pad='SAME'"),
    ("convt-auto_pad", lambda: one("ConvTranspose", [1, 4, 4, 4], [tensor("W", f32(4, 2, 3, 3))], auto_pad="X"), 2,
     r"ConvTranspose.*auto_pad='X'"),
    ("pad-mode", lambda: one("Pad", [1, 4, 4, 4], [tensor("p", i64(0, 0, 1, 1, 0, 0, 1, 1))], mode="bogus"), 2,
     r"'n' \(Pad\): attribute mode='bogus'"),
    ("pad-axes-range", lambda: one("Pad", [1, 4, 4, 4], [tensor("p", i64(1, 1)), tensor("ax", i64(9))], 18,
                                   ins=["x", "p", "", "ax"]), 2, r"'n' \(Pad\): attribute axes=9 is out of range"),
    ("pad-length", lambda: one("Pad", [1, 4, 4, 4], [tensor("p", i64(1, 1))]), 2, r"pads=\[1, 1\] must have 8"),
    ("softmax-axis", lambda: one("Softmax", [1, 10], axis=7), 2, r"'n' \(Softmax\).*axis 7 out of range"),
    ("softmax-axis-old", lambda: one("Softmax", [1, 10], opset=11, axis=-3), 2, r"axis=-3 is out of range"),
    ("concat-axis", lambda: one("Concat", [1, 10], ins=["x", "x"], axis=9), 2, r"'n' \(Concat\): attribute axis=9"),
    ("split-axis", lambda: one("Split", [1, 10], opset=11, outs=("y", "z"), axis=9), 2, r"Split.*axis=9"),
    ("split-sizes", lambda: one("Split", [1, 10], opset=11, outs=("y", "z"), axis=1, split=[3, 3]), 2,
     r"Split.*split=\[3, 3\]"),
    ("flatten-axis", lambda: one("Flatten", [1, 10], axis=9), 2, r"'n' \(Flatten\): attribute axis=9"),
    ("reducemean-axes", lambda: one("ReduceMean", [1, 10], opset=13, axes=[9]), 2, r"ReduceMean.*axes=9"),
    ("reducemean-dup-axes", lambda: one("ReduceMean", [1, 10], opset=13, axes=[1, -1]), 2, r"repeats an axis"),
    ("unsqueeze-axes", lambda: one("Unsqueeze", [1, 10], [tensor("a", i64(9))]), 2, r"Unsqueeze.*axes=\[9\]"),
    ("squeeze-axes", lambda: one("Squeeze", [1, 10], [tensor("a", i64(9))]), 2, r"Squeeze.*axes=\[9\]"),
    ("squeeze-not-1", lambda: one("Squeeze", [1, 10], [tensor("a", i64(1))]), 2, r"Squeeze.*not all of length 1"),
    ("slice-axes", lambda: one("Slice", [1, 10], [tensor("s", i64(0)), tensor("e", i64(3)), tensor("a", i64(9))]),
     2, r"Slice.*axes=\[9\]"),
    ("slice-lengths", lambda: one("Slice", [1, 10], [tensor("s", i64(0, 0)), tensor("e", i64(3))]), 2,
     r"different lengths"),
    ("lrn-size-0", lambda: one("LRN", [1, 4, 4, 4], size=0), 2, r"'n' \(LRN\): attribute size=0"),
    ("lrn-size-missing", lambda: one("LRN", [1, 4, 4, 4]), 2, r"LRN.*size is missing"),
    ("dup-input", _dup_input, 2, r"graph input 'x' is listed twice"),
    ("conv-bias-shape", lambda: _bias_model(3), 2, r"'conv' \(Conv\): bias 'B' has shape \[3\], expected \[4\]"),
    ("conv-group", lambda: conv_net(group=2), 2, r"'conv' \(Conv\): attribute group=2 does not fit"),
    ("convt-group", lambda: one("ConvTranspose", [1, 4, 4, 4], [tensor("W", f32(4, 1, 3, 3))], group=3), 2,
     r"ConvTranspose.*group=3"),
    ("convt-bias", lambda: one("ConvTranspose", [1, 4, 4, 4], [tensor("W", f32(4, 2, 3, 3)), tensor("B", f32(5))]),
     2, r"ConvTranspose.*bias 'B' has shape \[5\], expected \[2\]"),
    ("convt-output_padding", lambda: one("ConvTranspose", [1, 4, 4, 4], [tensor("W", f32(4, 2, 3, 3))],
                                         output_padding=[1, 1]), 2, r"output_padding=\[1, 1\] must be less"),
    ("gemm-bias", lambda: one("Gemm", [1, 4], [tensor("W", f32(4, 5)), tensor("C", f32(7))]), 2,
     r"'n' \(Gemm\): C 'C' of shape \[7\] does not broadcast"),
    ("bn-2-inputs", lambda: one("BatchNormalization", [1, 4, 4, 4], [tensor("s", f32(4))]), 2,
     r"BatchNormalization.*needs 5 inputs"),
    ("gap-rank-2", lambda: one("GlobalAveragePool", [1, 8]), 2, r"GlobalAveragePool.*rank 2"),
    ("gmp-rank-2", lambda: one("GlobalMaxPool", [1, 8]), 2, r"GlobalMaxPool.*rank 2"),
    ("clip-not-scalar", lambda: one("Clip", [1, 10], [tensor("lo", f32(3))]), 2, r"'n' \(Clip\): input 'lo' must be "
                                                                                 r"a scalar"),
    ("resize-scales-length", lambda: one("Resize", [1, 2, 4, 4], [tensor("sc", np.array([1, 1, 2], np.float32))], 13,
                                         ins=["x", "", "sc"]), 2, r"Resize.*must be 4 positive"),
    ("resize-scales-negative", lambda: one("Resize", [1, 2, 4, 4], [tensor("sc", np.array([1, 1, -2, 2],
                                                                                           np.float32))], 13,
                                           ins=["x", "", "sc"]), 2, r"Resize.*must be 4 positive"),
    ("resize-ctm", lambda: one("Resize", [1, 2, 4, 4], [tensor("sc", np.array([1, 1, 2, 2], np.float32))], 13,
                               ins=["x", "", "sc"], coordinate_transformation_mode="nope"), 2,
     r"coordinate_transformation_mode='nope'"),
    ("int-div-by-zero", lambda: model([node("Div", ["a", "b"], ["s"], "d"), node("Reshape", ["x", "s"], ["y"], "r")],
                                      [("x", [1, 10])], [("y", None)], [tensor("a", i64(10)), tensor("b", i64(0))]),
     2, r"'d' \(Div\).*division by zero"),
    ("range-delta-0", lambda: _range_reshape(0, 10, 0), 2, r"Range.*delta 0"),
    ("range-huge", lambda: _range_reshape(0, 10**12, 1), 2, r"too large to build at load time"),
    ("tile-10^10", lambda: _tile_const((100000, 100000)), 2, r"'tile' \(Tile\).*too large to build at load time"),
    ("mul-broadcast-10^10", lambda: _mul_const(100000), 2, r"'mul' \(Mul\).*too large to build at load time"),
    ("ext-data-nul", lambda: _external("a\0b"), 2, r"NUL byte"),
    ("maxpool-indices-kernel-huge", lambda: one("MaxPool", [1, 2, 4, 4], kernel_shape=[1 << 20, 1]), 3,
     r"kernel_shape.*limit"),
]

UNSUPPORTED = [
    ("string-weights", lambda: _weight(helper.make_tensor("W", TensorProto.STRING, [4, 3, 3, 3], [b"a"] * 108)), 3,
     r"'conv' \(Conv\): weight 'W' has element type string"),
    ("bool-weights", lambda: _weight(tensor("W", np.ones((4, 3, 3, 3), bool))), 3, r"weight 'W' has element type bool"),
    ("batch-2", lambda: _batch(2), 3, r"'conv'.*batch 2.*batch 1"),
    ("batch-2-input", lambda: _batch_relu(), 3, r"graph input 'x' has batch 2"),
    ("gap-rank-3", lambda: one("GlobalAveragePool", [1, 8, 5]), 3, r"GlobalAveragePool on a rank-3"),
    ("pad-wrap", lambda: one("Pad", [1, 4, 4, 4], [tensor("p", i64(0, 0, 1, 1, 0, 0, 1, 1))], 19, mode="wrap"), 3,
     r"wrap"),
    ("only-initializer-input", _input_with_initializer_only, 3, r"no graph input"),
]


def _bias_model(n):
    m = conv_net()
    m.graph.initializer[1].CopyFrom(tensor("B", f32(n)))
    return m


def _batch_relu():
    return one("Relu", [2, 3, 4, 4])


def _external(location):
    m = conv_net()
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    e = w.external_data.add()
    e.key, e.value = "location", location
    return m


@pytest.mark.parametrize("case", INVALID + UNSUPPORTED, ids=[c[0] for c in INVALID + UNSUPPORTED])
def test_refused_with_one_line(tmp_path, case):
    _, build, code, pattern = case
    path = write(tmp_path, build())
    before = tree(tmp_path)
    res = run_inproc(["inspect", path, "-f", "json"])
    assert_manners(res, code, case[0])
    import re

    assert re.search(pattern, res.error), res.err
    assert tree(tmp_path) == before


VALID = [
    ("matmul-1d-weight", lambda: one("MatMul", [1, 192], [tensor("W", f32(192))]), (1,)),
    ("matmul-1d-activation", lambda: one("MatMul", [192], [tensor("W", f32(192, 4))]), (4,)),
    ("input-with-initializer", lambda: _init_input(), (1, 4, 8, 8)),
    ("stride-10^18", lambda: conv_net(strides=[10**18, 10**18]), (1, 4, 1, 1)),
    ("stride-100", lambda: conv_net(strides=[100, 100]), (1, 4, 1, 1)),
    ("maxpool-stride-huge", lambda: one("MaxPool", [1, 2, 4, 4], kernel_shape=[2, 2], strides=[10**15, 3]),
     (1, 2, 1, 1)),
]


def _init_input():
    m = conv_net()
    m.graph.input.append(helper.make_tensor_value_info("W", TensorProto.FLOAT, [4, 3, 3, 3]))
    return m


@pytest.mark.parametrize("case", VALID, ids=[c[0] for c in VALID])
def test_valid_edge_cases_compile(tmp_path, case):
    """Valid models that reached internal errors: they load with onnxruntime's output shape and compile on
    every backend (or are refused with exit 3)."""
    import onnxruntime as ort

    from cnncc.frontend.onnx import load_onnx

    _, build, shape = case
    path = write(tmp_path, build())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.ones([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
             for i in sess.get_inputs()}
    assert sess.run(None, feeds)[0].shape == shape
    g = load_onnx(path)
    assert g.types[g.outputs[0]].shape == shape
    for target in ("ethos-u65-256",):
        res = run_inproc(["compile", path, "-t", target, "-q"])
        assert_manners(res, {0, 3}, f"{case[0]} on {target}")


def test_reverse_slice_round_trips(tmp_path):
    """torch.flip exports Slice(starts=-1, ends=-INT64_MAX, steps=-1); opt writes it back so onnxruntime still
    reverses the axis (it was written with end -1: an empty tensor)."""
    inits = [tensor("s", i64(-1)), tensor("e", i64(-INT64_MAX)), tensor("a", i64(3)), tensor("st", i64(-1))]
    m = model([node("Slice", ["x", "s", "e", "a", "st"], ["t"], "flip"), node("Relu", ["t"], ["y"], "relu")],
              [("x", [1, 2, 3, 5])], [("y", None)], inits)
    path = write(tmp_path, m)
    out = tmp_path / "out.onnx"
    res = run_inproc(["opt", path, "-p", "", "-o", out, "--verify", "-f", "json"])
    assert_manners(res, 0)
    import json

    verify = json.loads(res.out)["verify"]
    assert verify["max_abs_err"] == 0.0 and verify["outputs"][0]["new_shape"] == [1, 2, 3, 5]
