"""Seeded networks whose elementwise ops read constant tensors, for checking against Vela where constants live.

``constant_network(seed)`` draws a map (H × W, 8 … 96 channels, depths on and off the 16-channel brick), a stem
convolution, then 2 … 4 steps, each an elementwise op with a constant operand: Add / Sub / Mul by a per-channel
constant (1 × C × 1 × 1, broadcast over the map), Div by a per-channel constant (the exporter's MUL by the
reciprocal), a BatchNormalization left unfolded (MUL + ADD by per-channel constants) or an Add of a full-size
constant map, and a closing 1×1 convolution. Weights and constants are seeded random values.
"""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from tests.ethos_u65.randnet import _Builder

SPATIAL = ((8, 8), (13, 17), (16, 16), (24, 24), (30, 1), (32, 32), (40, 40), (56, 56))
CHANNELS = (8, 12, 16, 24, 40, 48, 64, 96)
STEPS = ("add", "sub", "mul", "div", "bn", "full")


def _step(b: _Builder, rng: np.random.Generator, kind: str) -> None:
    c, h, w = b.shape
    nm = b.name(kind)
    if kind == "bn":
        ins = (b.x, b.weight(nm + "_s", (c,), 0.3), b.weight(nm + "_b", (c,), 0.2), b.weight(nm + "_m", (c,), 0.1))
        b.w[nm + "_v"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        b.w[nm + "_s"] += 1.0
        b.emit(Layer(nm, O.BatchNormalization(), ins + (nm + "_v",), (nm + "_y",)), b.shape)
        return
    if kind == "full":
        const = b.weight(nm + "_k", (1, c, h, w), 0.5)
        b.emit(Layer(nm, O.Add(), (b.x, const), (nm + "_y",)), b.shape)
        return
    const = b.weight(nm + "_k", (1, c, 1, 1), 0.5)
    if kind in ("mul", "div"):
        b.w[const] = np.abs(b.w[const]) + 0.5   # a positive scale (a divisor away from 0)
    op = {"add": O.Add, "sub": O.Sub, "mul": O.Mul, "div": O.Div}[kind]()
    b.emit(Layer(nm, op, (b.x, const), (nm + "_y",)), b.shape)


def constant_network(seed: int) -> Graph:
    """A seeded network of elementwise ops with constant operands (see module doc)."""
    rng = np.random.default_rng(seed)
    h, w = SPATIAL[int(rng.integers(len(SPATIAL)))]
    c = int(rng.choice(CHANNELS))
    b = _Builder(rng, 3, h, w)
    b.conv(c, (3, 3) if min(h, w) >= 3 else (1, 1), 1, act=O.Relu())
    for _ in range(int(rng.integers(2, 5))):
        _step(b, rng, STEPS[int(rng.integers(len(STEPS)))])
    b.conv(int(rng.choice((16, 32))), (1, 1), 1, act=O.Relu())
    return b.graph(f"const{seed}", 3, h, w)
