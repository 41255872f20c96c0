"""The contract over every backend: shared layer fields, one `bound` vocabulary, totals that add up, and budgets
that name their top layers for every budget kind on every shipped target."""

from __future__ import annotations

import pytest

from cnncc.backends import registry
from cnncc.backends.base import BOUNDS, DEVICES, Backend
from cnncc.driver import compile_model
from cnncc.target import load_target, shipped_targets

MODEL = {"openedgecgra": "cgra_baseline"}  # the CGRA costs whole networks too, but slower
TARGETS = sorted({p.stem for p in shipped_targets().values()})


def test_registry_consistent():
    assert set(registry.BACKENDS) == {"ethos_u65", "openedgecgra", "offload"}
    for name in registry.BACKENDS:
        impl = registry.get_backend(name)
        assert isinstance(impl, Backend) and impl.name == name
        assert registry.spec_class(name) is type(impl).spec_class
    for t in TARGETS:
        assert load_target(t).backend in registry.names()


def test_spec_modules_are_light():
    """Loading a target imports its spec, not the cost model (so `cnncc targets` starts fast)."""
    import subprocess
    import sys

    code = (f"import sys; from cnncc.target import load_target; [load_target(t) for t in {TARGETS!r}]; "
            "heavy = [m for m in ('numpy', 'onnx', 'z3') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


@pytest.mark.parametrize("target", TARGETS)
def test_backend_contract(target, sample_models):
    t = load_target(target)
    rep = compile_model(sample_models[MODEL.get(t.backend, "small_residual_concat")], t)
    assert rep.layers
    for row in rep.layers:
        for k in ("name", "op", "output", "onnx_nodes", "device", "cycles", "macs", "bound", "bound_detail"):
            assert k in row, (k, row)
        assert row["bound"] in BOUNDS and row["device"] in DEVICES
        assert not any(k.startswith("_") for k in row)
    tot = rep.totals
    assert tot["cycles"] == sum(r["cycles"] for r in rep.layers)
    assert tot["macs"] == sum(r["macs"] for r in rep.layers)
    assert tot["latency_ms"] == pytest.approx(tot["cycles"] / tot["clock_hz"] * 1e3, abs=1e-6)  # 6 decimals
    if "energy_uj" in tot:
        assert tot["energy_uj"] == pytest.approx(sum(r.get("energy_uj") or 0 for r in rep.layers), rel=1e-6)
    assert "peak_sram_bytes" in tot and any(r.get("onchip_bytes") for r in rep.layers)
    # every budget the target reports fails at 0 and names its top layers
    kinds = ["ms", "cycles", "sram_bytes"] + (["energy_uj"] if "energy_uj" in tot else [])
    gates = rep.gate(**{k: 0.0 for k in kinds})
    assert len(gates) == len(kinds)
    for g in gates:
        assert not g.passed and g.top_layers, g
        assert all(name in {r["name"] for r in rep.layers} for name, _ in g.top_layers)


@pytest.mark.parametrize("target", ["ethos-u65-256", "offload", "cgra"])
def test_one_mac_rule(target, sample_models):
    """Every backend counts MACs as `inspect` does (Graph.macs: multiply-accumulates of convolutions and matmuls;
    pooling, elementwise and data movement count 0), per layer."""
    from collections import defaultdict

    from cnncc.driver import load_model

    g = load_model(sample_models["small_residual_concat" if target != "cgra" else "cgra_baseline"])
    rep = compile_model(g, target, pipeline="")
    want: dict[str, int] = defaultdict(int)
    for layer in g.layers:
        want[layer.origin] += g.macs(layer)
    got: dict[str, int] = defaultdict(int)
    for row in rep.layers:
        got[row["name"]] += row["macs"]
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
