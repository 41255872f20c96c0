"""ABConv (shared/reference/abconv.md): geometry, exactness of the gap layout on block-diagonal filters,
eligibility, the intensity bound it must raise, the cost-model selection, and the report it leaves."""

from __future__ import annotations

import numpy as np
import pytest
from pass_util import check_pipeline, conv_model

from cnncc.errors import PipelineError
from cnncc.frontend.onnx import load_onnx
from cnncc.ir import ops as O
from cnncc.passes.abconv_geom import axis, candidate_groups, split
from cnncc.pipeline import run_pipeline


def test_axis_layouts():
    # 3x3 'same' conv on a 4-wide map, 4 groups abutting: big map 16 wide, same pads, 16 outputs
    a = axis(4, 4, 3, 1, 1, 1, 1, 4, gap=False)
    assert (a.seg, a.length, a.p0, a.p1, a.os) == (4, 16, 1, 1, 4)
    # with gap: each group keeps its own padding (a gap of kernel-1 zeros between groups)
    a = axis(4, 4, 3, 1, 1, 1, 1, 4, gap=True)
    assert (a.seg_p0, a.seg_p1, a.seg, a.p0, a.os) == (1, 1, 6, 0, 6)
    # stride 2: the segment is padded to a multiple of the stride
    a = axis(4, 2, 3, 2, 1, 1, 1, 2, gap=True)
    assert a.seg % 2 == 0 and a.os == a.seg // 2 >= 2
    # valid conv without gap: the big map is cropped so that every group gets exactly o outputs
    a = axis(4, 2, 3, 1, 1, 0, 0, 2, gap=False)
    assert a.cropped and (a.length + a.p0 + a.p1 - 3) // 1 + 1 == 4
    assert split(9, "grid") == (3, 3) and split(8, "grid") is None and split(4, "h") == (4, 1)
    assert candidate_groups(12, 8, "w") == [2, 4] and candidate_groups(16, 16, "grid") == [4, 16]


def _block_diag_model(tmp_path, g, kernel, strides, pads, h, w, cg=8, kg=8):
    """A conv whose filter is block-diagonal with g identical blocks: ABConv(g) with gap computes it
    exactly (each group convolved separately with the shared block)."""
    from onnx import numpy_helper

    model = conv_model(cg * g, kg * g, h, w, kernel, strides=strides, pads=pads)
    rng = np.random.default_rng(5)
    blk = rng.standard_normal((kg, cg, *kernel)).astype(np.float32)
    wt = np.zeros((kg * g, cg * g, *kernel), np.float32)
    for a in range(g):
        wt[a * kg:(a + 1) * kg, a * cg:(a + 1) * cg] = blk
    b = np.tile(rng.standard_normal(kg).astype(np.float32), g)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(wt, "W"))
    model.graph.initializer[1].CopyFrom(numpy_helper.from_array(b, "B"))
    return model


@pytest.mark.parametrize("layout,g", [("w", 2), ("h", 4), ("grid", 4)])
@pytest.mark.parametrize("kernel,strides,pads,hw", [((3, 3), (1, 1), (1, 1, 1, 1), (4, 4)),
                                                     ((3, 2), (2, 1), (0, 1, 2, 0), (5, 3)),
                                                     ((1, 1), (1, 1), (0, 0, 0, 0), (2, 2))])
def test_gap_layout_exact_on_block_diagonal_filters(tmp_path, layout, g, kernel, strides, pads, hw):
    model = _block_diag_model(tmp_path, g, kernel, strides, pads, *hw)
    cmp, res = check_pipeline(model, f"abconv{{groups={g} layout={layout} gap=true max-hw=64}}", tmp_path)
    assert res.counters["abconv"]["layers-rewritten"] == 1
    assert cmp["max_rel_err"] <= 1e-4   # compare_models raises MismatchError otherwise


def test_rule_eligibility_and_report(tmp_path):
    # 16x16 map: output area 256 > max-hw, not rewritten; 2x2 map: rewritten, bound raised
    big = run_pipeline(load_onnx(_write(tmp_path, conv_model(16, 16, 16, 16, (3, 3), pads=(1, 1, 1, 1)))),
                       "abconv")
    assert big.counters["abconv"]["layers-rewritten"] == 0 and not big.notes
    res = run_pipeline(load_onnx(_write(tmp_path, conv_model(16, 32, 2, 2, (3, 3), pads=(1, 1, 1, 1)))),
                       "abconv")
    (row,) = res.sections["abconv"]
    assert row["before"]["ai_bound"] == "weight" and row["before"]["ai_w"] == 4.0
    assert row["after"]["bound_value"] > row["before"]["bound_value"]
    assert row["after"]["ai_w"] == row["g"] * 4.0                      # AI_w rises to g·H·W
    assert row["params_after"] * row["g"] ** 2 == row["params_before"]  # weights fall g²-fold
    assert row["macs_after"] * row["g"] == row["macs_before"]           # MACs fall g-fold
    assert any("changes the function" in n for n in res.notes)
    assert [x.kind for x in res.graph.layers if x.kind == "Conv"] == ["Conv"]
    assert all(x.group == "conv" for x in res.graph.layers)


def _write(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    p.write_bytes(model.SerializeToString())
    return p


def test_select_cost_needs_a_target(tmp_path):
    g = load_onnx(_write(tmp_path, conv_model(16, 16, 2, 2, (1, 1))))
    with pytest.raises(PipelineError, match="target"):
        run_pipeline(g, "abconv{select=cost}")


def test_select_cost_uses_the_ethos_u65_cost_model(tmp_path):
    from cnncc.target import load_target

    g = load_onnx(_write(tmp_path, conv_model(256, 256, 2, 2, (1, 1))))
    res = run_pipeline(g, "abconv{select=cost}", target=load_target("ethos-u65-256"))
    (row,) = res.sections["abconv"]
    assert row["target"] == "ethos-u65-256"
    assert 0 < row["cycles_after"] < row["cycles_before"]
    assert row["after"]["bound_value"] > row["before"]["bound_value"]


@pytest.mark.parametrize("model", ["mobilenetv1_cifar100", "resnet50_cifar100"])
@pytest.mark.parametrize("pipeline", ["fold-bn,fuse-act,abconv", "abconv{layout=grid gap=true}"])
def test_cifar_samples_run_on_onnxruntime_with_raised_bounds(sample_models, tmp_path, model, pipeline):
    cmp, res = check_pipeline(sample_models[model], pipeline, tmp_path, semantic=False)
    assert cmp["outputs"][0]["shape"] == cmp["outputs"][0]["new_shape"] == [1, 100]
    rows = res.sections["abconv"]
    assert len(rows) >= 8 and res.counters["abconv"]["layers-rewritten"] == len(rows)
    # re-load the written model (what `cnncc inspect` does): each rewritten layer's conv has a higher bound
    orig, new = load_onnx(sample_models[model]), load_onnx(tmp_path / "m.out.onnx")
    for row in rows:
        before = orig.intensities(orig.layer(row["name"]))
        conv = next(x for x in new.layers if x.kind == "Conv" and x.name.startswith(row["name"] + ".ab_conv"))
        after = new.intensities(conv)
        assert min(after.ai_in, after.ai_w, after.ai_out) > min(before.ai_in, before.ai_w, before.ai_out)
        assert isinstance(conv.op, O.Conv)


@pytest.mark.parametrize("layout,g,gap", [("w", 4, False), ("h", 2, True), ("grid", 4, False), ("grid", 4, True)])
@pytest.mark.parametrize("kernel,strides,pads,hw", [((3, 3), (1, 1), (1, 1, 1, 1), (4, 4)),
                                                     ((3, 3), (1, 1), (0, 0, 0, 0), (4, 4)),
                                                     ((3, 2), (2, 1), (0, 1, 2, 0), (5, 3))])
def test_slice_concat_and_transpose_lowerings_compute_the_same(tmp_path, layout, g, gap, kernel, strides, pads,
                                                               hw):
    from cnncc.ir.interp import run

    graph = load_onnx(_write(tmp_path, conv_model(8 * g, 4 * g, *hw, kernel, strides=strides, pads=pads)))
    opts = f"groups={g} layout={layout} gap={'true' if gap else 'false'} max-hw=64"
    sc = run_pipeline(graph, f"abconv{{{opts}}}").graph
    tr = run_pipeline(graph, f"abconv{{{opts} lowering=transpose}}").graph
    assert {x.kind for x in sc.layers} <= {"Slice", "Concat", "Pad", "Conv"}
    assert "Transpose" in {x.kind for x in tr.layers} and all(t.rank == 4 for t in sc.types.values())
    x = np.random.default_rng(3).standard_normal(graph.types[graph.inputs[0]].shape).astype(np.float32)
    (a,), (b,) = (list(run(gr, {gr.inputs[0]: x}).values()) for gr in (sc, tr))
    np.testing.assert_array_equal(a, b)


def test_only_gives_layers_their_own_group_factor(sample_models):
    """abconv{... only=...} per layer: the per-layer ABConv design axis (a sweep can vary each layer's g)."""
    from cnncc.driver import load_model
    from cnncc.pipeline import parse_pipeline

    g = load_model(sample_models["mobilenetv1_cifar100"])
    rule = run_pipeline(g, parse_pipeline("abconv{max-hw=64}"))
    names = [r["name"] for r in rule.sections["abconv"]]
    assert len(names) >= 2
    a, b = names[0], names[-1]
    res = run_pipeline(g, parse_pipeline(f"abconv{{groups=2 max-hw=64 only={a}}},"
                                         f"abconv{{groups=4 max-hw=64 only={b}}}"))
    got = {r["name"]: r["g"] for r in res.sections["abconv"]}
    assert res.counters["abconv"]["layers-rewritten"] == 2 and got == {a: 2, b: 4}, got
    with pytest.raises(PipelineError, match="no conv layer named"):
        run_pipeline(g, parse_pipeline("abconv{only=nope}"))
