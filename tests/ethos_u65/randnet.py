"""Seeded random networks for checking the Ethos-U model against Vela on work nobody tuned to.

``random_network(seed)`` draws an input map (H × W × C over the whole shape space: H × 1 and 1 × W maps, tiny
2×2 / 3×3 maps, odd sizes, 1 … 96 channels) and a chain of 3 … 9 random layers that Vela runs on the NPU:
convolutions (1×1, 3×3, 5×5, 9×1 / 1×9 / 3×1 kernels, stride 1/2, dilation 2), depthwise convs (incl. 9×1),
max / average pooling (SAME and VALID), global average pooling and MEAN, residual Add / Mul / Sub, squeeze-
excite style channel Mul, channel Concat, constant Pad, standalone Sigmoid / Tanh / HardSwish / LeakyRelu, and a head
(fully connected, optionally Softmax). Weights are seeded random values; shapes always stay valid for Vela
(IFM ≤ 65536 per axis, depthwise multiplier 1). ``random_layer(seed)`` is one such layer alone.
"""

from __future__ import annotations

import numpy as np

from cnncc.frontend.tflite.writer import same_pads
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O

SPATIAL = ((1, 1), (2, 2), (3, 3), (5, 5), (7, 7), (8, 8), (13, 13), (16, 16), (24, 24), (32, 32), (30, 1),
           (48, 1), (1, 30), (1, 64), (9, 1), (17, 11), (40, 40), (56, 56))
CHANNELS = (1, 3, 8, 12, 16, 24, 32, 48, 64, 96, 128, 200, 256, 384)
KERNELS = ((1, 1), (3, 3), (5, 5), (9, 1), (1, 9), (3, 1), (1, 3), (7, 7))


class _Builder:
    """A growing chain: the current tensor with its (C, H, W) and the layers/weights so far."""

    def __init__(self, rng: np.random.Generator, c: int, h: int, w: int):
        self.rng = rng
        self.layers: list[Layer] = []
        self.w: dict[str, np.ndarray] = {}
        self.x, self.shape = "x", (c, h, w)
        self.n = 0

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def weight(self, name: str, shape: tuple[int, ...], scale: float) -> str:
        self.w[name] = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return name

    def emit(self, layer: Layer, shape: tuple[int, int, int]) -> None:
        self.layers.append(layer)
        self.x, self.shape = layer.outputs[0], shape

    # ---------------------------------------------------------------------------------------------- layers
    def conv(self, cout: int, k: tuple[int, int], s: int, groups: int = 1, dil: int = 1, same: bool = True,
             act: O.Activation | None = None) -> None:
        c, h, w = self.shape
        if same:
            oh, t, b = same_pads(h, k[0], s, dil)
            ow, lft, r = same_pads(w, k[1], s, dil)
        else:
            t = lft = b = r = 0
            oh, ow = (h - (k[0] - 1) * dil - 1) // s + 1, (w - (k[1] - 1) * dil - 1) // s + 1
        nm = self.name("dw" if groups > 1 else "conv")
        wt = self.weight(nm + "_w", (cout, c // groups, k[0], k[1]), 1.0 / np.sqrt(k[0] * k[1] * c / groups))
        bias = self.weight(nm + "_b", (cout,), 0.1)
        op = O.Conv(kernel=k, strides=(s, s), dilations=(dil, dil), pads=(t, lft, b, r), groups=groups, act=act)
        self.emit(Layer(nm, op, (self.x, wt, bias), (nm + "_y",)), (cout, oh, ow))

    def pool(self, kind: type, k: int, s: int, same: bool) -> None:
        c, h, w = self.shape
        kh, kw = min(k, h), min(k, w)
        if same:
            oh, t, b = same_pads(h, kh, s, 1)
            ow, lft, r = same_pads(w, kw, s, 1)
            if kind is O.AveragePool and (t or b or lft or r):
                same = False
        if not same:
            t = lft = b = r = 0
            oh, ow = (h - kh) // s + 1, (w - kw) // s + 1
        nm = self.name("maxpool" if kind is O.MaxPool else "avgpool")
        op = kind(kernel=(kh, kw), strides=(s, s), pads=(t, lft, b, r))
        self.emit(Layer(nm, op, (self.x,), (nm + "_y",)), (c, oh, ow))

    def unary(self, op: O.Op, kind: str) -> None:
        nm = self.name(kind)
        self.emit(Layer(nm, op, (self.x,), (nm + "_y",)), self.shape)

    def residual(self, kind: type) -> None:
        """x -> conv 1×1 (same shape) -> Add/Sub/Mul with x."""
        src, shape = self.x, self.shape
        self.conv(shape[0], (1, 1), 1, act=O.Relu())
        nm = self.name(kind.kind.lower())
        self.emit(Layer(nm, kind(), (src, self.x), (nm + "_y",)), shape)

    def squeeze_excite(self) -> None:
        """x * sigmoid(conv1x1(GAP(x))): a channel-broadcast Mul."""
        src, (c, h, w) = self.x, self.shape
        nm = self.name("gap")
        self.emit(Layer(nm, O.GlobalAveragePool(), (src,), (nm + "_y",)), (c, 1, 1))
        self.conv(c, (1, 1), 1, act=O.Sigmoid())
        nm = self.name("se_mul")
        self.emit(Layer(nm, O.Mul(), (src, self.x), (nm + "_y",)), (c, h, w))

    def concat(self) -> None:
        """Two branches (1×1 conv, 3×3 conv) concatenated along channels."""
        src, (c, h, w) = self.x, self.shape
        c1, c2 = (int(self.rng.choice((8, 16, 24, 32, 48))) for _ in range(2))
        self.conv(c1, (1, 1), 1, act=O.Relu())
        a = self.x
        self.x, self.shape = src, (c, h, w)
        self.conv(c2, (3, 3), 1, act=O.Relu())
        nm = self.name("concat")
        self.emit(Layer(nm, O.Concat(axis=1), (a, self.x), (nm + "_y",)), (c1 + c2, h, w))

    def pad(self) -> None:
        c, h, w = self.shape
        p = [int(v) for v in self.rng.integers(0, 3, 4)]
        nm = self.name("pad")
        self.emit(Layer(nm, O.Pad(pads=(0, 0, p[0], p[1], 0, 0, p[2], p[3])), (self.x,), (nm + "_y",)),
                  (c, h + p[0] + p[2], w + p[1] + p[3]))

    def mean(self) -> None:
        c, _, _ = self.shape
        nm = self.name("mean")
        if self.rng.random() < 0.5:
            self.emit(Layer(nm, O.GlobalAveragePool(), (self.x,), (nm + "_y",)), (c, 1, 1))
        else:
            self.emit(Layer(nm, O.ReduceMean(axes=(2, 3), keepdims=True), (self.x,), (nm + "_y",)), (c, 1, 1))

    def head(self, softmax: bool) -> None:
        c, h, w = self.shape
        nm = self.name("flat")
        self.layers.append(Layer(nm, O.Flatten(axis=1), (self.x,), (nm + "_y",)))
        x, n_in = nm + "_y", c * h * w
        n = int(self.rng.choice((10, 16, 100, 128, 1000)))
        nm = self.name("fc")
        wt = self.weight(nm + "_w", (n, n_in), 1.0 / np.sqrt(n_in))
        bias = self.weight(nm + "_b", (n,), 0.1)
        self.layers.append(Layer(nm, O.Gemm(trans_b=True), (x, wt, bias), (nm + "_y",)))
        self.x = nm + "_y"
        if softmax:
            sm = self.name("softmax")
            self.layers.append(Layer(sm, O.Softmax(axis=-1), (self.x,), (sm + "_y",)))
            self.x = sm + "_y"

    def graph(self, name: str, c: int, h: int, w: int) -> Graph:
        return Graph.build(name, {"x": tensor_type((1, c, h, w))}, [self.x], self.layers, weights=self.w)


ACTS = (None, O.Relu(), O.Clip(lo=0.0, hi=6.0))


def _step(b: _Builder, rng: np.random.Generator) -> None:
    """One random layer (or small block) that keeps the map valid."""
    c, h, w = b.shape
    r = rng.random()
    act = ACTS[int(rng.integers(len(ACTS)))]
    if r < 0.34:
        k = KERNELS[int(rng.integers(len(KERNELS)))]
        k = (min(k[0], h) if h < k[0] else k[0], min(k[1], w) if w < k[1] else k[1])
        s = 2 if rng.random() < 0.25 and min(h, w) >= 4 else 1
        dil = 2 if rng.random() < 0.1 and s == 1 and k[0] == k[1] == 3 and min(h, w) >= 5 else 1
        b.conv(int(rng.choice(CHANNELS[2:])), k, s, dil=dil, same=rng.random() < 0.8, act=act)
    elif r < 0.52:
        k = KERNELS[int(rng.integers(len(KERNELS) - 1))]
        k = (min(k[0], h), min(k[1], w))
        s = 2 if rng.random() < 0.3 and min(h, w) >= 4 else 1
        b.conv(c, k, s, groups=c, same=True, act=act)
    elif r < 0.62 and h * w > 1:
        b.pool(O.MaxPool if rng.random() < 0.5 else O.AveragePool, int(rng.choice((2, 3))),
               int(rng.choice((1, 2))), rng.random() < 0.5)
    elif r < 0.72:
        b.residual((O.Add, O.Add, O.Sub, O.Mul)[int(rng.integers(4))])
    elif r < 0.78 and h * w > 1:
        b.squeeze_excite()
    elif r < 0.86:
        b.concat()
    elif r < 0.91:
        b.pad()
    else:
        kinds = ((O.Sigmoid(), "sigmoid"), (O.Tanh(), "tanh"), (O.HardSwish(), "hardswish"),
                 (O.LeakyRelu(alpha=0.1), "leakyrelu"))
        op, nm = kinds[int(rng.integers(len(kinds)))]
        b.unary(op, nm)


def random_network(seed: int, layers: tuple[int, int] = (3, 9)) -> Graph:
    """A seeded random network (see module doc): input, ``layers`` random steps, optional mean + FC head."""
    rng = np.random.default_rng(seed)
    h, w = SPATIAL[int(rng.integers(len(SPATIAL)))]
    c = int(rng.choice(CHANNELS[:11]))
    b = _Builder(rng, c, h, w)
    if c < 8:  # a stem conv, as real networks have
        b.conv(int(rng.choice((8, 16, 32))), (3, 3) if min(h, w) >= 3 else (1, 1), 1, act=O.Relu())
    for _ in range(int(rng.integers(layers[0], layers[1] + 1))):
        _step(b, rng)
        if b.shape[0] * b.shape[1] * b.shape[2] > 600_000:
            b.conv(16, (1, 1), 2 if min(b.shape[1:]) >= 2 else 1, act=O.Relu())
    hr = rng.random()
    if hr < 0.5:
        if b.shape[1] * b.shape[2] > 64:
            b.mean()
        b.head(softmax=rng.random() < 0.5)
    elif hr < 0.6:
        b.mean()
    return b.graph(f"rand{seed}", c, h, w)


def random_layer(seed: int) -> Graph:
    """One random layer on a random map (a stem conv first when the input has few channels)."""
    return random_network(seed, layers=(1, 1))
