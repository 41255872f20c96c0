"""ReduceMean over the channel (last) axis on the Ethos-U65 as Vela 5.2.0 lowers it (cnncc/backends/ethos_u65/mean.py):
exact numbers of our pure window/op functions, and seeded QDQ LayerNorm nets (tests/ir/test_layernorm_ort.py's
generator, as tests/tflite/test_pow_sqrt_vela.py) compiled by Vela at test time on u65-256 Client_Server
Dedicated_Sram_384KB, skipped where Vela is not installed.

Measured (u65-256 Client_Server Dedicated_Sram_384KB, seeded [1, T, C] with T 8-40, C 32-128): the mean's row
0.976-1.002 of Vela's (was 0.63-1.34: costed as a mean over T); the variance's mean (its IFM in SRAM, its all-ones
kernel buffered) 0.85-0.995 (was 1.3-2.1): Vela's depthwise sum there is ~250 cycles slower than our op, a gap in
the weight-buffering model, not in the window. 4-D maps [1, C, H, W] over W: the mean 0.96-0.98 (was on the CPU)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cnncc.backends.ethos_u65.blocks import DEPTHWISE, ELEMENTWISE
from cnncc.backends.ethos_u65.mean import mean_ops, mean_window


def _arch():
    from cnncc.backends.ethos_u65.backend import arch_of
    from cnncc.target import load_target

    return arch_of(load_target("ethos-u65-256", {"system": "Ethos_U65_Client_Server",
                                                 "memory_mode": "Dedicated_Sram_384KB"}))


def test_mean_window_moves_channels_into_w():
    assert mean_window((1, 24, 96), (False, False, True)) == ((24, 96, 1), (1, 96))
    assert mean_window((24, 1, 96), (False, False, True)) == ((24, 96, 1), (1, 96))
    assert mean_window((1, 1, 40), (False, False, True)) == ((1, 40, 1), (1, 40))
    assert mean_window((1, 8, 32), (False, True, True)) == ((8, 32, 1), (8, 32))  # W and C of a 1-row map
    assert mean_window((5, 24, 3), (False, True, False)) == ((5, 24, 3), (1, 24))  # over W alone
    assert mean_window((7, 9, 16), (True, True, False)) == ((7, 9, 16), (7, 9))  # over H and W
    assert mean_window((4, 5, 24), (False, False, True)) is None  # channels of a map with H, W > 1
    assert mean_window((1, 2, 4097), (False, False, True)) is None  # a kernel row over 4096


def test_mean_ops_of_a_channel_mean():
    sums, rest = mean_ops((24, 96, 1), _arch(), "sram", "sram", ("NHCWB16", "NHCWB16"), (1, 96))
    assert [(o.kind, o.ifm, o.ofm, o.kernel, o.ifm_fmt) for o in sums] == \
        [(DEPTHWISE, (24, 96, 1), (24, 1, 1), (1, 96), "NHWC")]
    assert [(o.kind, o.ifm, o.ofm, o.ifm2) for o in rest] == [(ELEMENTWISE, (1, 1, 24), (1, 1, 24), (1, 1, 1))]
    sums, rest = mean_ops((5, 24, 3), _arch(), "sram", "sram", ("NHCWB16", "NHCWB16"), (1, 24))
    assert [(o.ifm, o.ofm, o.kernel, o.ifm_fmt) for o in sums] == [((5, 24, 3), (5, 1, 3), (1, 24), "NHCWB16")]
    assert [o.ofm for o in rest] == [(5, 1, 3)]


def test_mean_ops_of_a_spatial_mean_split():
    a = _arch()
    sums, rest = mean_ops((100, 10, 8), a, "sram", "sram", ("NHCWB16", "NHCWB16"))  # one row of 1000
    assert [(o.ifm, o.kernel) for o in sums] == [((1, 1000, 8), (1, 1000))] and len(rest) == 1
    sums, rest = mean_ops((200, 64, 8), a, "sram", "sram", ("NHCWB16", "NHCWB16"))  # 64-row parts
    assert [(o.ifm, o.kernel) for o in sums] == [((64, 64, 8), (64, 64))] * 3 + [((8, 64, 8), (8, 64))]
    assert [o.ofm for o in sums] == [(1, 1, 8)] * 4 and len(rest) == 4  # 3 Adds + the Mul


def _net(tmp_path, shape, r):
    pytest.importorskip("onnxruntime")
    from tests.ir.qdq_util import quantise
    from tests.ir.test_layernorm_ort import _layernorm

    return quantise(tmp_path, _layernorm(shape, r), [r.normal(0.3, 1.5, shape).astype(np.float32)
                                                     for _ in range(8)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layernorm_means_as_vela(tmp_path, seed):
    pytest.importorskip("ethosu.vela", reason="Vela (ethos-u-vela, the bench extra) is not installed")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare, load_sample

    from cnncc.backends.ethos_u65.lower import MEAN, lower

    r = np.random.default_rng(60 + seed)
    if seed < 2:  # [1, T, C]: PP-OCRv4 rec's SVTR LayerNorm
        shape = (1, int(r.integers(8, 48)), int(r.choice([32, 48, 64, 96, 120])))
    else:  # a 4-D map over its last axis (W of the NCHW map)
        shape = (1, int(r.integers(2, 6)), int(r.integers(2, 8)), int(r.integers(16, 48)))
    g = load_sample(_net(tmp_path, shape, r), "ethos-u65-256")
    means = [x for x in g.layers if x.kind == "ReduceMean"]
    assert [lower(g, x).kind for x in means] == [MEAN, MEAN]
    res = compare(g, "Ethos_U65_Client_Server", "ethos-u65-256", tmp_path, "Dedicated_Sram_384KB")
    rows = {n.rstrip("+"): (c, v) for n, c, v in res["pairs"]}
    ours, vela = rows[means[0].name]  # the mean: its IFM the graph input
    assert ours == pytest.approx(vela, rel=0.10), (shape, ours, vela)
    if len(shape) == 3:  # the variance's mean (see module doc for the gap)
        ours, vela = rows[means[1].name]
        assert ours == pytest.approx(vela, rel=0.17), (shape, ours, vela)


def test_channel_mean_of_a_full_map_is_cpu_in_both(tmp_path):
    """A mean over the channels of a map whose H and W exceed 1: Vela 5.2.0 refuses it ("Unsupported
    depth-reduction") and leaves it to the CPU; so does cnncc."""
    pytest.importorskip("ethosu.vela", reason="Vela (ethos-u-vela, the bench extra) is not installed")
    pytest.importorskip("onnxruntime")
    from onnx import helper

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare, load_sample

    from cnncc.backends.ethos_u65.lower import CPU, lower
    from tests.ir.qdq_util import model, quantise

    shape, r = (1, 16, 4, 6), np.random.default_rng(1)
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("ReduceMean", ["r"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Relu", ["m"], ["y"])]
    q = quantise(tmp_path, model(nodes, {}, shape, (1, 1, 4, 6)),
                 [r.normal(0.3, 1.5, shape).astype(np.float32) for _ in range(4)])
    g = load_sample(q, "ethos-u65-256")
    m = next(x for x in g.layers if x.kind == "ReduceMean")
    assert lower(g, m).kind == CPU
    res = compare(g, "Ethos_U65_Client_Server", "ethos-u65-256", tmp_path, "Dedicated_Sram_384KB")
    rows = {n.rstrip("+"): (c, v) for n, c, v in res["pairs"]}
    assert m.name not in rows and {"r", "y"} <= set(rows)  # no NPU row for the mean; both Relus on the NPU


@pytest.mark.parametrize("seed", range(4))
def test_small_map_mean_on_u55_as_vela(tmp_path, seed):
    """A MEAN over a tiny map (seeded 1×1 … 2×4, 8-48 channels) after a conv on u55-128 Shared_Sram: the final Mul
    reads its 32-bit reciprocal from flash as one 16-element NHWC burst (Vela 5.2.0: 128-256 flash cycles, which
    the op's 13-15 NPU cycles do not hide; was costed as an 8-bit scalar, 0.35-0.60 of Vela)."""
    pytest.importorskip("ethosu")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare

    from cnncc.ir import Layer, tensor_type
    from cnncc.ir import ops as O
    from tests.ethos_u65 import nets

    rng = np.random.default_rng(seed)
    h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 5)), 8 * int(rng.integers(1, 7))
    n = nets._Net(seed)
    y, _ = n.conv("conv", "x", h, 8, c, k=1)
    n.add(Layer("mean", O.ReduceMean(axes=(2, 3), keepdims=True), (y,), ("m",)))
    g = n.build(f"smallmean{seed}", {"x": tensor_type((1, 8, h, w))}, ["m"])
    r = compare(g, "Ethos_U55_High_End_Embedded", "ethos-u55-128", tmp_path, "Shared_Sram")
    got = {name.rstrip("+"): (cc, v) for name, cc, v in r["pairs"]}
    cc, v = got["mean"]
    assert abs(cc / v - 1) <= 0.10, (h, w, c, cc, v)
