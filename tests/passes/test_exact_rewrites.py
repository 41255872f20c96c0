"""im2col, tile and fold-bn,fuse-act preserve outputs on generated convs: onnxruntime on the written ONNX vs
onnxruntime on the original (max relative error <= 1e-4, enforced by compare_models)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pass_util import check_pipeline, conv_model

from cnncc.ir import ops as O

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def convs(draw):
    """Conv geometries: kernel 1-7, stride 1-3, dilation 1-2, asymmetric pads, groups incl. depthwise."""
    fy, fx = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sy, sx = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dy, dx = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    kind = draw(st.sampled_from(["dense", "grouped", "depthwise"]))
    if kind == "dense":
        g, c, k = 1, draw(st.integers(1, 7)), draw(st.integers(1, 9))
    elif kind == "grouped":
        g = draw(st.integers(2, 3))
        c, k = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    else:
        c = draw(st.integers(2, 6))
        g, k = c, c * draw(st.integers(1, 2))
    ey, ex = dy * (fy - 1) + 1, dx * (fx - 1) + 1
    h = draw(st.integers(max(1, ey - pads[0] - pads[2]), 13))
    w = draw(st.integers(max(1, ex - pads[1] - pads[3]), 13))
    return dict(c=c, k=k, h=h, w=w, kernel=(fy, fx), strides=(sy, sx), dilations=(dy, dx), pads=pads,
                groups=g, bias=draw(st.booleans()), seed=draw(st.integers(0, 9)))


def _check(geom, pipeline):
    with tempfile.TemporaryDirectory() as d:
        cmp, res = check_pipeline(conv_model(**geom), pipeline, Path(d))
    assert cmp["max_rel_err"] <= 1e-4
    return res


@SETTINGS
@given(convs(), st.sampled_from(["chw", "hwc"]))
def test_im2col_exact(geom, layout):
    res = _check(geom, f"im2col{{layout={layout}}}")
    assert res.counters["im2col"]["convs-lowered"] == 1
    assert not any(isinstance(layer.op, O.Conv) for layer in res.graph.layers)
    assert any(isinstance(layer.op, O.Im2col) and layer.group == "conv" for layer in res.graph.layers)


@SETTINGS
@given(convs(), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.integers(1, 4))
def test_tile_explicit_exact(geom, ty, tx, tk, tc):
    res = _check(geom, f"tile{{ty={ty} tx={tx} tk={tk} tc={tc}}}")
    convs_after = [layer for layer in res.graph.layers if isinstance(layer.op, O.Conv)]
    if res.counters["tile"]["layers-tiled"]:
        assert all(layer.group == "conv" for layer in res.graph.layers)
        assert res.counters["tile"]["tiles"] == len(convs_after) > 1
    else:   # one tile covers the whole layer: left as it was
        assert [layer.name for layer in res.graph.layers] == ["conv"]


@SETTINGS
@given(convs(), st.integers(300, 3000))
def test_tile_capacity_exact(geom, sram):
    from cnncc.ir.types import DTYPE_BYTES  # noqa: F401 - bytes per element of float32 is 4
    from cnncc.passes.tiling import ConvGeom

    try:
        res = _check(geom, f"tile{{sram-bytes={sram}}}")
    except Exception as e:  # the smallest tile may not fit: that must be a CapacityError
        from cnncc.errors import CapacityError

        assert isinstance(e, CapacityError), e
        return
    for row in res.sections.get("tile", []):
        assert row["working_set_bytes"] <= sram
    # every produced tile's actual working set fits too
    for layer in res.graph.layers:
        if isinstance(layer.op, O.Conv):
            assert ConvGeom.of(res.graph, layer, 4).working_set(
                ConvGeom.of(res.graph, layer, 4).full()) <= sram


ACTS = [("Relu", {}, {}), ("Clip", {}, {"lo": -0.5, "hi": 0.7}), ("HardSwish", {}, {}),
        ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, {}), ("Sigmoid", {}, {}), ("LeakyRelu", {"alpha": 0.1}, {}),
        ("Tanh", {}, {})]


@pytest.mark.parametrize("act", ACTS, ids=[a[0] for a in ACTS])
def test_fold_bn_fuse_act_exact(tmp_path, act):
    op, attrs, extra = act
    model = conv_model(6, 5, 8, 7, (3, 3), pads=(1, 0, 1, 2), bn=True, act=(op, attrs, extra))
    cmp, res = check_pipeline(model, "fold-bn,fuse-act", tmp_path)
    assert cmp["max_rel_err"] <= 1e-4
    assert res.counters == {"fold-bn": {"bns-folded": 1}, "fuse-act": {"acts-fused": 1}}
    (layer,) = res.graph.layers
    assert layer.kind == "Conv" and layer.op.act is not None and layer.op.act.kind == op
    assert set(layer.onnx_nodes) == {"conv", "bn", "act"}


@SETTINGS
@given(convs())
def test_fold_bn_fuse_act_generated(geom):
    geom = dict(geom, bn=True, act=("Relu", {}, {}))
    res = _check(geom, "fold-bn,fuse-act")
    assert [layer.kind for layer in res.graph.layers] == ["Conv"]
