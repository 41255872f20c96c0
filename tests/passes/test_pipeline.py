"""Pipeline strings (parse / canonical print / errors), the registry and the pass manager."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.errors import CnnccError, PipelineError
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.passes import describe, registry
from cnncc.pipeline import Pipeline, parse_pipeline, run_pipeline

CANONICAL = [
    "",
    "fold-bn",
    "fold-bn,fuse-act,abconv{groups=4},tile{sram-bytes=65536}",
    "im2col{layout=hwc min-k=2 only=conv1,conv2}",
    "tile{sram-bytes=1024 ty=4 tx=auto tk=8 tc=3}",
    "abconv{groups=auto max-hw=64 select=rule layout=grid gap=true}",
    "fold-constants,remove-identity,fold-bn,fuse-act,im2col",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_round_trip(text):
    p = parse_pipeline(text)
    assert str(p) == text
    assert str(parse_pipeline(str(p))) == text


def test_values_parsed_to_fields():
    p = parse_pipeline("tile{sram-bytes=65_536 tx=auto},abconv{gap=yes groups=9 layout=grid}")
    tile, ab = p.passes
    assert (tile.sram_bytes, tile.tx, tile.ty) == (65536, None, None)
    assert (ab.groups, ab.gap, ab.layout) == (9, True, "grid")
    # option order and spellings are canonicalised
    assert str(p) == "tile{sram-bytes=65536 tx=auto},abconv{groups=9 layout=grid gap=true}"


def test_pipeline_of_objects():
    reg = registry()
    p = Pipeline.of(reg["fold-bn"](), reg["im2col"](layout="hwc"))
    assert str(p) == "fold-bn,im2col{layout=hwc}"


@pytest.mark.parametrize("text,words", [
    ("fold-bm", ["unknown pass 'fold-bm'", "fold-bn", "fuse-act", "im2col", "tile", "abconv"]),
    ("im2col{layot=hwc}", ["no option 'layot'", "layout", "min-k", "only"]),
    ("im2col{layout=xyz}", ["layout", "chw, hwc"]),
    ("tile{sram-bytes=lots}", ["sram-bytes", "integer"]),
    ("tile{sram-bytes=-5}", ["non-negative"]),
    ("tile{ty=0}", ["ty=0"]),
    ("abconv{gap=maybe}", ["true or false"]),
    ("abconv{groups=1}", [">= 2"]),
    ("abconv{groups=8 layout=grid}", ["square"]),
    ("fold-bn,,fuse-act", ["empty pass name"]),
    ("im2col{layout=hwc", ["unclosed"]),
    ("im2col}", ["unbalanced"]),
    ("im2col{layout}", ["key=value"]),
    ("im2col{layout=hwc layout=chw}", ["given twice"]),
    ("fold-bn{x=1}", ["(none)"]),
])
def test_errors_name_the_valid_choices(text, words):
    with pytest.raises(PipelineError) as e:
        parse_pipeline(text)
    assert isinstance(e.value, CnnccError) and e.value.exit_code == 2
    for w in words:
        assert w in str(e.value)


def test_registry_passes_are_documented_frozen_dataclasses():
    import dataclasses

    reg = registry()
    assert set(reg) == {"fold-bn", "fuse-act", "fold-constants", "remove-identity", "im2col", "tile", "abconv"}
    for name, cls in reg.items():
        assert cls.NAME == name and cls.__doc__ and dataclasses.is_dataclass(cls)
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls().x = 1
    d = {row["name"]: row for row in describe()}
    assert [o["name"] for o in d["tile"]["options"]] == ["sram-bytes", "ty", "tx", "tk", "tc", "elem-bytes",
                                                         "only"]
    assert d["im2col"]["options"][0] == {"name": "layout", "kind": "str", "default": "chw",
                                         "choices": ["chw", "hwc"]}


def _graph():
    rng = np.random.default_rng(1)
    w = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)}
    layers = [Layer("conv", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("c",)),
              Layer("relu", O.Relu(), ("c",), ("r",)), Layer("id", O.Identity(), ("r",), ("y",))]
    return Graph.build("g", {"x": tensor_type((1, 3, 6, 6))}, ["y"], layers, w)


def test_run_pipeline_counters_logs_and_times():
    logs: list[str] = []
    res = run_pipeline(_graph(), "fuse-act,remove-identity,im2col", print_ir_after={"fuse-act"},
                       time_passes=True, log=logs.append)
    assert res.counters == {"fuse-act": {"acts-fused": 1}, "remove-identity": {"identities-removed": 1},
                            "im2col": {"convs-lowered": 1}}
    assert set(res.times_s) == {"fuse-act", "remove-identity", "im2col"}
    assert len(logs) == 2 and "IR after fuse-act" in logs[0] and "act=Relu" in logs[0]
    assert "pass timing" in logs[1] and "im2col" in logs[1]
    assert res.graph.outputs == ("y",)
    all_logs: list[str] = []
    run_pipeline(_graph(), "fuse-act,remove-identity", print_ir_after="all", log=all_logs.append)
    assert len(all_logs) == 2


def test_print_ir_after_unknown_pass():
    with pytest.raises(PipelineError, match="valid passes"):
        run_pipeline(_graph(), "fuse-act", print_ir_after={"nope"}, log=lambda s: None)


def test_tile_without_capacity_is_a_pipeline_error():
    with pytest.raises(PipelineError, match="sram-bytes"):
        run_pipeline(_graph(), "tile")


def test_only_names_unknown_layer():
    with pytest.raises(PipelineError, match="no conv layer named nope"):
        run_pipeline(_graph(), "im2col{only=nope}")


def test_min_k_and_only_select_convs():
    res = run_pipeline(_graph(), "im2col{min-k=5}")
    assert res.counters["im2col"]["convs-lowered"] == 0 and res.graph.layers[0].kind == "Conv"
    res = run_pipeline(_graph(), "im2col{only=conv}")
    assert res.counters["im2col"]["convs-lowered"] == 1
