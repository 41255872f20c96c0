"""The vectorised OFM block-config search equals the candidate-by-candidate loop it replaced (kept as the oracle in
tests/ethos_u65/blocks_reference.py) on seeded random NPU ops of every kind, over the U55 and U65 configurations
(MAC-array sizes change the micro-block and the SHRAM), and its cache answers like a fresh search."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.backends.ethos_u65 import blocks
from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL, VECTOR, NpuOp, find_block_config
from cnncc.target import load_target
from tests.ethos_u65.blocks_reference import reference_block_config

TARGETS = ["ethos-u65-256", "ethos-u65-512", "ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256"]


def _random_op(rng: np.random.Generator) -> NpuOp:
    kind = str(rng.choice([CONV, CONV, DEPTHWISE, POOL, ELEMENTWISE, VECTOR]))
    dim = [1, 2, 3, 5, 7, 9, 14, 16, 28, 30, 49, 56, 112]
    h, w = int(rng.choice(dim)), int(rng.choice(dim))
    c = int(rng.choice([1, 3, 8, 12, 16, 24, 32, 40, 64, 96, 112, 128, 232, 384, 512, 1024]))
    k = (int(rng.choice([1, 1, 3, 5, 7, 9])), int(rng.choice([1, 1, 3, 5, 9])))
    s = (int(rng.choice([1, 1, 2])), int(rng.choice([1, 1, 2])))
    d = (int(rng.choice([1, 1, 1, 2])),) * 2
    if kind in (ELEMENTWISE, VECTOR):
        k, s, d = (1, 1), (1, 1), (1, 1)
    oh, ow = max(1, (h - 1) // s[0] + 1), max(1, (w - 1) // s[1] + 1)
    oc = c if kind in (DEPTHWISE, POOL, ELEMENTWISE) else int(rng.choice([1, 8, 16, 24, 48, 96, 256, 1000]))
    ifm2 = None
    if kind == ELEMENTWISE:
        ifm2 = (1, 1, 1) if rng.random() < 0.2 else (h, w, c)
        oh, ow = h, w
    act = str(rng.choice(["none", "relu", "lut"]))
    return NpuOp(kind, (h, w, c), (oh, ow, oc), kernel=k, stride=s, dilation=d, ifm2=ifm2, act=act,
                 lut=bool(rng.random() < 0.1))


@pytest.mark.parametrize("target", TARGETS)
def test_vectorised_search_equals_the_scalar_loop(target):
    arch = arch_of(load_target(target))
    rng = np.random.default_rng(sum(map(ord, target)))
    for _ in range(120):
        op = _random_op(rng)
        try:
            want = reference_block_config(op, arch)
        except ValueError:
            with pytest.raises(ValueError):
                blocks._find_block_config(op, arch)
            continue
        assert blocks._find_block_config(op, arch) == want, op


def test_cache_answers_like_a_fresh_search():
    arch = arch_of(load_target("ethos-u65-256"))
    rng = np.random.default_rng(7)
    ops = [_random_op(rng) for _ in range(40)]
    blocks._BLOCKS.clear()
    first = [find_block_config(op, arch) for op in ops]
    assert blocks._BLOCKS  # filled
    # the same shapes with other placements / formats / weights hit the cache and get the same answer
    from dataclasses import replace

    again = [find_block_config(replace(op, ifm_mem="offchip", ofm_fmt="NHCWB16", weight_bytes=123), arch)
             for op in ops]
    assert again == first == [reference_block_config(op, arch) for op in ops]
