"""Small seeded float IR networks covering the TFLite builtins the reader supports; exported to int8 TFLite by
cnncc's own writer (calibrated on a seeded input) they are the TFLite test models."""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O


def _w(rng, *shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def conv_net(seed: int) -> Graph:
    """conv+ReLU, depthwise stride-2 + ReLU6, pointwise, residual ADD, MAX/AVERAGE pool, flatten, FC, softmax."""
    rng = np.random.default_rng(seed)
    c = int(rng.integers(3, 9))
    k = int(rng.integers(4, 17))
    hw = int(rng.integers(8, 17))
    w = {"w1": _w(rng, k, c, 3, 3), "b1": _w(rng, k), "wd": _w(rng, k, 1, 3, 3), "bd": _w(rng, k),
         "w2": _w(rng, k, k, 1, 1), "b2": _w(rng, k), "w3": _w(rng, k, k, 1, 1),
         "fc": _w(rng, k * (((hw - 2) // 2 + 1) // 2) ** 2, 10), "fcb": _w(rng, 10)}
    layers = [
        Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "w1", "b1"), ("c1",)),
        Layer("dw", O.Conv((3, 3), (2, 2), pads=(0, 0, 1, 1), groups=k, act=O.Clip(0.0, 6.0)),
              ("c1", "wd", "bd"), ("d1",)),
        Layer("pw", O.Conv((1, 1)), ("d1", "w2", "b2"), ("p1",)),
        Layer("pw2", O.Conv((1, 1)), ("d1", "w3"), ("p2",)),
        Layer("add", O.Add(act=O.Relu()), ("p1", "p2"), ("a1",)),
        Layer("maxpool", O.MaxPool((2, 2), (2, 2)), ("a1",), ("m1",)),
        Layer("avgpool", O.AveragePool((3, 3), (1, 1), pads=(1, 1, 1, 1)), ("m1",), ("ap",)),
        Layer("flatten", O.Flatten(1), ("ap",), ("f",)),
        Layer("fc", O.Gemm(), ("f", "fc", "fcb"), ("logits",)),
        Layer("softmax", O.Softmax(-1), ("logits",), ("prob",)),
    ]
    return Graph.build(f"conv_net_{seed}", {"x": tensor_type((1, c, hw, hw))}, ["prob"], layers, w)


def act_net(seed: int) -> Graph:
    """conv, LOGISTIC, MUL (swish), TANH, HARD_SWISH, LEAKY_RELU, ADD, CONCATENATION, PAD, MEAN, FC."""
    rng = np.random.default_rng(seed)
    c, k, hw = int(rng.integers(2, 6)), int(rng.integers(4, 12)), int(rng.integers(6, 13))
    w = {"w1": _w(rng, k, c, 3, 3), "b1": _w(rng, k), "w2": _w(rng, k, 2 * k, 3, 3),
         "fc": _w(rng, k, 5), "fcb": _w(rng, 5)}
    layers = [
        Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("x", "w1", "b1"), ("c1",)),
        Layer("sig", O.Sigmoid(), ("c1",), ("s1",)),
        Layer("swish", O.Mul(), ("c1", "s1"), ("sw",)),
        Layer("tanh", O.Tanh(), ("c1",), ("t1",)),
        Layer("hswish", O.HardSwish(), ("t1",), ("h1",)),
        Layer("leaky", O.LeakyRelu(0.1), ("sw",), ("l1",)),
        Layer("sum", O.Add(), ("l1", "h1"), ("s2",)),
        Layer("concat", O.Concat(1), ("s2", "s2"), ("cat",)),  # one scale: the writer gives each input its own
        Layer("pad", O.Pad((0, 0, 1, 1, 0, 0, 1, 1)), ("cat",), ("pd",)),
        Layer("conv2", O.Conv((3, 3), (2, 2)), ("pd", "w2"), ("c2",)),
        Layer("mean", O.ReduceMean((2, 3), False), ("c2",), ("gm",)),
        Layer("fc", O.Gemm(), ("gm", "fc", "fcb"), ("y",)),
    ]
    return Graph.build(f"act_net_{seed}", {"x": tensor_type((1, c, hw, hw))}, ["y"], layers, w)


def move_net(seed: int) -> Graph:
    """conv, RESIZE (nearest, bilinear), STRIDED_SLICE, SPLIT, TRANSPOSE, RESHAPE, SUB."""
    rng = np.random.default_rng(seed)
    c, k, hw = int(rng.integers(2, 5)), 2 * int(rng.integers(2, 6)), int(rng.integers(4, 9))
    w = {"w1": _w(rng, k, c, 3, 3), "b1": _w(rng, k)}
    layers = [
        Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "w1", "b1"), ("c1",)),
        Layer("up", O.Resize((2 * hw, 2 * hw), (2.0, 2.0), "nearest", "asymmetric", "floor"), ("c1",), ("u1",)),
        Layer("upb", O.Resize((2 * hw, 2 * hw), (2.0, 2.0), "linear", "half_pixel"), ("c1",), ("u2",)),
        Layer("sub", O.Sub(), ("u1", "u2"), ("d",)),
        Layer("slice", O.Slice((1,), (2 * hw - 1,), (2,), (1,)), ("d",), ("sl",)),
        Layer("split", O.Split(1, (k // 2, k // 2)), ("sl",), ("s1", "s2")),
        Layer("add", O.Add(), ("s1", "s2"), ("a",)),
        Layer("transpose", O.Transpose((0, 1, 3, 2)), ("a",), ("t",)),
        Layer("reshape", O.Reshape((1, (k // 2) * (2 * hw - 2) * 2 * hw)), ("t",), ("y",)),
    ]
    return Graph.build(f"move_net_{seed}", {"x": tensor_type((1, c, hw, hw))}, ["y"], layers, w)


def cat_net(seed: int) -> Graph:
    """Two conv branches of different ranges reached through views (RESHAPE; TRANSPOSE + RESHAPE), joined by a
    CONCATENATION on the flattened axis: the writer gives the views' sources the Concat's range, so the file
    needs no requantising QUANTIZE."""
    rng = np.random.default_rng(seed)
    c, k, hw = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(3, 7))
    w = {"wa": _w(rng, k, c, 3, 3), "ba": _w(rng, k), "wb": _w(rng, k, c, 1, 1, scale=1.5), "bb": _w(rng, k)}
    layers = [
        Layer("conva", O.Conv((3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "wa", "ba"), ("a",)),
        Layer("flata", O.Reshape((1, k, hw * hw)), ("a",), ("fa",)),
        Layer("convb", O.Conv((1, 1)), ("x", "wb", "bb"), ("b",)),
        Layer("tb", O.Transpose((0, 1, 3, 2)), ("b",), ("t",)),
        Layer("flatb", O.Reshape((1, k, hw * hw)), ("t",), ("fb",)),
        Layer("cat", O.Concat(axis=2), ("fa", "fb"), ("y",)),
    ]
    return Graph.build(f"cat_net_{seed}", {"x": tensor_type((1, c, hw, hw))}, ["y"], layers, w)


NETS = {"conv": conv_net, "act": act_net, "move": move_net, "cat": cat_net}
