"""The driver computes totals once from typed per-layer costs (cnncc/assemble.py)."""

from __future__ import annotations

import pytest

from cnncc.assemble import assemble_report, totals_of
from cnncc.backends.base import LayerCost, MemoryUse, NetworkResult
from cnncc.errors import InternalError
from cnncc.spec import FrozenMap


def lc(name, cycles, macs=0, **kw):
    return LayerCost(name, "Conv", name + "_out", (name,), cycles=cycles, macs=macs, device="npu",
                     bound="compute", **kw)


def test_totals_add_up():
    r = NetworkResult((lc("a", 1000, 10, energy_uj=1.5, onchip_bytes=100), lc("b", 3000, 20, energy_uj=0.5,
                                                                               onchip_bytes=300)),
                      clock_hz=1e6, peak_macs_per_cycle=8)
    t = totals_of(r)
    assert t["cycles"] == 4000 and t["macs"] == 30
    assert t["latency_ms"] == 4.0 and t["inferences_per_s"] == 250.0
    assert t["energy_uj"] == 2.0 and t["peak_sram_bytes"] == 300


def test_energy_only_when_every_layer_has_it():
    r = NetworkResult((lc("a", 10, energy_uj=1.0), lc("b", 10)), clock_hz=1e6, peak_macs_per_cycle=1)
    assert "energy_uj" not in totals_of(r)


def test_memory_not_fitting_warns():
    r = NetworkResult((lc("a", 10),), clock_hz=1e6, peak_macs_per_cycle=1,
                      memory=MemoryUse(500_000, 393_216, FrozenMap(weights_bytes=1)))
    rep = assemble_report(r, None)
    assert rep.totals["fits"] is False and rep.totals["sram_capacity_bytes"] == 393_216
    assert any("exceeds the capacity" in n for n in rep.notes)
    assert rep.to_dict()["memory"]["weights_bytes"] == 1


def test_backend_may_not_redefine_core_totals():
    r = NetworkResult((lc("a", 10),), clock_hz=1e6, peak_macs_per_cycle=1, totals_extra=FrozenMap(cycles=1))
    with pytest.raises(InternalError):
        totals_of(r)


def test_layer_cost_vocabulary_and_parts():
    with pytest.raises(ValueError):
        LayerCost("a", "Conv", "y", bound="dma")
    with pytest.raises(ValueError):
        LayerCost("a", "Conv", "y", device="gpu")
    a = lc("a", 10, 5, energy_uj=1.0, onchip_bytes=7, extras={"dram_bytes": 3})
    b = lc("a", 30, 6, energy_uj=2.0, onchip_bytes=4, extras={"dram_bytes": 4}, bound_detail="sram")
    s = a + b
    assert (s.cycles, s.macs, s.energy_uj, s.onchip_bytes, s.extras["dram_bytes"]) == (40, 11, 3.0, 7, 7)
    assert s.bound_detail == "sram"
    row = s.row()
    assert list(row)[:4] == ["name", "onnx_nodes", "output", "op"] and row["bound"] == "compute"


@pytest.mark.parametrize("path", ["/etc/x", "../x", ""])
def test_artefact_paths_relative(path):
    with pytest.raises(ValueError):
        NetworkResult((), clock_hz=1.0, peak_macs_per_cycle=1, artefacts=FrozenMap({path: b""}))
