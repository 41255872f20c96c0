"""Property tests: the reference interpreter agrees with onnxruntime on random single-op models."""

import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ir_util import check_node
from onnx import helper

SETTINGS = settings(max_examples=int(os.environ.get("CNNCC_HYPOTHESIS_EXAMPLES", 30)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
rng = np.random.default_rng(0)


@st.composite
def conv_cases(draw):
    fy, fx = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sy, sx = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dy, dx = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = [draw(st.integers(0, 3)) for _ in range(4)]
    kind = draw(st.sampled_from(["dense", "grouped", "depthwise"]))
    g = 1 if kind == "dense" else draw(st.integers(2, 4))
    c = g * draw(st.integers(1, 3)) if kind != "depthwise" else g
    k = g * draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    assume(h + pads[0] + pads[2] >= dy * (fy - 1) + 1 and w + pads[1] + pads[3] >= dx * (fx - 1) + 1)
    bias = draw(st.booleans())
    return dict(kernel=(fy, fx), strides=(sy, sx), dil=(dy, dx), pads=pads, groups=g, c=c, k=k, hw=(h, w),
                bias=bias)


@SETTINGS
@given(conv_cases())
def test_conv_matches_onnxruntime(p):
    fy, fx = p["kernel"]
    inits = {"w": rng.standard_normal((p["k"], p["c"] // p["groups"], fy, fx)).astype(np.float32)}
    ins = ["x", "w"]
    if p["bias"]:
        inits["b"] = rng.standard_normal(p["k"]).astype(np.float32)
        ins.append("b")
    node = helper.make_node("Conv", ins, ["y"], kernel_shape=[fy, fx], strides=list(p["strides"]),
                            dilations=list(p["dil"]), pads=p["pads"], group=p["groups"])
    g = check_node(node, (1, p["c"]) + p["hw"], inits)
    nest = g.loop_nest(g.layers[0])
    oy, ox = g.types["y"].shape[2:]
    assert nest.macs == p["k"] * (p["c"] // p["groups"]) * fy * fx * oy * ox
    assert (nest.kind == "depthwise") == (p["groups"] > 1 and p["groups"] == p["c"])


@st.composite
def pool_cases(draw):
    op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
    ky, kx = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sy, sx = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dy, dx = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if op == "MaxPool" else (1, 1)
    pads = [draw(st.integers(0, k - 1)) for k in (ky, kx, ky, kx)]
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    assume(h + pads[0] + pads[2] >= dy * (ky - 1) + 1 and w + pads[1] + pads[3] >= dx * (kx - 1) + 1)
    attrs = dict(kernel_shape=[ky, kx], strides=[sy, sx], pads=pads, ceil_mode=int(draw(st.booleans())))
    if op == "MaxPool":
        attrs["dilations"] = [dy, dx]
    else:
        attrs["count_include_pad"] = int(draw(st.booleans()))
    return op, attrs, (1, 2, h, w)


@SETTINGS
@given(pool_cases())
def test_pool_matches_onnxruntime(case):
    op, attrs, shape = case
    check_node(helper.make_node(op, ["x"], ["y"], **attrs), shape)


@st.composite
def resize_cases(draw):
    mode = draw(st.sampled_from(["nearest", "linear"]))
    ctm = draw(st.sampled_from(["half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners"]))
    nearest = draw(st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    attrs = dict(mode=mode, coordinate_transformation_mode=ctm, nearest_mode=nearest)
    if draw(st.booleans()):
        sc = [draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0])) for _ in range(2)]
        assume(int(h * sc[0]) >= 1 and int(w * sc[1]) >= 1)
        return attrs, (1, 2, h, w), {"scales": np.array([1, 1] + sc, np.float32)}
    sizes = [draw(st.integers(1, 12)), draw(st.integers(1, 12))]
    return attrs, (1, 2, h, w), {"sizes": np.array([1, 2] + sizes, np.int64)}


@SETTINGS
@given(resize_cases())
def test_resize_matches_onnxruntime(case):
    attrs, shape, inits = case
    ins = ["x", "", "scales"] if "scales" in inits else ["x", "", "", "sizes"]
    check_node(helper.make_node("Resize", ins, ["y"], **attrs), shape, inits, opset=13)


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "edge"]))
    shape = (1, draw(st.integers(1, 3)), draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    lo = -1 if mode == "constant" else 0
    pads = [0, 0] + [draw(st.integers(lo, d - 1)) for d in shape[2:]]
    pads += [0, 0] + [draw(st.integers(lo, d - 1)) for d in shape[2:]]
    assume(all(shape[i] + pads[i] + pads[i + 4] > 0 for i in range(4)))
    return mode, shape, pads, float(draw(st.sampled_from([0.0, -1.5, 2.0])))


@SETTINGS
@given(pad_cases())
def test_pad_matches_onnxruntime(case):
    mode, shape, pads, value = case
    inits = {"pads": np.array(pads, np.int64), "v": np.float32(value)}
    check_node(helper.make_node("Pad", ["x", "pads", "v"], ["y"], mode=mode), shape, inits, opset=13)


@st.composite
def slice_cases(draw):
    shape = (1, draw(st.integers(1, 4)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    axes = draw(st.lists(st.integers(-3, 3), min_size=1, max_size=3, unique_by=lambda a: a % 4))
    starts, ends, steps = [], [], []
    for ax in axes:
        d = shape[ax % 4]
        step = draw(st.sampled_from([1, 2, 3, -1, -2]))
        s, e = draw(st.integers(-d - 2, d + 2)), draw(st.integers(-d - 2, d + 2))
        assume(len(range(d)[slice(s, e, step)]) > 0)  # ONNX clamping = Python slice clamping
        starts.append(s), ends.append(e), steps.append(step)
    return shape, {"s": np.array(starts, np.int64), "e": np.array(ends, np.int64),
                   "a": np.array(axes, np.int64), "p": np.array(steps, np.int64)}


@SETTINGS
@given(slice_cases())
def test_slice_matches_onnxruntime(case):
    shape, inits = case
    check_node(helper.make_node("Slice", ["x", "s", "e", "a", "p"], ["y"]), shape, inits, opset=13)


@SETTINGS
@given(st.sampled_from([1, 3, 5, 7]), st.integers(1, 3), st.booleans(), st.integers(1, 3))  # ORT: odd LRN size
def test_lrn_softmax_gemm_match_onnxruntime(size, c_mult, trans_b, m):
    check_node(helper.make_node("LRN", ["x"], ["y"], size=size, alpha=1e-3, beta=0.75, bias=1.5),
               (1, 3 * c_mult, 4, 4))
    check_node(helper.make_node("Softmax", ["x"], ["y"], axis=1), (2, 3 * c_mult, 4))
    w = rng.standard_normal((5, 4) if trans_b else (4, 5)).astype(np.float32)
    check_node(helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=int(trans_b), alpha=0.5, beta=2.0),
               (m, 4), {"w": w, "b": rng.standard_normal(5).astype(np.float32)})
