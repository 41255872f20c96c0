"""The backend through the driver: report fields, --check, -o artefacts, objective, params, errors."""

import json

import numpy as np
import pytest

import cnncc
from cnncc.backends import CompileOptions
from cnncc.backends.openedgecgra import asm
from cnncc.driver import compile_model
from cnncc.errors import MismatchError, TargetError
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.target import load_target


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(1)
    w = {"w1": rng.normal(size=(8, 3, 3, 3)).astype(np.float32),
         "wd": rng.normal(size=(8, 1, 3, 3)).astype(np.float32),
         "w2": rng.normal(size=(10, 32)).astype(np.float32), "b2": rng.normal(size=(10,)).astype(np.float32)}
    return Graph.build("t", {"x": tensor_type((1, 3, 8, 8))}, ["y"], [
        Layer("c1", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "w1"), ("a",)),
        Layer("dw", O.Conv(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), groups=8), ("a", "wd"), ("b",)),
        Layer("p", O.MaxPool(kernel=(2, 2), strides=(2, 2)), ("b",), ("c",)),
        Layer("f", O.Flatten(), ("c",), ("d",)),
        Layer("fc", O.Gemm(trans_b=True), ("d", "w2", "b2"), ("y",)),
    ], weights=w)


def test_report_and_check(graph, tmp_path):
    rep = compile_model(graph, "cgra", options=CompileOptions(check=True), out_dir=tmp_path)
    by = {r["name"]: r for r in rep.layers if "part" not in r}
    for name in ("c1", "dw", "fc"):
        r = by[name]
        assert r["device"] == "cgra"
        assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
        for k in ("mapping", "mac_per_cycle", "candidates", "cycles", "host_cycles", "cgra_cycles", "bound",
                  "bound_detail", "onchip_bytes", "energy_split_uj", "speedup_vs_cpu", "energy_gain_vs_cpu",
                  "pe_utilisation", "mem_accesses", "launch_cycles", "config_cycles"):
            assert k in r, k
        assert {c["mapping"] for c in r["candidates"]} == {"conv-wp", "conv-op", "im2col-ip", "im2col-op",
                                                           "cnncc-ic4"}
        best = min((c for c in r["candidates"] if "cycles" in c), key=lambda c: c["cycles"])
        assert r["mapping"] == best["mapping"]
        assert r["cycles"] == r["cgra_cycles"] + r["launch_cycles"] + r["config_cycles"] + r["host_cycles"]
        assert r["launch_cycles"] == 15 * r["launches"]
    layout = [r for r in rep.layers if r.get("bound_detail") == "layout"]
    assert {r["part"] for r in layout} == {"c1:pad-input", "dw:pad-input"}
    assert all(r["device"] == "cpu" and r["bound"] == "host" and r["cycles"] > 0 for r in layout)
    assert by["p"]["device"] == "cpu" and by["p"]["cycles"] > 0 and by["p"]["bound"] == "host"
    t = rep.totals
    assert t["cycles"] == sum(r["cycles"] for r in rep.layers)
    assert t["layout_cycles"] == sum(r["cycles"] for r in layout)
    assert t["latency_ms"] == pytest.approx(t["cycles"] / 1e5)
    assert t["macs"] == graph.total_macs
    assert set(rep.sections["roofline"]) == {"peak_macs_per_cycle", "bandwidths_bytes_per_cycle"}
    # artefacts: CSV and out.sat parse back to the kernel; plan, images and the program present
    d = tmp_path / "cgra" / "c1"
    plan = json.loads((d / "plan.json").read_text())
    assert plan["mapping"] == by["c1"]["mapping"] and len(plan["launches"]) == by["c1"]["launches"]
    assert sum(lc["reconfigure"] for lc in plan["launches"]) == by["c1"]["reconfigs"]
    k = plan["launches"][0]["kernel"]
    prog = asm.from_csv((d / "kernels" / f"{k}.csv").read_text())
    assert asm.from_sat((d / "kernels" / f"{k}.out.sat").read_text()) == prog
    asm.verify(prog)
    words = sum(r["words"] for r in plan["memory_image"])
    assert len((d / "memory.bin").read_bytes()) == 4 * words
    assert len((d / "cmem.hex").read_text().split()) == 4 * 128 + 16
    assert len((d / "expected.bin").read_bytes()) == 4 * 8 * 8 * 8
    assert (tmp_path / "cgra" / "README.md").exists() and (tmp_path / "cgra" / "src" / "main.c").exists()
    assert json.loads((tmp_path / "report.json").read_text())["layers"]


def test_json_deterministic(graph):
    a = compile_model(graph, "cgra").to_json(stable=True)
    b = compile_model(graph, "cgra").to_json(stable=True)
    assert a == b


def test_energy_objective(graph):
    rep = compile_model(graph, "cgra", overrides={"objective": "energy"})
    for r in rep.layers:
        if r["device"] == "cgra":
            assert r["energy_uj"] == min(c["energy_uj"] for c in r["candidates"] if "energy_uj" in c)


def test_layer_cycles_hook(graph):
    tgt = load_target("cgra")
    rep = compile_model(graph, "cgra")
    c1 = sum(r["cycles"] for r in rep.layers if r["name"] == "c1")      # the layer and its padding copy
    assert tgt.layer_cycles(graph, graph.layers[0]) == c1


def test_python_api_typed_overrides(graph):
    rep = cnncc.compile(graph, target="cgra", mappings=["conv-wp"])
    assert {r["mapping"] for r in rep.layers if r["device"] == "cgra"} == {"conv-wp"}


@pytest.mark.parametrize("ov, msg", [({"bogus": "1"}, "unknown key"), ({"objective": "speed"}, "objective"),
                                     ({"sram_bytes": "40000"}, "multiple"), ({"sram_bytes": 1000}, ">= 4096")])
def test_bad_params(ov, msg):
    with pytest.raises(TargetError, match=msg):
        load_target("cgra", ov)


def test_unknown_mapping_param():
    with pytest.raises(TargetError, match="nope"):
        load_target("cgra", {"mappings": ["nope"]})


def test_spec_mappings_match_the_planner():
    from cnncc.backends.openedgecgra import plan as P
    from cnncc.backends.openedgecgra.spec import MAPPINGS

    assert MAPPINGS == P.MAPPINGS


def test_mismatch_exits_1(graph, monkeypatch, tmp_path):
    from cnncc.backends.openedgecgra import plan as P

    real = P.run

    def corrupt(plan, x=None):
        y, st = real(plan, x)
        return (None if y is None else y + 1), st

    monkeypatch.setattr(P, "run", corrupt)
    out = tmp_path / "o"
    with pytest.raises(MismatchError) as e:
        compile_model(graph, "cgra", options=CompileOptions(check=True), out_dir=out)
    assert e.value.exit_code == 1
    rep = json.loads((out / "report.json").read_text())     # the driver wrote the complete report
    assert rep["inputs"]["target"] and (out / "report.csv").exists()


def test_layers_too_big_for_sram_are_split_and_stay_bit_exact(tmp_path):
    rng = np.random.default_rng(2)
    g = Graph.build("big", {"x": tensor_type((1, 16, 20, 20))}, ["y"], [
        Layer("c", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("y",))],
        weights={"w": rng.integers(-8, 9, (24, 16, 3, 3)).astype(np.float32)})
    rep = compile_model(g, "cgra", overrides={"sram_bytes": 65536}, options=CompileOptions(check=True),
                        out_dir=tmp_path)
    r = [r for r in rep.layers if "part" not in r][0]
    assert r["device"] == "cgra"
    assert "parts" in r and r["parts"]["count"] > 1
    assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
    assert r["onchip_bytes"] <= 65536
    assert len(list((tmp_path / "cgra" / "c").glob("part*/plan.json"))) == r["parts"]["count"]


def test_fused_clip_and_bias_checked_bit_exact():
    rng = np.random.default_rng(1)
    g = Graph.build("t", {"x": tensor_type((1, 4, 6, 6))}, ["y"], [
        Layer("c1", O.Conv(kernel=(3, 3), act=O.Clip(lo=0.0, hi=6.0)), ("x", "w1", "b"), ("y",))],
        weights={"w1": rng.normal(size=(5, 4, 3, 3)).astype(np.float32),
                 "b": rng.normal(size=(5,)).astype(np.float32)})
    r = [r for r in compile_model(g, "cgra", options=CompileOptions(check=True)).layers if "part" not in r][0]
    assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
