"""Seeded chains of 2–4 convolutions whose maps are often too large for a 384 KB staging SRAM, for checking the
cascade rules (cnncc/backends/ethos_u65/cascade.py) against Vela's ``--verbose-schedule``.

``cascade_network(seed)`` draws an input map (24 … 112 rows, 16 … 112 columns, 3 … 64 channels), then 2–4 layers:
a convolution (kernel 1, 3, 5 or 7, to 16 … 128 channels), a depthwise convolution (same kernels) or, one time in
ten, a 2×2 max / average pool; one layer in four has stride 2 (maps of at least 8 rows and columns). Every layer
has a fused ReLU and SAME padding (pools: none). ``schedule_cascades(text)`` reads Vela's ``--verbose-schedule``
print: per cascade, its ops' (OFM (H, W, C), OFM stripe rows).
"""

from __future__ import annotations

import re

import numpy as np

from cnncc.ir import Graph, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65.randnet import _Builder

ROWS = (24, 32, 40, 48, 56, 64, 80, 96, 112)
COLS = (16, 24, 32, 40, 48, 56, 64, 80, 96, 112)
CHANNELS = (3, 8, 16, 24, 32, 48, 64)
OUT_CHANNELS = (16, 24, 32, 48, 64, 96, 128)
KERNELS = (1, 3, 3, 5, 7)


def cascade_network(seed: int) -> Graph:
    """A seeded conv chain (see module doc), named ``casc<seed>``."""
    rng = np.random.default_rng(seed)
    h, w, c = int(rng.choice(ROWS)), int(rng.choice(COLS)), int(rng.choice(CHANNELS))
    b = _Builder(rng, c, h, w)
    for _ in range(int(rng.integers(2, 5))):
        ch, hh, ww = b.shape
        r = rng.random()
        k = int(rng.choice(KERNELS))
        s = 2 if rng.random() < 0.25 and min(hh, ww) >= 8 else 1
        if r < 0.65 or ch < 8:
            b.conv(int(rng.choice(OUT_CHANNELS)), (min(k, hh), min(k, ww)), s, act=O.Relu())
        elif r < 0.9:
            b.conv(ch, (min(k, hh), min(k, ww)), s, groups=ch, act=O.Relu())
        else:
            b.pool(O.MaxPool if rng.random() < 0.5 else O.AveragePool, 2, int(rng.choice((1, 2))), False)
    return Graph.build(f"casc{seed}", {"x": tensor_type((1, c, h, w))}, [b.x], b.layers, weights=b.w)


_OP = re.compile(r"^\t(\d+): Operation (\w+)\s+- OFM ([\d, ]+) \(in (\w+)\)")


def schedule_cascades(text: str) -> list[list[tuple[tuple[int, int, int], int]]]:
    """Vela's cascades from its ``--verbose-schedule`` print, in order: per op (OFM (H, W, C), OFM stripe rows)."""
    groups: dict[int, list] = {}
    ofm: tuple[int, ...] = ()
    stripe = 0
    for line in text.splitlines():
        m = _OP.match(line)
        if m:
            ofm = tuple(int(x) for x in m[3].split(","))[1:]
            continue
        s = line.strip()
        if s.startswith("OFM Stripe"):
            stripe = int(s.split("[")[1].split(",")[1])
        elif s.startswith("Assigned Cascade") and ofm:
            casc = int(s.split("=")[1])
            if casc:
                groups.setdefault(casc, []).append((ofm, stripe))
    return [groups[k] for k in sorted(groups)]
