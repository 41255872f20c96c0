"""LUT activations against Vela 5.2.0 at test time on seeded generated networks: (a) the LUT's DMA into SHRAM when
nothing hides it (a Sigmoid/Tanh first in the network), from the constants' memory, including SRAM under Sram_Only
(Regor's SHRAM is a memory of 1 byte per cycle: 256 cycles for an int8 LUT); (b) a LUT activation whose output is
the graph output fuses into the conv producing its input (one Vela row, named after the activation). Vela
(``ethosu``) missing: the Vela checks skip."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cnncc.backends.ethos_u65.opcost import lut_dma_cycles
from cnncc.ir import Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65 import nets
from tests.ethos_u65.configs import arch_for

HAS_VELA = importlib.util.find_spec("ethosu") is not None
CONFIGS = [("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only"),
           ("ethos-u65-512", "Ethos_U65_High_End", "Sram_Only"),
           ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB"),
           ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")]
ACTS = {"sigmoid": O.Sigmoid, "tanh": O.Tanh, "hardswish": O.HardSwish}


def test_lut_dma_cycles_exact():
    """max(256 / the constants' memory's bytes per cycle + its read latency, 256 at SHRAM's 1 byte per cycle)."""
    assert lut_dma_cycles(arch_for(("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only"))) == 256  # 16 + 32 < 256
    # High_End DRAM: 16 B/cycle × 0.234375 = 3.75 B/cycle, 500 cycles read latency: 68 + 500
    assert lut_dma_cycles(arch_for(("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB"))) == 568
    assert lut_dma_cycles(arch_for(("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram"))) == 521


def _lut_first(seed: int):
    """x (seeded C×H×W) -> Sigmoid/Tanh -> 1×1 conv: the LUT op runs first, with no op before it to hide its DMA."""
    rng = np.random.default_rng(seed)
    c, h, w = int(rng.integers(1, 5)) * 8, int(rng.integers(1, 17)), int(rng.integers(1, 17))
    act = ("sigmoid", "tanh")[seed % 2]
    n = nets._Net(seed)
    a = n.add(Layer("lut", ACTS[act](), ("x",), ("lut_y",)))
    y, _ = n.conv("conv", a, h, c, 16, k=1)  # 1×1: no padding, whatever the map
    return n.build(f"lutfirst{seed}", {"x": tensor_type((1, c, h, w))}, [y])


def _act_at_output(seed: int):
    """x -> 3×3 conv (no activation) -> a LUT activation that is the graph output."""
    rng = np.random.default_rng(100 + seed)
    c, hw, k = int(rng.integers(1, 5)) * 8, int(rng.integers(4, 17)), int(rng.integers(1, 9)) * 16
    act = ("sigmoid", "tanh", "hardswish")[seed % 3]
    n = nets._Net(seed)
    y, _ = n.conv("conv", "x", hw, c, k, act=None)
    a = n.add(Layer("act", ACTS[act](), (y,), ("act_y",)))
    return n.build(f"actout{seed}", {"x": tensor_type((1, c, hw, hw))}, [a])


def test_output_activation_fuses():
    """Pure: the activation at the graph output is FUSED into its conv (no row of its own in the cost)."""
    from cnncc.backends.ethos_u65.lower import FUSED, fuse_activations, lower

    g = _act_at_output(0)
    lowered, fused = fuse_activations(g, g.layers, [lower(g, x) for x in g.layers])
    assert fused == {"act": "conv"} and lowered[1].kind == FUSED and lowered[0].act == "lut"


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0][6:]}-{c[1].split('_')[2]}-{c[2]}")
@pytest.mark.parametrize("seed", range(3))
def test_first_lut_matches_vela(tmp_path, config, seed):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare

    accel, system, mode = config
    r = compare(_lut_first(seed), system, accel, tmp_path, mode)
    got = {name: (c, v) for name, c, v in r["pairs"]}
    c, v = got["lut"]
    assert abs(c / v - 1) <= 0.02, (c, v)


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("seed", range(3))
def test_output_activation_matches_vela(tmp_path, seed):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare

    accel, system, mode = CONFIGS[2]
    r = compare(_act_at_output(seed), system, accel, tmp_path, mode)
    assert r["rows"]["act"][1]["op"] == "Conv2D"  # Vela: one conv row, named after its (activation's) output
    assert r["rows"]["act"][0]["device"] == "none"  # cnncc: the activation fused, costed with the conv
    assert len(r["pairs"]) == 1 and r["within"] == 1
    assert abs(r["total_ratio"] - 1) <= 0.02, r["total_ratio"]
