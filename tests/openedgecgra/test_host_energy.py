"""CPU model and energy model: exact numbers on small queries, calibration on the paper's baseline."""

import pytest

from cnncc.backends.openedgecgra import energy as E
from cnncc.backends.openedgecgra import host as H


def test_conv_cpu_exact_small():
    # fx: 13 - 2 (last branch falls through), fy: 6 - 2, x: 14 - 2, y/c/k: 10 - 2 each
    assert H.conv_cpu(H.CpuConvQuery(1, 1, 1, 1, 1, 1)).cycles == 11 + 4 + 12 + 8 + 8 + 8
    two = H.conv_cpu(H.CpuConvQuery(1, 1, 1, 1, 1, 2))
    assert two.cycles == 13 + 11 + 4 + 12 + 8 + 8 + 8
    assert two.data_accesses == 2 * 2 + 2


def test_conv_cpu_baseline_near_paper():
    c = H.conv_cpu(H.CpuConvQuery(16, 16, 14, 14, 3, 3))
    assert c.cycles == 7_105_662
    assert c.cycles / 100e6 * 1e3 == pytest.approx(63.4, rel=0.15)


def test_host_work_prices():
    one = H.host_work(1, 0, 0, 0, 0, 0)
    assert one.cycles == sum(H.CYCLES[i] for i in H.LAUNCH)
    assert H.host_work(0, 0, 0, 10, 0, 0).cycles == 10 * (H.CYCLES["lw"] + H.CYCLES["sw"])


def test_energy_exact():
    ev = [0] * len(E.op_energy_vector())
    ev[3] = 16                        # 16 SMUL
    q = E.EnergyQuery(tuple(ev), 100, 1000, 500, 2000, 1e8, 0.001, 40.0, 2.0, 0.001, 1.0, 10)
    r = E.energy_uj(q)
    assert r["cgra_uj"] == pytest.approx((16 * 5.43 + 10 * 1.0) * 1e-6)
    assert r["memory_uj"] == pytest.approx((0.001 * 2000 / 1e8 * 1e12 + 4000 + 1000) * 1e-6)
    assert r["cpu_uj"] == pytest.approx(0.001 * 1000 / 1e8 * 1e6)
    assert r["total_uj"] == pytest.approx(r["cgra_uj"] + r["memory_uj"] + r["cpu_uj"])
