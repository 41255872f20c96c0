"""Seeded networks whose convolution reads through an explicit zero Pad, for checking the Ethos-U model against Vela.

``padded_network(seed)`` draws an input map (5 … 56 rows and columns, 3 … 96 channels), an optional stem conv (so
that the Pad sits in the middle of the network rather than on the graph input), then a zero Pad of the map's height
and width followed by a convolution or depthwise convolution without padding of its own (kernel 1 … 7 per axis,
stride 1 or 2), and optionally a 1×1 conv after it. The pads are drawn as the ways they arise: PyTorch's symmetric
``k // 2`` (what a stride-2 "same" conv exports as Pad → Conv), TensorFlow's SAME split (the extra row/column at the
end), the extra row/column at the start, and free choices up to the kernel size and beyond (which no convolution
padding can take). One network in four writes the padding as the conv's own ``pads`` instead of a Pad layer; the
TFLite exporter then writes the same PAD + VALID CONV_2D unless the pads are TFLite's SAME. One Pad in ten pads
with a non-zero value, and one in eight has a second reader (an elementwise Add of the padded map with itself, by
way of a 1×1 conv; the sum is a second graph output, listed before or after the first).
"""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65.randnet import _Builder

SIZES = (5, 7, 8, 9, 12, 15, 16, 20, 24, 31, 32, 40, 48, 56)
CHANNELS = (3, 8, 16, 24, 32, 48, 64, 96)
STYLES = ("torch", "tf_same", "leading", "free", "symmetric")


def _pads(rng: np.random.Generator, style: str, n: int, k: int, s: int) -> tuple[int, int]:
    """(before, after) padding of one axis of ``n`` values for a kernel of ``k`` at stride ``s``."""
    if style == "torch":
        return k // 2, k // 2
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    if style == "tf_same":
        return total // 2, total - total // 2
    if style == "leading":
        return total - total // 2, total // 2
    if style == "symmetric":
        p = int(rng.integers(0, k + 1))
        return p, p
    return int(rng.integers(0, k + 1)), int(rng.integers(0, k + 1))


def padded_network(seed: int) -> Graph:
    """A seeded Pad → Conv network (see module doc), named ``pad<seed>``."""
    rng = np.random.default_rng(seed)
    h, w = (int(rng.choice(SIZES)) for _ in range(2))
    c = int(rng.choice(CHANNELS))
    b = _Builder(rng, c, h, w)
    if rng.random() < 0.5:  # the Pad in the middle of the network
        b.conv(int(rng.choice(CHANNELS[1:])), (3, 3) if min(h, w) >= 3 else (1, 1), 1, act=O.Relu())
    cin, ih, iw = b.shape
    s = int(rng.choice((1, 2)))
    kh = int(rng.integers(1, 8))
    kw = kh if rng.random() < 0.6 else int(rng.integers(1, 8))
    style = STYLES[int(rng.integers(len(STYLES)))]
    t, bt = _pads(rng, style, ih, kh, s)
    lf, r = _pads(rng, style, iw, kw, s)
    if ih + t + bt < kh:
        bt = kh - ih - t
    if iw + lf + r < kw:
        r = kw - iw - lf
    depthwise = rng.random() < 0.3
    cout = cin if depthwise else int(rng.choice(CHANNELS[1:]))
    act = (None, O.Relu())[int(rng.integers(2))]
    nm = b.name("dw" if depthwise else "conv")
    fan_in = kh * kw * (1 if depthwise else cin)
    wt = b.weight(nm + "_w", (cout, 1 if depthwise else cin, kh, kw), 1.0 / np.sqrt(fan_in))
    bias = b.weight(nm + "_b", (cout,), 0.1)
    oh, ow = (ih + t + bt - kh) // s + 1, (iw + lf + r - kw) // s + 1
    op = O.Conv(kernel=(kh, kw), strides=(s, s), groups=cout if depthwise else 1, act=act)
    if rng.random() < 0.25:  # the conv's own padding (the exporter writes PAD + VALID CONV_2D)
        op = O.Conv(kernel=(kh, kw), strides=(s, s), pads=(t, lf, bt, r), groups=op.groups, act=act)
        b.emit(Layer(nm, op, (b.x, wt, bias), (nm + "_y",)), (cout, oh, ow))
    else:
        value = 0.0 if rng.random() < 0.9 else 0.5
        pn = b.name("pad")
        b.emit(Layer(pn, O.Pad(pads=(0, 0, t, lf, 0, 0, bt, r), value=value), (b.x,), (pn + "_y",)),
               (cin, ih + t + bt, iw + lf + r))
        padded = b.x
        b.emit(Layer(nm, op, (b.x, wt, bias), (nm + "_y",)), (cout, oh, ow))
        if rng.random() < 0.125:  # a second reader of the padded map
            out, shape = b.x, b.shape
            b.x, b.shape = padded, (cin, ih + t + bt, iw + lf + r)
            b.residual(O.Add)  # a 1×1 conv of the padded map added to it: a second graph output
            side, b.x, b.shape = b.x, out, shape
            return _finish(b, rng, f"pad{seed}", c, h, w, extra=side)
    return _finish(b, rng, f"pad{seed}", c, h, w)


def _finish(b: _Builder, rng: np.random.Generator, name: str, c: int, h: int, w: int, extra: str | None = None
            ) -> Graph:
    if rng.random() < 0.8:
        b.conv(int(rng.choice((16, 32))), (1, 1), 1, act=O.Relu())
    outs = [b.x] + ([extra] if extra else [])
    if extra and rng.random() < 0.5:
        outs.reverse()
    return Graph.build(name, {"x": tensor_type((1, c, h, w))}, outs, b.layers, weights=b.w)
