"""PRelu on Ethos-U costed as Vela 5.2.0 runs the exporter's PRELU (prelu.py), against Vela's per-op cycles measured
with ``vela --verbose-performance`` on conv 3×3 → PRelu → conv 1×1 nets (`cnncc` export, Vela's default memory
mode per system): per-channel alpha below 1 → MUL (rescale), MUL (alpha), MAXIMUM; alpha above 1 somewhere → RELU,
MINIMUM, MUL, ADD; one alpha for all channels → a LeakyRelu fused into the conv as a LUT."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.network import estimate
from cnncc.backends.ethos_u65.prelu import GENERAL, LEAKY, MULMAX, form
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.target import load_target

CS256 = ("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
HE512 = ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB")
U55 = ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")


def _net(alpha: np.ndarray, c: int, hw: int, act: O.Activation | None = None) -> Graph:
    r = np.random.default_rng(c * 1000 + hw)
    w = {"w1": (r.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32), "b1": np.zeros(c, np.float32),
         "a": alpha.reshape(c, 1, 1).astype(np.float32),
         "w2": (r.standard_normal((c, c, 1, 1)) * 0.2).astype(np.float32)}
    mid = Layer("prelu", act, ("c1",), ("p",)) if act is not None else Layer("prelu", O.PRelu(), ("c1", "a"), ("p",))
    layers = [Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("x", "w1", "b1"), ("c1",)), mid,
              Layer("conv2", O.Conv((1, 1)), ("p", "w2"), ("y",))]
    return Graph.build("prelu_net", {"x": tensor_type((1, c, hw, hw))}, ["y"], layers, weights=w)


def _rows(graph: Graph, config: tuple[str, str, str]) -> dict[str, int]:
    accel, system, mode = config
    est = estimate(graph, arch_of(load_target(accel, {"system": system, "memory_mode": mode})))
    return {layer.name: c.cycles for layer, _, c in est.rows}


# Vela 5.2.0's cycles for the PRelu's ops (sum of its MUL / MUL / MAXIMUM rows), alpha uniform in [0.05, 0.5)
MULMAX_CASES = [
    (CS256, 16, 16, 4096), (CS256, 32, 40, 66133), (CS256, 24, 56, 129621),
    (HE512, 16, 16, 2628), (HE512, 32, 40, 128426), (HE512, 24, 56, 251716),
    (U55, 16, 16, 9216), (U55, 32, 40, 473600), (U55, 24, 56, 928256),
]


@pytest.mark.parametrize("config,c,hw,vela", MULMAX_CASES)
def test_per_channel_alpha_below_one_costs_as_vela(config, c, hw, vela):
    g = _net(np.random.default_rng(c).uniform(0.05, 0.5, c), c, hw)
    assert form(g, g.layers[1]) == MULMAX
    assert _rows(g, config)["prelu"] == vela


@pytest.mark.parametrize("config,vela", [(CS256, 2952 + 1024 + 1536 + 3072), (HE512, 4276 + 512), (U55, 14592 + 2048)])
def test_alpha_above_one_runs_relu_min_mul_add(config, vela):
    """16×16×16, alpha in [0.05, 1.5): Vela's RELU, MINIMUM (row named after the conv's output), MUL and ADD."""
    g = _net(np.random.default_rng(3).uniform(0.05, 1.5, 16), 16, 16)
    assert form(g, g.layers[1]) == GENERAL
    assert _rows(g, config)["prelu"] == vela


def test_one_alpha_is_a_leaky_relu_fused_into_the_conv():
    """Vela: the PRELU of one alpha value is a LeakyRelu, a LUT on conv1 (conv1 8,438 cycles, no PRelu row)."""
    g = _net(np.full(16, 0.25), 16, 16)
    assert form(g, g.layers[1]) == LEAKY
    got = _rows(g, CS256)
    assert got["prelu"] == 0
    assert got == _rows(_net(np.full(16, 0.25), 16, 16, O.LeakyRelu(0.25)), CS256)


def _vector_net(n: int) -> Graph:
    """FC 64 -> n, PRelu with a per-unit alpha (a [n] vector, as large as the map), FC n -> 10 (MTCNN's trunk)."""
    r = np.random.default_rng(n)
    w = {"w1": (r.standard_normal((n, 64)) * 0.2).astype(np.float32), "b1": np.zeros(n, np.float32),
         "a": r.uniform(0.05, 0.5, n).astype(np.float32),
         "w2": (r.standard_normal((10, n)) * 0.2).astype(np.float32), "b2": np.zeros(10, np.float32)}
    layers = [Layer("fc1", O.Gemm(trans_b=True), ("x", "w1", "b1"), ("f",)),
              Layer("prelu", O.PRelu(), ("f", "a"), ("p",)),
              Layer("fc2", O.Gemm(trans_b=True), ("p", "w2", "b2"), ("y",))]
    return Graph.build("prelu_vec", {"x": tensor_type((1, 64))}, ["y"], layers, weights=w)


@pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("config", [HE512, ("ethos-u65-512", "Ethos_U65_High_End", "Sram_Only"), U55])
def test_vector_alpha_reads_as_a_linear_constant(config, tmp_path):
    """Alpha as large as the map (a [N, C] vector): the constant is still linear (NHWC), read once per element —
    not as a brick-format map four times its size; the MAXIMUM's IFM2 is a map, also where constants are in SRAM
    (Sram_Only). The PRelu's rows (MUL rescale, MUL alpha, MAXIMUM) against Vela run at test time."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    accel, system, mode = config
    g = _vector_net(128)
    assert form(g, g.layers[1]) == MULMAX
    r = vela_fidelity.compare(g, system, accel, tmp_path, mode)
    got = {name: (ours, vela) for name, ours, vela in r["pairs"]}
    assert got["prelu"][0] == got["prelu"][1], got
