"""Exported chains (composite.py) inside cascades, against Vela 5.2.0 at test time: seeded conv -> chain -> conv
networks (tests/ethos_u65/chainnet.py: BatchNormalization, Add -> BatchNormalization, HardSigmoid, Div by a
constant) exported with cnncc's TFLite writer and compiled by Vela with ``--verbose-schedule``; the cascades (each
exported operator's OFM and stripe rows) are compared with cnncc's, a chain layer standing for each of its operators
(composite.cascade_parts). Measured: 8 of 8 networks on both configurations (before: no cascade at all, Vela
cascading conv, MUL, ADD and conv). Skipped only when Vela (``ethosu``) is not installed; ≈ 20 s."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.cascade import ChainOp, find_cascades
from cnncc.backends.ethos_u65.composite import cascade_parts
from cnncc.backends.ethos_u65.lower import CHAIN, lower
from tests.ethos_u65.chainnet import KINDS, chain_network
from tests.ethos_u65.test_cascade_stripes import CS256, HE512, cascades
from tests.ethos_u65.test_cascade_vela import _vela_cascades

needs_vela = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")


def _ours(graph, config) -> list[list[tuple[tuple[int, int, int], int]]]:
    """cnncc's cascades as Vela prints them: per exported operator, (OFM (H, W, C), OFM stripe rows)."""
    by_name = {x.name: x for x in graph.layers}
    out = []
    for c in cascades(graph, config):
        ops = []
        for name, h in c:
            layer = by_name[name]
            n, ch, hh, ww = graph.type_of(layer.outputs[0]).shape
            lw = lower(graph, layer)
            ops += [((hh, ww, ch), h)] * (len(cascade_parts(graph, layer, lw)) if lw.kind == CHAIN else 1)
        out.append(ops)
    return out


@needs_vela
@pytest.mark.parametrize("config", [CS256, HE512], ids=["u65-256-Client_Server", "u65-512-High_End"])
def test_chains_cascade_as_vela(config):
    got = {}
    with tempfile.TemporaryDirectory() as td:
        for kind in KINDS:
            for seed in (3, 4):
                g = chain_network(seed, kind)
                vela = _vela_cascades(g, config, Path(td))
                got[g.name] = (_ours(g, config) == vela, len(vela[0]) if vela else 0)
    assert got == {f"chain_{k}{s}": (True, {"bn": 4, "add_bn": 4, "hsig": 4, "div": 3}[k])
                   for k in KINDS for s in (3, 4)}


def test_a_chain_link_holds_no_buffer():
    """conv -> MUL -> ADD -> conv on 96×96×64 maps, 12-row stripes: the MUL -> ADD link is free (shares_next), so
    the cascade's buffers are the conv -> MUL ring (24 rows) and the ADD -> conv ring (28 rows): 319,488 B, Vela's
    size for chain_bn-like conv -> BN -> conv on u65-256 Client_Server. With no weights staged the search goes to
    15 rows: (30 + 34) rows × 96 × 64 = 393,216 B, the whole budget (16 rows: (32 + 36) rows, over it)."""
    m = (96, 96, 64)
    ops = [ChainOp((96, 96, 32), m, 3, links_next=True), ChainOp(m, m, elementwise=True, links_next=True,
                                                                 shares_next=True),
           ChainOp(m, m, elementwise=True, links_next=True), ChainOp(m, m, 3)]
    from cnncc.backends.ethos_u65.cascade import buffer_bytes, stripes_for

    assert buffer_bytes(ops, stripes_for(ops, 12)) == (24 + 28) * 96 * 64
    found = find_cascades(ops, 393216)
    assert [(c.start, c.end, c.stripes[0][0]) for c in found] == [(0, 3, 15)]
    assert found[0].buffer_bytes == (30 + 34) * 96 * 64 == 393216
