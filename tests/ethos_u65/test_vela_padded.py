"""Agreement with Vela 5.2.0 on seeded Pad → convolution networks created at test time (tests/ethos_u65/padnet.py,
seeds 100–107, which the rules were not tuned on: ``bench/vela_fidelity.py --padded 100`` sweeps seeds 0–99). Each
network is exported with cnncc's TFLite writer and compiled by Vela; the figures asserted are the measured ones
(before padfuse.py: 5 of 8 totals within ±5 % on both configurations). Skipped only when Vela (``ethosu``) is not
installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None,
                                reason="Vela (ethos-u-vela) not installed")

SEEDS = tuple(range(100, 108))

#: (accelerator, system, memory mode, NPU layers within ±10 %, networks within ±5 %, peak SRAM within ±10 %) as
#: measured on SEEDS (23 NPU layers per configuration, 8 networks)
CASES = [
    ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB", 23, 8, 8),
    ("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram", 23, 8, 8),
]


@pytest.fixture(scope="module")
def sweep():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    res = vela_fidelity.random_sweep(SEEDS, [c[:3] for c in CASES], padded=True)
    return {(r["accel"], r["system"], r["mode"]): r for r in res}


@pytest.mark.parametrize("accel,system,mode,layers_ok,nets_ok,sram_ok", CASES)
def test_padded_networks_agree_with_vela(sweep, accel, system, mode, layers_ok, nets_ok, sram_ok):
    r = sweep[(accel, system, mode)]
    assert r["nets"] == len(SEEDS) and r["layers"] >= 2 * len(SEEDS)
    assert r["within"] >= layers_ok, r
    assert r["totals_ok"] >= nets_ok, r
    assert r["sram_ok"] >= sram_ok, r
