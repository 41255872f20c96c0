"""The paper's baseline layer (C = K = 16, 16x16 input, 3x3, 14x14 output; CF'24 Table and Fig.) against
cnncc's simulation of its four mappings, and cnncc's own mapping beyond the paper."""

import numpy as np
import pytest

from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.search import cost_plan, cpu_conv_cost, cpu_only
from cnncc.backends.openedgecgra.spec import CgraSpec

PAPER_MAC_PER_CYCLE = {"im2col-ip": 0.18, "conv-op": 0.325, "im2col-op": 0.36, "conv-wp": 0.59}
PAPER_CPU_MS, PAPER_WP_MS = 63.4, 6.4
PAPER_CPU_UJ, PAPER_WP_UJ = 101.0, 30.0


@pytest.fixture(scope="module")
def baseline():
    from cnncc.backends.openedgecgra.kernels.common import ConvProblem
    from cnncc.backends.openedgecgra.layer import ConvLayer
    from tests.openedgecgra.conftest import reference_conv

    rng = np.random.default_rng(0)
    prob = ConvProblem(16, 16, 16, 16, 14, 14, 3, 3)
    W = rng.integers(-128, 128, (16, 16, 3, 3))
    x = rng.integers(-128, 128, (16, 16, 16))
    cl = ConvLayer("baseline", prob, 1, (0, 0, 0, 0), (16, 16, 16), W, None, None, "conv", False)
    rows, plans = {}, {}
    for m in P.MAPPINGS:
        plans[m] = P.make_plan(m, cl, 512 * 1024, 32 * 1024)
        rows[m] = cost_plan(plans[m], P.predict(plans[m]), CgraSpec())
    cpu = cpu_only(CgraSpec(), cpu_conv_cost(cl), cl.macs)
    return cl, x, reference_conv(x, W, None, prob, (0, 0, 0, 0)), rows, plans, cpu


def test_wp_mac_per_cycle_within_15_percent(baseline):
    rows = baseline[3]
    assert rows["conv-wp"]["mac_per_cycle"] == pytest.approx(0.59, rel=0.15)


def test_wp_vs_cpu_latency_and_energy(baseline):
    rows, cpu = baseline[3], baseline[5]
    lat = cpu["cycles"] / rows["conv-wp"]["cycles"]
    assert lat == pytest.approx(PAPER_CPU_MS / PAPER_WP_MS, rel=0.20)
    en = cpu["energy_uj"] / rows["conv-wp"]["energy_uj"]
    assert en == pytest.approx(PAPER_CPU_UJ / PAPER_WP_UJ, rel=0.25)


def test_paper_ordering(baseline):
    r = {m: baseline[3][m]["mac_per_cycle"] for m in P.PAPER_MAPPINGS}
    assert r["conv-wp"] > max(r["im2col-op"], r["conv-op"]) > min(r["im2col-op"], r["conv-op"]) > r["im2col-ip"]
    assert r["im2col-op"] == pytest.approx(r["conv-op"], rel=0.15)


def test_cnncc_mapping_beats_the_paper_bit_exact(baseline):
    cl, x, ref, rows, plans, _ = baseline
    assert rows["cnncc-ic4"]["mac_per_cycle"] >= 1.0
    assert rows["cnncc-ic4"]["mac_per_cycle"] > 0.665          # the paper's peak (WP, 64x64)
    y, stats = P.run(plans["cnncc-ic4"], x)
    assert np.array_equal(y, ref)
    assert stats.cycles == rows["cnncc-ic4"]["cgra_cycles"]     # prediction == full simulation


def test_wp_full_simulation_matches_prediction(baseline):
    cl, x, ref, rows, plans, _ = baseline
    y, stats = P.run(plans["conv-wp"], x)
    assert np.array_equal(y, ref)
    assert stats.cycles == rows["conv-wp"]["cgra_cycles"]
