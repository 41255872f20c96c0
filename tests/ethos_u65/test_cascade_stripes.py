"""Cascade membership and stripe heights as Vela 5.2.0 chooses them (cascade.py, cascadeweights.py), without Vela:
every expected figure was read off Vela's ``--verbose-schedule`` for the same network and configuration
(Dedicated_Sram_384KB, 393,216 B of staging SRAM)."""

from __future__ import annotations

import pytest

from cnncc.backends.ethos_u65.cascade import ChainOp as C
from cnncc.backends.ethos_u65.cascade import find_cascades
from cnncc.backends.ethos_u65.compiled import as_vela_compiles
from cnncc.backends.ethos_u65.lower import FUSED, fuse_activations, lower
from cnncc.backends.ethos_u65.network import cascades_and_copies, estimate
from cnncc.backends.ethos_u65.order import in_vela_order
from tests.ethos_u65.cascnet import cascade_network
from tests.ethos_u65.configs import CS256, CS512, HE256, HE512, arch_for
from tests.ethos_u65.padnet import padded_network
from tests.ethos_u65.randnet import random_network

BUDGET = 384 * 1024


def cascades(graph, config) -> list[list[tuple[str, int]]]:
    """cnncc's cascades of ``graph``: per cascade, (layer, OFM stripe rows) of its ops."""
    g, _ = in_vela_order(as_vela_compiles(graph).graph)
    lowered, _ = fuse_activations(g, g.layers, [lower(g, x) for x in g.layers])
    found, _, _ = cascades_and_copies(g, lowered, arch_for(config))
    return [[(g.layers[k].name, c.stripes[k - c.start][0]) for k in range(c.start, c.end + 1)
             if lowered[k].kind != FUSED] for c in found]


def test_stripes_fit_beside_the_input_copy_and_the_staged_weights():
    """padnet seed 55's two 3×3 convs (56×40 maps, 48 -> 96 -> 96 channels) as the rules see them: Vela buffers both
    convs' weights (46,592 + 77,744 B) on the minimal schedule and copies the 56×40×48 input into SRAM (107,520 B),
    so the rolling buffer (2 × (h + 2) rows × 40 × 96) leaves 19-row stripes (393,136 B; 20 rows: 400,816 B); with
    the buffers alone the largest proposal, 28 rows, would fit."""
    ops = [C((56, 40, 48), (56, 40, 96), 3, 1, False, 46592, True),
           C((56, 40, 96), (56, 40, 96), 3, 1, False, 77744, True),
           C((56, 40, 96), (56, 40, 32), 1, 1, False, 3376)]
    cs = find_cascades(ops, BUDGET, reserved={0: 107520})
    assert [(c.start, c.end, c.stripes) for c in cs] == [(0, 1, ((19, 21), (19, 21)))]
    assert cs[0].buffer_bytes == 2 * 21 * 40 * 96 + 46592 + 77744
    assert find_cascades(ops, BUDGET)[0].stripes == ((28, 30), (28, 30))


def test_an_op_that_fits_alone_ends_the_chain():
    """casc8: 5×5 conv 8 -> 96 and 3×3 conv 96 -> 96 on 80×40 maps, then a 7×7 stride-2 conv to 40×20×24, whose
    IFM + OFM (307,200 + 25,600 B) fit: Vela cascades the first two only, 36-row stripes (no weights staged:
    36 rows = 291,840 B of rolling buffer + 100,272 B of weights ≤ 393,216 B, 37 rows do not fit)."""
    ops = [C((80, 40, 8), (80, 40, 96), 5, 1, False, 21824, True),
           C((80, 40, 96), (80, 40, 96), 3, 1, False, 78448, True),
           C((80, 40, 96), (40, 20, 24), 7, 2, False, 102832, True),
           C((40, 20, 24), (40, 20, 48), 5, 1, False, 30864)]
    cs = find_cascades(ops, BUDGET)
    assert [(c.start, c.end, c.stripes[-1][0]) for c in cs] == [(0, 1, 36)]


def test_a_graph_output_is_stored_without_channel_rounding():
    """casc31: 1×1 then 3×3 depthwise on 56×112×24: the second op's IFM (NHCWB16, 200,704 B) + its OFM, a graph
    output stored NHWC (150,528 B), fit the staging SRAM, so Vela cascades nothing (rounded to 16 channels both
    would not fit)."""
    ops = [C((56, 112, 24), (56, 112, 24), 1, 1, False, 0, True, True),
           C((56, 112, 24), (56, 112, 24), 3, 1, False, 0, False, False, True)]
    assert find_cascades(ops, BUDGET) == []
    assert len(find_cascades([ops[0], C((56, 112, 24), (56, 112, 24), 3, 1)], BUDGET)) == 1


#: (seed of cascnet.cascade_network, configuration, Vela's cascades: per cascade (layer, OFM stripe rows))
MEASURED = [
    (1, CS256, [[("conv1", 11), ("dw2", 11), ("conv3", 11)]]),    # the 7×7 conv's 311 KB of weights not staged
    (1, HE512, [[("conv1", 5), ("dw2", 5), ("conv3", 5)]]),       # + the input copy (150,528 B) beside it
    (7, HE256, [[("dw1", 28), ("conv2", 14), ("conv3", 14)]]),     # stride 2 inside; all weights staged
    (8, HE256, [[("conv1", 36), ("conv2", 36)]]),
    (9, CS256, [[("conv1", 13), ("conv2", 13)]]),                  # the first conv op-dominated: not staged
    (9, HE512, [[("conv1", 5), ("conv2", 5)]]),                    # slower DRAM: both staged
    (15, CS512, [[("conv1", 23), ("conv2", 23), ("dw3", 23), ("conv4", 23)]]),
    (31, CS256, []),
    (96, HE512, [[("conv1", 1), ("conv2", 1)]]),                   # the input copy leaves room for minimal stripes
    (96, CS256, [[("conv1", 9), ("conv2", 9), ("conv3", 9)]]),
]


@pytest.mark.parametrize("seed,config,vela", MEASURED)
def test_generated_chains_cascade_as_vela(seed, config, vela):
    assert cascades(cascade_network(seed), config) == vela


def test_padnet55_and_rand103_cascade_as_vela():
    """padnet seed 55 on u65-512 High_End: Vela's 19-row stripes (cnncc was 28) and total 800,683 cycles (cnncc
    was 0.984 of it); rand103: the 1×9 conv and the pool with 16-row stripes, the 7×7 conv alone."""
    assert cascades(padded_network(55), HE512) == [[("conv1", 19), ("conv2", 19)]]
    est = estimate(padded_network(55), arch_for(HE512))
    assert abs(sum(c.cycles for _, _, c in est.rows) / 800683 - 1) <= 0.002
    assert [[n[:5] for n, _ in c] + [h for _, h in c] for c in cascades(random_network(103), HE512)] == [
        ["conv1", "avgpo", 16, 16]]
