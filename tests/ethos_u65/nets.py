"""Small IR networks of the Vela calibration points (shared/reference/ethos-u65.md) used by the tests."""

from __future__ import annotations

import numpy as np

from cnncc.frontend.tflite.writer import same_pads
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O

RELU = O.Relu()


class _Net:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.w: dict[str, np.ndarray] = {}

    def conv(self, name, x, hw, cin, cout, k=3, s=1, groups=1, act=RELU):
        """SAME-padded conv (TFLite convention); returns (output tensor, output size)."""
        o, t, b = same_pads(hw, k, s, 1)
        self.w[name + "_w"] = self.rng.integers(-127, 128, (cout, cin // groups, k, k)).astype(np.float32) / 512
        self.w[name + "_b"] = self.rng.normal(0, 0.1, (cout,)).astype(np.float32)
        self.layers.append(Layer(name, O.Conv(kernel=(k, k), strides=(s, s), pads=(t, t, b, b), groups=groups,
                                              act=act), (x, name + "_w", name + "_b"), (name + "_y",)))
        return name + "_y", o

    def gemm(self, name, x, cin, cout, act=None):
        self.w[name + "_w"] = self.rng.integers(-127, 128, (cout, cin)).astype(np.float32) / 512
        self.w[name + "_b"] = self.rng.normal(0, 0.1, (cout,)).astype(np.float32)
        self.layers.append(Layer(name, O.Gemm(trans_b=True, act=act), (x, name + "_w", name + "_b"),
                                 (name + "_y",)))
        return name + "_y"

    def add(self, layer):
        self.layers.append(layer)
        return layer.outputs[0]

    def build(self, name, inputs, outputs):
        return Graph.build(name, inputs, outputs, self.layers, weights=self.w)


def net8() -> Graph:
    """The 8-layer network of the calibration table (32×32×3 input, SAME, fused ReLU)."""
    n = _Net()
    y, hw = n.conv("conv1", "x", 32, 3, 32)
    y, hw = n.conv("conv2", y, hw, 32, 64, s=2)
    y, hw = n.conv("dw3", y, hw, 64, 64, groups=64)
    y, hw = n.conv("pw4", y, hw, 64, 128, k=1)
    y, hw = n.conv("conv5", y, hw, 128, 256, s=2)
    y, hw = n.conv("conv6", y, hw, 256, 256, s=2)
    y, hw = n.conv("conv7", y, hw, 256, 256)
    y = n.add(Layer("flat", O.Reshape(shape=(1, 256 * hw * hw)), (y,), ("flat_y",)))
    y = n.gemm("fc8", y, 256 * hw * hw, 100)
    return n.build("net8", {"x": tensor_type((1, 3, 32, 32))}, [y])


def single_conv(hw: int, c: int, k: int = 3) -> Graph:
    """One k×k stride-1 SAME conv C→C with an hw×hw output (the iso-MAC sweep)."""
    n = _Net()
    y, _ = n.conv("conv", "x", hw, c, c, k=k, act=None)
    return n.build(f"conv{hw}x{hw}c{c}", {"x": tensor_type((1, c, hw, hw))}, [y])


def small_residual() -> Graph:
    """A small net with a residual Add, max-pool, concat and global average pool (elementwise/pool costing)."""
    n = _Net(1)
    y, hw = n.conv("stem", "x", 16, 8, 16)
    a, _ = n.conv("branch_a", y, hw, 16, 16)
    r = n.add(Layer("res_add", O.Add(act=O.Relu()), (y, a), ("res_add_y",)))
    p = n.add(Layer("pool", O.MaxPool(kernel=(2, 2), strides=(2, 2)), (r,), ("pool_y",)))
    b1, hw2 = n.conv("b1", p, 8, 16, 16, k=1)
    b2, _ = n.conv("b2", p, 8, 16, 16)
    c = n.add(Layer("cat", O.Concat(axis=1), (b1, b2), ("cat_y",)))
    g = n.add(Layer("gap", O.GlobalAveragePool(), (c,), ("gap_y",)))
    f = n.add(Layer("flat", O.Flatten(axis=1), (g,), ("flat_y",)))
    y = n.gemm("fc", f, 32, 10)
    return n.build("small_residual", {"x": tensor_type((1, 8, 16, 16))}, [y])


def single_dw(hw: int, c: int, k: int = 3) -> Graph:
    """One k×k stride-1 SAME depthwise conv on an hw×hw×c map."""
    n = _Net()
    y, _ = n.conv("dw", "x", hw, c, c, k=k, groups=c, act=None)
    return n.build(f"dw{hw}x{hw}c{c}k{k}", {"x": tensor_type((1, c, hw, hw))}, [y])


def single_dw_s(hw: int, c: int, s: int = 1, k: int = 3) -> Graph:
    """One k×k stride-s SAME depthwise conv on an hw×hw×c map."""
    n = _Net()
    y, _ = n.conv("dw", "x", hw, c, c, k=k, s=s, groups=c, act=None)
    return n.build(f"dws{hw}x{hw}c{c}s{s}", {"x": tensor_type((1, c, hw, hw))}, [y])
