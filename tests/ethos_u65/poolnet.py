"""Seeded networks whose pooling pads in a way TFLite pools cannot (explicit pads, ``ceil_mode``, AveragePool's
``count_include_pad``), for checking the Ethos-U model of the exporter's pad + VALID pool against Vela (poolpad.py).

``pooled_network(seed)`` draws an input map (5 … 48 rows and columns, 3 … 64 channels), an optional 3×3 conv
producing the pooled map — with a ReLU (a map that cannot be negative: the exporter pads a MaxPool with zeros), no
activation, or followed by a per-channel PRelu (maps that may be negative: a mirrored or edge-replicated pad) —
then a MaxPool (two in three) or AveragePool of kernel 2 or 3 per axis, stride 1 or 2, with ``ceil_mode`` half of
the time and explicit pads up to kernel − 1 half of the time, and optionally a 1×1 conv after it. Maps always stay
valid (every window starts inside the input or its leading pad).
"""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from tests.ethos_u65.randnet import _Builder

SIZES = (5, 7, 9, 10, 12, 15, 16, 21, 22, 23, 31, 46, 48)
CHANNELS = (3, 8, 16, 24, 28, 32, 48, 64)


def pooled_network(seed: int) -> Graph:
    """A seeded conv → pool network with padding of the pool's own (see module doc), named ``pool<seed>``."""
    rng = np.random.default_rng(seed)
    h, w = (int(rng.choice(SIZES)) for _ in range(2))
    c = int(rng.choice(CHANNELS))
    b = _Builder(rng, c, h, w)
    producer = rng.random()
    if producer < 0.85:
        relu = producer < 0.35
        b.conv(int(rng.choice(CHANNELS[1:])), (3, 3), 1, act=O.Relu() if relu else None)
        if 0.35 <= producer < 0.7:
            ch = b.shape[0]
            hi = 0.5 if rng.random() < 0.7 else 1.5  # slopes all below 1 (MUL/MAXIMUM) or not (RELU/MIN/MUL/ADD)
            alpha = b.weight(b.name("alpha"), (ch, 1, 1), 1.0)
            b.w[alpha] = rng.uniform(0.05, hi, (ch, 1, 1)).astype(np.float32)
            nm = b.name("prelu")
            b.emit(Layer(nm, O.PRelu(), (b.x, alpha), (nm + "_y",)), b.shape)
    cin, ih, iw = b.shape
    k = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    k = (min(k[0], ih), min(k[1], iw))
    s = int(rng.choice((1, 2)))
    pads = (0, 0, 0, 0)
    if rng.random() < 0.5:
        pads = tuple(int(rng.integers(0, kk)) for kk in (k[0], k[1], k[0], k[1]))
    ceil = bool(rng.random() < 0.5) or not any(pads)
    is_max = rng.random() < 2 / 3
    if is_max:
        op: O.Op = O.MaxPool(kernel=k, strides=(s, s), pads=pads, ceil_mode=ceil)
    else:
        op = O.AveragePool(kernel=k, strides=(s, s), pads=pads, ceil_mode=ceil,
                           count_include_pad=bool(rng.random() < 0.5))
    oh, ow = op.out_hw(ih, iw)
    nm = b.name("maxpool" if is_max else "avgpool")
    b.emit(Layer(nm, op, (b.x,), (nm + "_y",)), (cin, oh, ow))
    if rng.random() < 0.8:
        b.conv(int(rng.choice((16, 32))), (1, 1), 1, act=O.Relu())
    return b.graph(f"pool{seed}", c, h, w)
