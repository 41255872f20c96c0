"""Weight buffering in depth slices and Vela's copy of a graph input into SRAM, on seeded random networks
(tests/ethos_u65/randnet.py), against figures Vela 5.2.0 reported for the same networks (--verbose-schedule,
--verbose-performance, --enable-debug-db; measured once, no Vela needed here)."""

from __future__ import annotations

import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.config import SRAM
from cnncc.backends.ethos_u65.network import estimate
from cnncc.target import load_target
from tests.ethos_u65.randnet import random_network

DEDICATED = "Dedicated_Sram_384KB"


def _arch(accel: str, system: str):
    return arch_of(load_target(accel, {"system": system, "memory_mode": DEDICATED}))


def test_sliced_weights_are_encoded_per_slice_and_the_ifm_read_counts():
    """rand208 conv3 (1×9 stride 2, 20×20×64 -> 6×10×200) on u65-512 Client_Server: Vela double-buffers depth
    slices [0, 112, 200], each encoded as its own streams (61,568 + 54,688 = 116,256 B, more than the 113,024 B of
    the whole layer), pre-buffers the first under the depthwise op before it, and keeps the buffering because its
    estimate of the unbuffered op includes the IFM reads (26,036 cycles off-chip in its schedule). Measured: conv3
    SRAM access 31,372 cycles (weights 10,432 of them), off-chip 4,557; network peak SRAM 190,992 B."""
    est = estimate(random_network(208), _arch("ethos-u65-512", "Ethos_U65_Client_Server"))
    row = {layer.name: c for layer, _, c in est.rows}
    wb = row["conv3"].wbuf
    assert wb.mode == "double" and wb.slices == (0, 112, 200)
    assert wb.parts == (61568, 54688) and wb.buffer_bytes == 116256
    assert row["conv3"].access_cycles[SRAM] == 31372
    assert abs(row["conv3"].access_cycles["offchip"] - 4557) <= 2
    assert est.peak_sram_bytes == 190992


@pytest.mark.parametrize("seed,vela_total,copy_cycles,peak", [(229, 147431, 26214, 152272),
                                                              (234, 79489, 10683, 121872),
                                                              (240, 218447, 4090, 189312)])
def test_graph_input_copied_into_sram(seed, vela_total, copy_cycles, peak):
    """u65-512 High_End, Dedicated_Sram: Vela runs an `input_buffer_` MemoryCopy of the graph input before the
    first conv (its IFM reads off-chip would outlast the copy plus the reads from SRAM, and the conv is not
    op-dominated). Measured: the copy's cycles, the network total and the peak SRAM (the buffer lives from the
    copy to the conv)."""
    est = estimate(random_network(seed), _arch("ethos-u65-512", "Ethos_U65_High_End"))
    copied = [c for _, _, c in est.rows if c.input_copy]
    assert len(copied) == 1 and copied[0].copy_cycles == copy_cycles
    total = sum(c.cycles for _, _, c in est.rows)
    assert abs(total / vela_total - 1) <= 0.001, total
    assert est.peak_sram_bytes == peak


@pytest.mark.parametrize("accel,system", [("ethos-u65-256", "Ethos_U65_High_End"),
                                          ("ethos-u65-512", "Ethos_U65_Client_Server")])
def test_graph_input_not_copied_where_vela_does_not(accel, system):
    """The same network (rand229) on a slower NPU (its copy, a 1×1 pooling pass, is NPU-bound at 50,744 cycles:
    more than the off-chip IFM reads would cost) or with faster DRAM (the off-chip reads are cheap): Vela makes
    no copy, nor does the model."""
    est = estimate(random_network(229), _arch(accel, system))
    assert not any(c.input_copy for _, _, c in est.rows)
