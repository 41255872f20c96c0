"""The Ethos-U55 configurations test_vela_random.py does not sweep (u55-32, u55-64, u55-256; High_End_Embedded,
Shared_Sram: weights in OffChipFlash, DMA'd into SRAM buffers) against Vela 5.2.0 run at test time on the seeded
random networks of tests/ethos_u65/randnet.py (seeds 100-103: 33 NPU layers). Measured: 32/33, 32/33 and 33/33
layers within ±10 % (the one miss a Softmax), all four totals within 0.1 %. Before Ethos-U55-32's OFM micro-block
was Vela's 1×1×4 (it was 1×1×8, half the MAC cycles): 55/95 layers and 4/12 totals on seeds 0-11, 94/95 and
12/12 after. Skipped when Vela (``ethosu``) is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.target import load_target

SEEDS = (100, 101, 102, 103)
SYSTEM, MODE = "Ethos_U55_High_End_Embedded", "Shared_Sram"
CASES = [("ethos-u55-32", 32), ("ethos-u55-64", 32), ("ethos-u55-256", 33)]


def test_u55_micro_blocks_are_vela_s():
    """Regor's Ethos-U55 accelerator table (OFM micro-block H×W×C): 32 MACs 1×1×4, 64 MACs 1×1×8, 128 MACs
    1×2×8, 256 MACs 2×2×8 (ours W, H, C)."""
    want = {"ethos-u55-32": (1, 1, 4), "ethos-u55-64": (1, 1, 8), "ethos-u55-128": (2, 1, 8),
            "ethos-u55-256": (2, 2, 8)}
    assert {t: arch_of(load_target(t)).ublock for t in want} == want


@pytest.fixture(scope="module")
def sweep():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    res = vela_fidelity.random_sweep(SEEDS, [(accel, SYSTEM, MODE) for accel, _ in CASES])
    return {r["accel"]: r for r in res}


@pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("accel,layers_ok", CASES)
def test_random_networks_agree_with_vela_on_u55(sweep, accel, layers_ok):
    r = sweep[accel]
    assert r["nets"] == len(SEEDS) and r["layers"] >= 33, r
    assert r["within"] >= layers_ok, r
    assert r["totals_ok"] == len(SEEDS) and all(abs(x - 1) <= 0.005 for x in r["ratios"]), r
