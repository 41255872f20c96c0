"""Agreement with Vela 5.2.0 on seeded random networks created at test time (tests/ethos_u65/randnet.py), across
accelerators × system configurations × memory modes, and on the exporter's NPU chains (BatchNormalization, Div,
HardSigmoid, LRN). Each network is exported with cnncc's TFLite writer and compiled by Vela; the figures asserted
are the measured ones (bench/vela_fidelity.py --random 16 runs the larger sweep; README and bench/RESULTS-ethos-u65.md
report it), and on seeded Pad → convolution networks (tests/ethos_u65/padnet.py, seeds 100–107, which the rules
were not tuned on: ``bench/vela_fidelity.py --padded 100`` sweeps seeds 0–99). Skipped only when Vela (``ethosu``)
is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None,
                                reason="Vela (ethos-u-vela) not installed")

SEEDS = (100, 101, 102, 103)
PADDED_SEEDS = tuple(range(100, 108))

#: (accelerator, system, memory mode, NPU layers within ±10 %, networks within ±5 %, peak SRAM within ±10 %) as
#: measured on SEEDS (33 NPU layers per configuration, 4 networks)
CASES = [
    ("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB", 33, 4, 4),
    ("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only", 33, 4, 4),
    ("ethos-u65-512", "Ethos_U65_Client_Server", "Shared_Sram", 33, 4, 4),
    ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB", 32, 4, 4),  # rand103's cascade (was 30, 3, 3)
    ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram", 33, 4, 4),
]


#: the same figures on PADDED_SEEDS (23 NPU layers per configuration, 8 networks; before padfuse.py: 5 of 8 totals)
PADDED_CASES = [
    ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB", 23, 8, 8),
    ("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram", 23, 8, 8),
]


def _bench():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    return vela_fidelity


@pytest.fixture(scope="module")
def sweep():
    res = _bench().random_sweep(SEEDS, [c[:3] for c in CASES])
    return {(r["accel"], r["system"], r["mode"]): r for r in res}


@pytest.fixture(scope="module")
def padded_sweep():
    res = _bench().random_sweep(PADDED_SEEDS, [c[:3] for c in PADDED_CASES], padded=True)
    return {(r["accel"], r["system"], r["mode"]): r for r in res}


def _agrees(r: dict, seeds, layers_per_net: int, layers_ok: int, nets_ok: int, sram_ok: int) -> None:
    assert r["nets"] == len(seeds) and r["layers"] >= layers_per_net * len(seeds)
    assert r["within"] >= layers_ok, r
    assert r["totals_ok"] >= nets_ok, r
    assert r["sram_ok"] >= sram_ok, r


@pytest.mark.parametrize("accel,system,mode,layers_ok,nets_ok,sram_ok", CASES)
def test_random_networks_agree_with_vela(sweep, accel, system, mode, layers_ok, nets_ok, sram_ok):
    _agrees(sweep[(accel, system, mode)], SEEDS, 6, layers_ok, nets_ok, sram_ok)


@pytest.mark.parametrize("accel,system,mode,layers_ok,nets_ok,sram_ok", PADDED_CASES)
def test_vela_padded_networks_agree(padded_sweep, accel, system, mode, layers_ok, nets_ok, sram_ok):
    _agrees(padded_sweep[(accel, system, mode)], PADDED_SEEDS, 2, layers_ok, nets_ok, sram_ok)


def _chain_graph(seed: int):
    """conv -> BatchNormalization -> Div by 3 -> HardSigmoid -> LRN(5, β=0.75) -> conv on a seeded 12×12×32 map."""
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O

    rng = np.random.default_rng(seed)
    c = 32
    w = {"cw": (rng.standard_normal((c, c, 3, 3)) * 0.1).astype(np.float32),
         "cw1": (rng.standard_normal((c, c, 1, 1)) * 0.1).astype(np.float32), "cb": np.zeros(c, np.float32),
         "s": rng.uniform(0.5, 1.5, c).astype(np.float32), "b": rng.uniform(-.2, .2, c).astype(np.float32),
         "m": rng.uniform(-.1, .1, c).astype(np.float32), "v": rng.uniform(0.5, 1.5, c).astype(np.float32),
         "d": np.array([3.0], np.float32)}
    layers = [Layer("conv1", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "cw", "cb"), ("c1",)),
              Layer("bn2", O.BatchNormalization(), ("c1", "s", "b", "m", "v"), ("b2",)),
              Layer("div3", O.Div(), ("b2", "d"), ("d3",)),
              Layer("hsig4", O.HardSigmoid(), ("d3",), ("h4",)),
              Layer("lrn5", O.LRN(size=5, alpha=1e-4, beta=0.75, bias=1.0), ("h4",), ("l5",)),
              Layer("conv6", O.Conv(kernel=(1, 1), act=O.Relu()), ("l5", "cw1", "cb"), ("c6",))]
    return Graph.build("chain", {"x": tensor_type((1, c, 12, 12))}, ["c6"], layers, weights=w)


@pytest.mark.parametrize("system,mode", [("Ethos_U65_Client_Server", "Shared_Sram"),
                                         ("Ethos_U65_High_End", "Dedicated_Sram_384KB")])
def test_exporter_chains_cost_as_vela(tmp_path, system, mode):
    """Measured: BN, Div and HardSigmoid exact, LRN 7-11 % high, totals 1.02-1.05 (u65-256)."""
    r = _bench().compare(_chain_graph(0), system, "ethos-u65-256", tmp_path, mode)
    ratio = {name: ours / vela for name, ours, vela in r["pairs"]}
    assert set(ratio) >= {"bn2", "div3", "hsig4", "lrn5"}, r["pairs"]
    assert all(abs(ratio[k] - 1) <= 0.02 for k in ("bn2", "div3", "hsig4")), ratio
    assert abs(ratio["lrn5"] - 1) <= 0.15 and abs(r["total_ratio"] - 1) <= 0.06, ratio


@pytest.mark.parametrize("seed,layer", [(307, "mul2"), (314, "se_mul3"), (223, "sub2")])
def test_binary_op_of_graph_input_and_map_off_chip(tmp_path, seed, layer):
    """A binary op whose IFM is the NHWC graph input and whose IFM2 is a conv's NHCWB16 map (full-size or a
    per-channel 1×1×C broadcast), both off-chip (u65-256 High_End, Dedicated_Sram_384KB): Vela reads each input
    in its own format. Measured: the op equals Vela's, totals 1.000 / 1.000 / 1.039 (were 1.45-1.78 on the op and
    1.10-1.49 on the total when the IFM2 was costed in the IFM's format)."""
    from tests.ethos_u65.randnet import random_network

    r = _bench().compare(random_network(seed), "Ethos_U65_High_End", "ethos-u65-256", tmp_path,
                         "Dedicated_Sram_384KB")
    ratio = {name: ours / vela for name, ours, vela in r["pairs"]}
    assert abs(ratio[layer] - 1) <= 0.02, ratio
    assert abs(r["total_ratio"] - 1) <= 0.05, r["total_ratio"]
