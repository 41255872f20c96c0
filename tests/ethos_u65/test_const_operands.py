"""Elementwise ops with a constant operand against Vela 5.2.0, run at test time on seeded networks
(tests/ethos_u65/constnet.py: per-channel Add/Sub/Mul/Div constants, unfolded BatchNormalization, full-size
constant maps). Vela keeps a constant tensor linear (NHWC) in the memory holding constants — off-chip flash on
Ethos-U55 Shared_Sram, DRAM on Ethos-U65 Dedicated_Sram — and reads it once per OFM element in bursts of its own
depth (memory.constants_placed). Measured on seeds 0-11: totals 1.000 on u55-64/u55-256 High_End_Embedded,
u55-128 Deep_Embedded, u65-256 Client_Server Shared_Sram and both Dedicated_Sram configurations (were 0.29-0.37
on the networks with an unbroadcast-depth constant on u55-64, 2 of 6 totals within 5 %). Skipped when Vela
(``ethosu``) is not installed."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, NpuOp
from cnncc.backends.ethos_u65.memory import constants_placed

vela = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")


def test_constant_operand_is_linear_in_the_constant_memory():
    op = NpuOp(ELEMENTWISE, (8, 8, 24), (8, 8, 24), ifm2=(1, 1, 24), ifm_fmt="NHCWB16", ofm_fmt="NHCWB16")
    placed = constants_placed(op, (False, True), "offchip")
    assert (placed.ifm2_mem, placed.fmt2, placed.ifm_mem, placed.ifm_fmt) == ("offchip", "NHWC", "sram", "NHCWB16")
    first = constants_placed(replace(op, ifm=(1, 1, 24), ifm2=(8, 8, 24)), (True, False), "offchip")
    assert (first.ifm_mem, first.ifm_fmt, first.ifm2_mem, first.fmt2) == ("offchip", "NHWC", "sram", "NHCWB16")
    assert constants_placed(op, (False, False), "offchip") is op


def _bench():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    return vela_fidelity


@vela
@pytest.mark.parametrize("accel", ["ethos-u55-64", "ethos-u55-256"])
@pytest.mark.parametrize("seed", [0, 4, 5])
def test_constant_operands_cost_as_vela_on_u55(tmp_path, accel, seed):
    """Ethos_U55_High_End_Embedded, Shared_Sram (constants in OffChipFlash at 1 byte a cycle): the network total
    and the elementwise ops together as Vela's (measured 1.000 for each; Vela names the ops of adjacent
    elementwise layers inconsistently, so they are compared as one sum)."""
    from tests.ethos_u65.constnet import constant_network

    g = constant_network(seed)
    r = _bench().compare(g, "Ethos_U55_High_End_Embedded", accel, tmp_path, "Shared_Sram")
    convs = {x.name for x in g.layers if x.kind == "Conv"}
    ew = [(c, v) for name, c, v in r["pairs"] if name not in convs]
    assert len(ew) >= 2, r["pairs"]
    assert abs(sum(c for c, _ in ew) / sum(v for _, v in ew) - 1) <= 0.01, r["pairs"]
    assert abs(r["total_ratio"] - 1) <= 0.01, r["total_ratio"]
