"""Seeded networks in which an exported chain (composite.py: a standalone BatchNormalization written as MUL + ADD, a
HardSigmoid as MUL + ADD, a Div by a constant as one MUL) sits between convolutions on a map too large for a 384 KB
staging SRAM, for checking which of the chain's operators Vela 5.2.0 cascades (tests/ethos_u65/test_cascade_chain.py).

``chain_network(seed, kind)``: an input map (80 … 112 rows, 64 … 112 columns, 16 or 32 channels), a 3×3 conv with a
fused ReLU to 48 or 64 channels (the map over 393,216 B), then per ``kind``: ``bn`` the BatchNormalization; ``add_bn``
a 1×1 conv, an Add of the two maps, the BatchNormalization; ``hsig`` a HardSigmoid; ``div`` a Div by a per-channel
constant; and a last 3×3 conv with ReLU.
"""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65.randnet import _Builder

KINDS = ("bn", "add_bn", "hsig", "div")


def _bn(b: _Builder) -> None:
    c = b.shape[0]
    nm = b.name("bn")
    scale, bias, mean = (b.weight(nm + s, (c,), 0.3) for s in ("_s", "_b", "_m"))
    b.w[scale] = (1.0 + b.w[scale]).astype(np.float32)
    var = nm + "_v"
    b.w[var] = (np.abs(b.rng.standard_normal(c)) + 0.5).astype(np.float32)
    b.emit(Layer(nm, O.BatchNormalization(), (b.x, scale, bias, mean, var), (nm + "_y",)), b.shape)


def chain_network(seed: int, kind: str) -> Graph:
    """A seeded conv -> chain -> conv network (see module doc), named ``chain_<kind><seed>``."""
    rng = np.random.default_rng(seed)
    while True:
        h, w = int(rng.choice((80, 96, 112))), int(rng.choice((64, 80, 96, 112)))
        c, c2 = int(rng.choice((16, 32))), int(rng.choice((48, 64)))
        if h * w * c2 > 393216:
            break
    b = _Builder(rng, c, h, w)
    b.conv(c2, (3, 3), 1, act=O.Relu())
    if kind == "bn":
        _bn(b)
    elif kind == "add_bn":
        b.residual(O.Add)
        _bn(b)
    elif kind == "hsig":
        b.unary(O.HardSigmoid(), "hsig")
    else:
        nm = b.name("div")
        d = b.weight(nm + "_d", (1, c2, 1, 1), 0.2)
        b.w[d] = (np.abs(b.w[d]) + 0.5).astype(np.float32)
        b.emit(Layer(nm, O.Div(), (b.x, d), (nm + "_y",)), b.shape)
    b.conv(c2, (3, 3), 1, act=O.Relu())
    return Graph.build(f"chain_{kind}{seed}", {"x": tensor_type((1, c, h, w))}, [b.x], b.layers, weights=b.w)
