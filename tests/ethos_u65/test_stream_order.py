"""weights.stream_order (block patterns computed once per block shape, moved per block) gives the same read
order as the per-block computation it replaced (stream_order_reference.py), on seeded random layers of every
traversal, block depth, micro-block and dilation, each twice (the second from the cached patterns)."""

from __future__ import annotations

import numpy as np

from cnncc.backends.ethos_u65 import weights
from tests.ethos_u65 import stream_order_reference as ref


def test_stream_order_equals_the_per_block_reference():
    rng = np.random.default_rng(2026)
    for k in range(150):
        tr = (weights.DEPTH_FIRST, weights.PART_KERNEL, weights.DEPTHWISE)[k % 3]
        o, kh, kw = int(rng.integers(1, 70)), int(rng.integers(1, 12)), int(rng.integers(1, 12))
        i = 1 if tr == weights.DEPTHWISE else int(rng.integers(1, 80))
        w = rng.integers(-127, 128, (o, kh, kw, i)).astype(np.int16)
        bd, ub = int(rng.choice([8, 16, 32, 64])), int(rng.choice([4, 8]))
        dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        want = ref.stream_order(w, tr, bd, ub, dil)
        for _ in range(2):
            got = weights.stream_order(w, tr, bd, ub, dil)
            assert got.dtype == want.dtype and np.array_equal(got, want), (tr, w.shape, bd, ub, dil)
