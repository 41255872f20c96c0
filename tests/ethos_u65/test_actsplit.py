"""Activations Vela 5.2.0 runs as ops of their own (actsplit.py): the reshape of a few-channel activation pass to
16 channels, which activations pack into their producer, against figures Vela 5.2.0 reported for the same
networks (``--verbose-performance --verbose-schedule``, measured once; no Vela needed here)."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.backends.ethos_u65.actsplit import deepened, keeps_activation_apart, runs_deepened
from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.network import estimate
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.target import load_target

SHARED256 = ("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram")
CS256 = ("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
HE512 = ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB")
ACTS = {"relu": O.Relu(), "relu6": O.Clip(lo=0.0, hi=6.0), "sigmoid": O.Sigmoid(), "tanh": O.Tanh()}


def _run(graph: Graph, config: tuple[str, str, str]) -> tuple[int, int, dict[str, int]]:
    """(total cycles, peak SRAM bytes, cycles per layer) of cnncc's estimate."""
    accel, system, mode = config
    est = estimate(graph, arch_of(load_target(accel, {"system": system, "memory_mode": mode})))
    return sum(c.cycles for _, _, c in est.rows), est.peak_sram_bytes, {x.name: c.cycles for x, _, c in est.rows}


def conv_then_1x1(c: int, h: int, w: int, act: str, depthwise: bool = True) -> Graph:
    """A c-channel h×w graph input, a 3×3 (1×1 below 3 rows/columns) conv or depthwise conv of c channels with a
    fused ``act``, then a 1×1 conv to 16 channels (weights seeded by the shape)."""
    rng = np.random.default_rng(c * 1000 + h * 37 + w)
    k = 3 if min(h, w) >= 3 else 1
    wts = {"w": (rng.standard_normal((c, 1 if depthwise else c, k, k)) * .3).astype(np.float32),
           "b": np.zeros(c, np.float32), "w2": (rng.standard_normal((16, c, 1, 1)) * .3).astype(np.float32),
           "b2": np.zeros(16, np.float32)}
    op = O.Conv(kernel=(k, k), pads=(k // 2,) * 4, groups=c if depthwise else 1, act=ACTS[act])
    return Graph.build(f"cv{c}_{h}x{w}", {"x": tensor_type((1, c, h, w))}, ["z"],
                       [Layer("cv", op, ("x", "w", "b"), ("y",)),
                        Layer("tail", O.Conv(kernel=(1, 1)), ("y", "w2", "b2"), ("z",))], weights=wts)


def producer_then_act(producer: str, act: str, c: int = 16, relu_first: bool = False) -> Graph:
    """A c-channel 12×20 graph input (optionally through a 1×1 conv + ReLU), then ``producer`` (maxpool 2×2 /2,
    add or mul of the map and a 1×1 conv of it, a broadcast mul by the global average), a standalone ``act`` and
    a 1×1 conv to 16 channels."""
    rng = np.random.default_rng(c + 7 * len(producer) + 3 * len(act) + relu_first)
    wts = {n: (rng.standard_normal(s) * .3).astype(np.float32)
           for n, s in (("sw", (c, c, 1, 1)), ("qw", (c, c, 1, 1)), ("tw", (16, c, 1, 1)))}
    wts.update({n: np.zeros(k, np.float32) for n, k in (("sb", c), ("qb", c), ("tb", 16))})
    layers, x = [], "x"
    if relu_first:
        layers.append(Layer("stem", O.Conv(kernel=(1, 1), act=O.Relu()), ("x", "sw", "sb"), ("s",)))
        x = "s"
    if producer == "maxpool":
        layers.append(Layer("p", O.MaxPool(kernel=(2, 2), strides=(2, 2)), (x,), ("py",)))
    elif producer in ("add", "mul"):
        layers.append(Layer("q", O.Conv(kernel=(1, 1)), (x, "qw", "qb"), ("qy",)))
        layers.append(Layer("p", O.Add() if producer == "add" else O.Mul(), (x, "qy"), ("py",)))
    else:  # broadcast mul
        layers.append(Layer("q", O.GlobalAveragePool(), (x,), ("qy",)))
        layers.append(Layer("p", O.Mul(), (x, "qy"), ("py",)))
    layers.append(Layer("a", ACTS[act], ("py",), ("ay",)))
    layers.append(Layer("tail", O.Conv(kernel=(1, 1)), ("ay", "tw", "tb"), ("z",)))
    return Graph.build(f"{producer}_{act}_{c}", {"x": tensor_type((1, c, 12, 20))}, ["z"], layers, weights=wts)


def test_the_reshape_to_16_channels():
    """Vela's --verbose-schedule shapes of the activation pass (OFM 1×H×W×C)."""
    assert deepened((12, 20, 4)) == (10, 6, 16)
    assert deepened((8, 34, 3)) == (17, 3, 16)      # padnet seed 97
    assert deepened((12, 20, 1)) == (5, 3, 16)
    assert deepened((12, 20, 7)) == (21, 5, 16)
    assert deepened((1, 17, 1)) == (1, 1, 17)       # 17 is prime: all of it into the depth
    assert deepened((4, 4, 1)) == (4, 4, 1) and not runs_deepened((4, 4, 1))  # 16 elements: left alone
    assert deepened((12, 20, 8)) == (12, 20, 8)     # 8 channels: left alone


#: (channels, H, W, activation, depthwise, configuration, Vela total cycles, Vela peak SRAM bytes, apart)
MEASURED = [
    (4, 12, 20, "relu", True, SHARED256, 4248, 5088, True),      # rows cv_act 1,504, cv 760 (10×6×16), tail 1,984
    (3, 8, 34, "relu", True, SHARED256, 3989, 5440, True),       # cv_act 1,543, cv 784 (17×3×16), tail 1,662
    (1, 1, 17, "relu", False, SHARED256, 748, 304, True),        # 17 elements: apart
    (7, 2, 2, "relu", True, SHARED256, 887, 96, True),           # 28 elements: apart
    (1, 4, 4, "sigmoid", False, SHARED256, 680, 512, False),     # 16 elements: the LUT packs
    (4, 2, 2, "relu6", True, SHARED256, 656, 128, False),         # 16 elements: the clamp packs
    (5, 12, 20, "tanh", True, CS256, 7302, 1520, True),          # cv/pre_act 3,452, cv (LUT) 1,072, tail 2,778
    (4, 64, 96, "relu", True, HE512, 171438, 24928, True),       # the maps off-chip: cv_act 137,928, cv 6,272
]


@pytest.mark.parametrize("c,h,w,act,dw,config,vela,vela_sram,apart", MEASURED)
def test_few_channel_activation_costs_as_vela(c, h, w, act, dw, config, vela, vela_sram, apart):
    g = conv_then_1x1(c, h, w, act, dw)
    assert keeps_activation_apart(g, g.layer("cv")) == apart
    total, sram, _ = _run(g, config)
    assert abs(total / vela - 1) <= 0.002
    assert sram == vela_sram


#: (producer, activation, channels, ReLU'd input, Vela total, Vela cycles of the activation's own op or 0 when packed)
STANDALONE = [
    ("maxpool", "relu", 16, False, 2088, 736),     # a signed map: the ReLU has a rescale of its own, runs apart
    ("maxpool", "relu", 16, True, 3360, 0),        # a ReLU'd map: the ReLU is an identity, equal scales, packs
    ("maxpool", "sigmoid", 16, False, 1984, 0),    # a LUT packs
    ("maxpool", "sigmoid", 4, False, 1619, 435),   # 4 channels: the LUT pass is reshaped, the MaxPool is not
    ("add", "relu6", 16, False, 9600, 2752),
    ("add", "sigmoid", 4, False, 3968, 0),         # Add and LUT both reshaped: packs (Add 960 on 10×6×16)
    ("mul", "relu", 4, False, 4128, 760),
    ("bcmul", "tanh", 4, False, 7023, 0),          # a broadcast Mul of 4 channels takes the reshaped LUT
]


@pytest.mark.parametrize("producer,act,c,relu_first,vela,act_cycles", STANDALONE)
def test_which_standalone_activations_pack(producer, act, c, relu_first, vela, act_cycles):
    g = producer_then_act(producer, act, c, relu_first)
    total, _, rows = _run(g, SHARED256)
    assert abs(total / vela - 1) <= 0.002
    assert (rows["a"] == 0) == (act_cycles == 0)
    if act_cycles:
        assert abs(rows["a"] / act_cycles - 1) <= 0.002
