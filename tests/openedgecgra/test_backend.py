"""The backend through the driver: report fields, --check, -o artefacts, objective, params, errors."""

import json

import numpy as np
import pytest

from cnncc.backends import CompileOptions
from cnncc.backends.openedgecgra import asm, estimate_layer_cycles
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
    rep = compile_model(graph, "cgra", options=CompileOptions(check=True, out_dir=tmp_path))
    by = {r["name"]: r for r in rep.layers}
    for name in ("c1", "dw", "fc"):
        r = by[name]
        assert r["device"] == "cgra"
        assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
        for k in ("mapping", "mac_per_cycle", "candidates", "cycles", "host_cycles", "cgra_cycles",
                  "energy_split_uj", "speedup_vs_cpu", "energy_gain_vs_cpu", "pe_utilisation", "mem_accesses"):
            assert k in r, k
        assert {c["mapping"] for c in r["candidates"]} == {"conv-wp", "conv-op", "im2col-ip", "im2col-op",
                                                           "cnncc-ic4"}
        best = min((c for c in r["candidates"] if "cycles" in c), key=lambda c: c["cycles"])
        assert r["mapping"] == best["mapping"]
        assert r["cycles"] == r["cgra_cycles"] + r["config_cycles"] + r["host_cycles"]
    assert by["p"]["device"] == "cpu" and by["p"]["cycles"] > 0
    t = rep.totals
    assert t["cycles"] == sum(r["cycles"] for r in rep.layers)
    assert t["latency_ms"] == pytest.approx(t["cycles"] / 1e5)
    assert t["macs"] == graph.total_macs
    assert set(rep.sections["roofline"]) == {"peak_macs_per_cycle", "bandwidths_bytes_per_cycle"}
    # artefacts: CSV and out.sat parse back to the kernel; plan and memory image present
    d = tmp_path / "cgra" / "c1"
    plan = json.loads((d / "plan.json").read_text())
    assert plan["mapping"] == by["c1"]["mapping"] and len(plan["launches"]) == by["c1"]["launches"]
    k = plan["launches"][0]["kernel"]
    prog = asm.from_csv((d / "kernels" / f"{k}.csv").read_text())
    assert asm.from_sat((d / "kernels" / f"{k}.out.sat").read_text()) == prog
    words = (d / "kernels" / f"{k}.bin").read_bytes()
    assert len(words) == 4 * 16 * len(prog)
    asm.verify(prog)
    assert (d / "memory.csv").read_text().startswith("Address,Data\n")


def test_json_deterministic(graph):
    a = compile_model(graph, "cgra").to_json(stable=True)
    b = compile_model(graph, "cgra").to_json(stable=True)
    assert a == b


def test_energy_objective(graph):
    rep = compile_model(graph, "cgra", overrides={"objective": "energy"})
    for r in rep.layers:
        if r["device"] == "cgra":
            assert r["energy_uj"] == min(c["energy_uj"] for c in r["candidates"] if "energy_uj" in c)


def test_estimate_layer_cycles(graph):
    tgt = load_target("cgra")
    rep = compile_model(graph, "cgra")
    assert estimate_layer_cycles(graph, graph.layers[0], tgt) == rep.layers[0]["cycles"]


@pytest.mark.parametrize("ov, msg", [({"bogus": "1"}, "unknown key"), ({"objective": "speed"}, "objective"),
                                     ({"sram_bytes": "1000"}, "multiple")])
def test_bad_params(ov, msg):
    with pytest.raises(TargetError, match=msg):
        load_target("cgra", ov)


def test_unknown_mapping_param():
    from cnncc.backends.openedgecgra import validate_params

    with pytest.raises(TargetError, match="unknown mapping"):
        validate_params({"mappings": ["nope"]})


def test_mismatch_exits_1(graph, monkeypatch):
    from cnncc.backends.openedgecgra import plan as P

    real = P.run

    def corrupt(plan, x=None):
        y, st = real(plan, x)
        return (None if y is None else y + 1), st

    monkeypatch.setattr(P, "run", corrupt)
    with pytest.raises(MismatchError) as e:
        compile_model(graph, "cgra", options=CompileOptions(check=True))
    assert e.value.exit_code == 1


def test_layers_too_big_for_sram_are_split_and_stay_bit_exact(tmp_path):
    rng = np.random.default_rng(2)
    g = Graph.build("big", {"x": tensor_type((1, 16, 20, 20))}, ["y"], [
        Layer("c", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("y",))],
        weights={"w": rng.integers(-8, 9, (24, 16, 3, 3)).astype(np.float32)})
    rep = compile_model(g, "cgra", overrides={"sram_bytes": "65536"},
                        options=CompileOptions(check=True, out_dir=tmp_path))
    r = rep.layers[0]
    assert r["device"] == "cgra"
    assert "parts" in r and r["parts"]["count"] > 1
    assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
    assert r["sram_bytes"] <= 65536
    assert len(list((tmp_path / "cgra").glob("c.part*/plan.json"))) == r["parts"]["count"]


def test_fused_clip_and_bias_checked_bit_exact():
    rng = np.random.default_rng(1)
    g = Graph.build("t", {"x": tensor_type((1, 4, 6, 6))}, ["y"], [
        Layer("c1", O.Conv(kernel=(3, 3), act=O.Clip(lo=0.0, hi=6.0)), ("x", "w1", "b"), ("y",))],
        weights={"w1": rng.normal(size=(5, 4, 3, 3)).astype(np.float32),
                 "b": rng.normal(size=(5,)).astype(np.float32)})
    r = compile_model(g, "cgra", options=CompileOptions(check=True)).layers[0]
    assert r["check"]["bit_exact"] is True and r["check"]["prediction_exact"] is True
