"""Vela 5.2.0's copy of a graph input into SRAM (inputcopy.py) when the copy itself is bound by its DRAM reads:
padded networks (tests/ethos_u65/padnet.py) against figures Vela 5.2.0 reported for them (--verbose-performance,
Dedicated_Sram_384KB; measured once, no Vela needed here)."""

from __future__ import annotations

import pytest

from cnncc.backends.ethos_u65 import inputcopy
from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.network import estimate
from cnncc.target import load_target
from tests.ethos_u65.padnet import padded_network

DEDICATED = "Dedicated_Sram_384KB"


def _arch(accel: str, system: str):
    return arch_of(load_target(accel, {"system": system, "memory_mode": DEDICATED}))


@pytest.mark.parametrize("shape,npu,dram", [((31, 56, 64), 82295, 401954), ((24, 56, 48), 53812, 147456)])
def test_copy_of_a_deep_nhwc_map_is_dram_bound(shape, npu, dram):
    """The input_buffer_ MemoryCopy of pad41's / pad110's graph input on u65-512 High_End: Vela's row has NPU
    82,295 / 53,812 and DRAM access 401,954 / 147,456 cycles (a deep NHWC map read 16 channels at a time)."""
    c = inputcopy.copy_cost(inputcopy.InputCopy(0, shape, "NHWC", shape[0] * shape[1] * shape[2]),
                            _arch("ethos-u65-512", "Ethos_U65_High_End"))[0]
    assert (c.npu_cycles, c.access_cycles["offchip"], c.cycles) == (npu, dram, dram)


@pytest.mark.parametrize("seed,nbytes,copy_cycles,vela_total,peak", [(41, 111104, 401954, 549693, 257376),
                                                                     (110, 64512, 147456, 252706, 198144)])
def test_copy_made_though_it_outlasts_the_reads_it_saves(seed, nbytes, copy_cycles, vela_total, peak):
    """u65-512 High_End: Vela copies pad41's 31×56×64 and pad110's 24×56×48 input before the first conv although
    the copy's DRAM-bound cycles exceed the conv's off-chip IFM reads: its schedule-time estimate of the copy is the
    op's cycles without memory access (the NPU cycles). Measured: the copy, the total and the peak SRAM (cnncc
    before: no copy, totals 1.30 and 4.63 of Vela's)."""
    est = estimate(padded_network(seed), _arch("ethos-u65-512", "Ethos_U65_High_End"))
    copied = [c for _, _, c in est.rows if c.input_copy]
    assert [(c.input_copy, c.copy_cycles) for c in copied] == [(nbytes, copy_cycles)]
    assert abs(sum(c.cycles for _, _, c in est.rows) / vela_total - 1) <= 0.001
    assert est.peak_sram_bytes == peak


@pytest.mark.parametrize("seed,accel,system,vela_total", [(41, "ethos-u65-256", "Ethos_U65_High_End", 722281),
                                                          (41, "ethos-u65-512", "Ethos_U65_Client_Server", 233204),
                                                          (110, "ethos-u65-256", "Ethos_U65_High_End", 1182245),
                                                          (110, "ethos-u65-512", "Ethos_U65_Client_Server", 346374)])
def test_no_copy_where_vela_makes_none(seed, accel, system, vela_total):
    """The same networks on a slower NPU or with faster DRAM: Vela makes no copy (no input_buffer_ row), nor does
    the model, and the totals agree."""
    est = estimate(padded_network(seed), _arch(accel, system))
    assert not any(c.input_copy for _, _, c in est.rows)
    assert abs(sum(c.cycles for _, _, c in est.rows) / vela_total - 1) <= 0.01
