"""Weight pre-buffering after a requantising Concat copy (cnncc/backends/ethos_u65/prefetch.py) against Vela 5.2.0
run at test time: YOLOv8's C2f block — 1×1 conv -> channel Split, both halves requantised into the Concat, the
second through a 3×3 conv and a residual Add, then a 1×1 conv on the Concat — with the 3×3 conv's weights in
flash (Ethos-U55 High_End_Embedded, Shared_Sram) or DRAM (u65-512 Client_Server, Shared_Sram). Vela runs the
two QUANTIZE copies right after the first conv, so the 3×3 conv's first weight slice is DMA'd under the second
copy's cycles, not under the first conv's. Measured: the 3×3 conv's NPU cycles = Vela's and the totals within
0.1 % on all four (they were 5-10 % high on the conv and 1.0-4.1 % on the total when the copies were taken to run
where the Concat is). Skipped when Vela (``ethosu``) is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.ir.graph import WeightTable
from cnncc.ir.quant import Quantize
from cnncc.ir.types import QuantParams

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None,
                                reason="Vela (ethos-u-vela) not installed")


def c2f_block(seed: int, k: int, hw: tuple[int, int], c: int) -> Graph:
    """The block above on a 1×c×H×W int8 input, k channels per Split half, seeded int8 weights; every Concat
    input has another scale than the Concat output (onnxruntime's quantiser gives each its own)."""
    rng = np.random.default_rng(seed)
    wts = {"w1": rng.integers(-100, 100, (2 * k, c, 1, 1)).astype(np.int8), "b1": np.zeros(2 * k, np.int32),
           "w2": rng.integers(-100, 100, (k, k, 3, 3)).astype(np.int8), "b2": np.zeros(k, np.int32),
           "w3": rng.integers(-100, 100, (2 * k, 3 * k, 1, 1)).astype(np.int8), "b3": np.zeros(2 * k, np.int32)}
    per = QuantParams.channels
    q = {"x": QuantParams.tensor(0.05, -3), "w1": per([0.002] * 2 * k, [0], 0), "b1": per([1e-4] * 2 * k, [0], 0),
         "w2": per([0.003] * k, [0], 0), "b2": per([3e-4] * k, [0], 0), "c2": QuantParams.tensor(0.2, 4),
         "w3": per([0.002] * 2 * k, [0], 0), "b3": per([2.4e-4] * 2 * k, [0], 0),
         "a": QuantParams.tensor(0.15, 2), "y": QuantParams.tensor(0.12, -7), "z": QuantParams.tensor(0.3, 1)}
    q.update({t: QuantParams.tensor(0.1, -5) for t in ("c1", "s0", "s1", "q0")})
    layers = [Layer("conv1", O.Conv((1, 1)), ("x", "w1", "b1"), ("c1",)),
              Layer("split", O.Split(1, (k, k)), ("c1",), ("s0", "s1")),
              Layer("q0", Quantize("int8"), ("s0",), ("q0",)),
              Layer("conv2", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("s1", "w2", "b2"), ("c2",)),
              Layer("add", O.Add(), ("s1", "c2"), ("a",)),
              Layer("cat", O.Concat(1), ("q0", "s1", "a"), ("y",)),
              Layer("conv3", O.Conv((1, 1)), ("y", "w3", "b3"), ("z",))]
    return Graph.build(f"c2f{seed}_{k}", {"x": tensor_type((1, c) + hw, "int8", q["x"])}, ["z"], layers,
                       WeightTable(wts, quant=q))


#: (accelerator, system, block: (seed, k, (H, W), input channels))
CASES = [("ethos-u55-128", "Ethos_U55_High_End_Embedded", (0, 64, (20, 20), 32)),
         ("ethos-u55-128", "Ethos_U55_High_End_Embedded", (2, 96, (10, 10), 64)),
         ("ethos-u55-64", "Ethos_U55_High_End_Embedded", (2, 96, (10, 10), 64)),
         ("ethos-u65-512", "Ethos_U65_Client_Server", (2, 96, (10, 10), 64))]


@pytest.mark.parametrize("accel,system,block", CASES)
def test_conv_after_requantising_copies_prebuffers_as_vela(tmp_path, accel, system, block):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    r = vela_fidelity.compare(c2f_block(*block), system, accel, tmp_path, "Shared_Sram")
    ours, vela = r["rows"]["conv2"]
    assert vela is not None and abs(ours["npu_cycles"] / vela["NPU"] - 1) <= 0.002, (ours, vela)
    assert abs(r["total_ratio"] - 1) <= 0.002, r["total_ratio"]
