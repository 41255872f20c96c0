"""Seeded random ONNX networks for the TFLite-export tests: a stem convolution, a chain of blocks drawn from
every op the exporter lowers (each block maps a [1, C, H, W] map to another), and a head.

``random_net(seed, blocks)`` builds one network with ``onnx.helper``; ``BLOCKS`` lists the block kinds and
``CPU_BLOCKS`` the ones whose lowering is a float operator Vela runs on the CPU (``CPU_CODES``).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BLOCKS = ("conv", "depthwise", "convtranspose", "bn", "lrn", "hardsigmoid", "hardswish", "sigmoid", "tanh",
          "leakyrelu", "clip", "avgpool", "maxpool", "softmax", "div_const", "div_act", "arith_const", "resize",
          "concat", "transpose", "slice", "split", "pad", "se_mean", "lrn_float", "pad_value")
HEADS = ("gemm", "mean_gemm", "matmul", "map")  # and "nhwc_matmul" (test_export_vela's own test)
#: blocks lowered to float operators between DEQUANTIZE and QUANTIZE (or PADV2): Vela runs them on the CPU
CPU_BLOCKS = ("div_act", "lrn_float", "pad_value")
CPU_CODES = {"DEQUANTIZE", "QUANTIZE", "DIV", "LOCAL_RESPONSE_NORMALIZATION", "PADV2"}


class _Net:
    def __init__(self, rng: np.random.Generator, c: int, h: int, w: int):
        self.rng = rng
        self.nodes: list = []
        self.inits: list = []
        self.n = 0
        self.x, self.shape = "input", [1, c, h, w]

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}_{self.n}"

    def const(self, a, kind: str = "c") -> str:
        nm = self.name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(a, np.float32) if np.asarray(a).dtype.kind == "f"
                                                  else np.asarray(a), nm))
        return nm

    def node(self, op: str, ins: list[str], shape: list[int] | None = None, n_out: int = 1, **attrs) -> list[str]:
        nm = self.name(op.lower())
        outs = [nm] if n_out == 1 else [f"{nm}_o{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, ins, outs, name=nm, **attrs))
        return outs

    def set(self, out: str, shape: list[int]) -> None:
        self.x, self.shape = out, list(shape)

    def conv(self, x: str, c_in: int, c_out: int, k: int = 1, stride: int = 1, pads=(0, 0, 0, 0), group: int = 1,
             dil: int = 1) -> str:
        w = self.rng.normal(0, 1 / np.sqrt(c_in // group * k * k), (c_out, c_in // group, k, k))
        b = self.rng.normal(0, 0.1, c_out)
        return self.node("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k],
                         strides=[stride, stride], pads=list(pads), group=group, dilations=[dil, dil])[0]


def _out(size: int, k: int, s: int, p0: int, p1: int, dil: int = 1, ceil: bool = False) -> int:
    span = size + p0 + p1 - (dil * (k - 1) + 1)
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= size + p0:
        o -= 1
    return o


def _block(net: _Net, kind: str) -> None:  # noqa: C901 - one branch per block kind
    r = net.rng
    _, c, h, w = net.shape
    x = net.x
    small = min(h, w) < 8
    if kind in ("conv", "depthwise"):
        k = int(r.choice([1, 3, 5])) if kind == "conv" else 3
        s = 1 if small else int(r.choice([1, 2]))
        dil = 2 if (k == 3 and s == 1 and not small and r.random() < 0.3) else 1
        p = (k // 2) * dil
        pads = (p, p, p, p) if r.random() < 0.7 else (p, 0, 0, p)  # the second is no TFLite SAME
        co = c if kind == "depthwise" else int(r.integers(4, 17))
        y = net.conv(x, c, co, k, s, pads, c if kind == "depthwise" else 1, dil)
        oh = _out(h, k, s, pads[0], pads[2], dil)
        ow = _out(w, k, s, pads[1], pads[3], dil)
        net.set(net.node("Relu", [y])[0], [1, co, oh, ow])
    elif kind == "convtranspose":  # VALID, SAME, cropped (output_padding), stride 1
        k, s, p, op = [(2, 2, 0, 0), (4, 2, 1, 0), (3, 2, 1, 1), (3, 1, 1, 0)][int(r.integers(0, 4))]
        if h * s > 48:
            k, s, p, op = 3, 1, 1, 0
        co = int(r.integers(4, 13))
        wt = r.normal(0, 1 / np.sqrt(c * k * k / s / s), (c, co, k, k))
        y = net.node("ConvTranspose", [x, net.const(wt, "w"), net.const(r.normal(0, 0.1, co), "b")],
                     kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p], output_padding=[op, op])[0]
        net.set(net.node("Relu", [y])[0], [1, co, (h - 1) * s + k + op - 2 * p, (w - 1) * s + k + op - 2 * p])
    elif kind == "bn":  # after a Relu, so fold-bn cannot fold it
        y = net.node("Relu", [x])[0]
        params = [r.uniform(0.5, 1.5, c), r.normal(0, 0.3, c), r.normal(0, 0.3, c), r.uniform(0.5, 2, c)]
        net.set(net.node("BatchNormalization", [y] + [net.const(p) for p in params], epsilon=1e-5)[0], net.shape)
    elif kind in ("lrn", "lrn_float"):
        beta = float(r.choice([0.75, 0.5, 1.0, 0.25])) if kind == "lrn" else 0.6
        size = int(r.choice([3, 5])) if kind == "lrn" else 5  # onnxruntime has odd sizes only
        net.set(net.node("LRN", [x], size=size, alpha=float(r.choice([1e-4, 0.05, 1.0])), beta=beta,
                         bias=float(r.choice([1.0, 2.0])))[0], net.shape)
    elif kind == "hardsigmoid":
        net.set(net.node("HardSigmoid", [x], alpha=float(r.choice([0.2, 1 / 6])), beta=0.5)[0], net.shape)
    elif kind in ("hardswish", "sigmoid", "tanh"):
        net.set(net.node({"hardswish": "HardSwish", "sigmoid": "Sigmoid", "tanh": "Tanh"}[kind], [x])[0],
                net.shape)
    elif kind == "leakyrelu":
        net.set(net.node("LeakyRelu", [x], alpha=float(r.choice([0.01, 0.1, 0.3])))[0], net.shape)
    elif kind == "clip":
        lo, hi = sorted(r.uniform(-1.0, 1.0, 2))
        net.set(net.node("Clip", [x, net.const(np.float32(lo)), net.const(np.float32(hi))])[0], net.shape)
    elif kind in ("avgpool", "maxpool"):
        k = int(r.choice([2, 3]))
        s = int(r.choice([1, 2]))
        p = int(r.integers(0, k // 2 + 1))
        ceil = bool(r.random() < 0.5)
        attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p], ceil_mode=int(ceil))
        if kind == "avgpool":
            attrs["count_include_pad"] = int(r.random() < 0.5)
            y = net.node("AveragePool", [x], **attrs)[0]
        else:
            y = net.node("MaxPool", [net.node("Tanh", [x])[0]], **attrs)[0]  # negative inputs too
        net.set(y, [1, c, _out(h, k, s, p, p, ceil=ceil), _out(w, k, s, p, p, ceil=ceil)])
    elif kind == "softmax":
        net.set(net.node("Softmax", [x], axis=int(r.choice([1, 2, 3, -1])))[0], net.shape)
    elif kind == "div_const":
        d = r.uniform(0.5, 2.0, (c, 1, 1)) * r.choice([-1, 1], (c, 1, 1)) if r.random() < 0.5 else \
            np.float32(r.uniform(2, 8))
        net.set(net.node("Div", [x, net.const(d)])[0], net.shape)
    elif kind == "div_act":
        den = net.node("Add", [net.node("Sigmoid", [x])[0], net.const(np.float32(1.0))])[0]
        net.set(net.node("Div", [x, den])[0], net.shape)
    elif kind == "arith_const":
        op = str(r.choice(["Mul", "Add", "Sub"]))
        shape = [(c, 1, 1), (1, c, 1, 1), (1,), (w,)][int(r.integers(0, 4))]
        net.set(net.node(op, [x, net.const(r.normal(0, 1, shape))])[0], net.shape)
    elif kind == "resize":
        mode, coord = [("nearest", "asymmetric"), ("linear", "half_pixel"), ("linear", "pytorch_half_pixel"),
                       ("nearest", "half_pixel")][int(r.integers(0, 4))]
        nearest = "floor" if coord == "asymmetric" else "round_prefer_floor"
        y = net.node("Resize", [x, "", net.const(np.array([1, 1, 2, 2], np.float32))], mode=mode,
                     coordinate_transformation_mode=coord, nearest_mode=nearest)[0]
        net.set(y, [1, c, 2 * h, 2 * w])
    elif kind == "concat":
        axis = int(r.choice([1, 2, 3]))
        co = int(r.integers(2, 9)) if axis == 1 else c
        y = net.node("Relu", [net.conv(x, c, co, 1)])[0]
        shape = list(net.shape)
        shape[axis] += co if axis == 1 else shape[axis]
        net.set(net.node("Concat", [x, y], axis=axis)[0], shape)
    elif kind == "transpose":
        net.set(net.node("Transpose", [x], perm=[0, 1, 3, 2])[0], [1, c, w, h])
    elif kind == "slice":
        if c >= 4 and r.random() < 0.5:
            a, b = sorted(r.choice(np.arange(c + 1), 2, replace=False))
            ins = [x, net.const(np.array([a])), net.const(np.array([b])), net.const(np.array([1]))]
            net.set(net.node("Slice", ins)[0], [1, int(b - a), h, w])
        else:
            ax = int(r.choice([2, 3]))
            ins = [x, net.const(np.array([1])), net.const(np.array([net.shape[ax]])), net.const(np.array([ax])),
                   net.const(np.array([2]))]
            shape = list(net.shape)
            shape[ax] = len(range(1, shape[ax], 2))
            net.set(net.node("Slice", ins)[0], shape)
    elif kind == "split":
        if c < 2:
            return
        a = int(r.integers(1, c))
        p, q = net.node("Split", [x, net.const(np.array([a, c - a]))], n_out=2, axis=1)
        net.set(net.node("Concat", [q, p], axis=1)[0], net.shape)
    elif kind in ("pad", "pad_value"):
        mode = "constant" if kind == "pad_value" else str(r.choice(["constant", "reflect", "edge"]))
        pc = int(r.integers(0, 3)) if mode == "constant" else 0
        ph, pw = int(r.integers(0, 3)), int(r.integers(1, 3))
        pads = [0, pc, ph, pw, 0, pc // 2, 1, pw]
        ins = [x, net.const(np.array(pads))]
        if kind == "pad_value":
            ins.append(net.const(np.float32(0.5)))
        net.set(net.node("Pad", ins, mode=mode)[0], [1, c + pc + pc // 2, h + ph + 1, w + 2 * pw])
    elif kind == "se_mean":
        g = net.node("ReduceMean", [x], axes=[2, 3], keepdims=1)[0]
        net.set(net.node("Mul", [x, net.node("Sigmoid", [g])[0]])[0], net.shape)
    else:
        raise ValueError(kind)


def _head(net: _Net, kind: str) -> list[int]:
    r = net.rng
    _, c, h, w = net.shape
    x = net.x
    n = int(r.integers(3, 11))
    if kind == "map":
        return net.shape
    if kind == "gemm":
        f = net.node("Flatten", [net.node("GlobalAveragePool", [x])[0]], axis=1)[0]
        g = net.node("Gemm", [f, net.const(r.normal(0, 1 / np.sqrt(c), (n, c))), net.const(r.normal(0, .1, n))],
                     transB=1)[0]
        net.set(net.node("Softmax", [g], axis=1)[0], [1, n])
    elif kind == "mean_gemm":
        m = net.node("ReduceMean", [x], axes=[2, 3], keepdims=0)[0]
        net.set(net.node("Gemm", [m, net.const(r.normal(0, 1 / np.sqrt(c), (c, n)))])[0], [1, n])
    elif kind == "nhwc_matmul":  # tf2onnx's head: to NHWC order, flatten, a constant MatMul
        t = net.node("Transpose", [x], perm=[0, 2, 3, 1])[0]
        f = net.node("Reshape", [t, net.const(np.array([1, -1], np.int64), "shape")])[0]
        k = c * h * w
        net.set(net.node("MatMul", [f, net.const(r.normal(0, 1 / np.sqrt(k), (k, n)))])[0], [1, n])
    else:  # flatten then a constant MatMul
        f = net.node("Flatten", [x], axis=1)[0]
        k = c * h * w
        net.set(net.node("MatMul", [f, net.const(r.normal(0, 1 / np.sqrt(k), (k, n)))])[0], [1, n])
    return net.shape


def random_net(seed: int, blocks: list[str], head: str, c: int = 6, h: int = 12, w: int = 10) -> onnx.ModelProto:
    """A float ONNX model (opset 17): stem Conv+Relu, ``blocks`` in order, then ``head``; seeded weights."""
    net = _Net(np.random.default_rng(seed), c, h, w)
    stem_c = int(net.rng.integers(4, 13))
    net.set(net.node("Relu", [net.conv("input", c, stem_c, 3, 1, (1, 1, 1, 1))])[0], [1, stem_c, h, w])
    for b in blocks:
        _block(net, b)
    shape = _head(net, head)
    out = helper.make_tensor_value_info(net.x, TensorProto.FLOAT, shape)
    g = helper.make_graph(net.nodes, f"rand{seed}", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                    [1, c, h, w])], [out],
                          net.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="cnncc-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def plan(seed: int, n_nets: int, per_net: int) -> list[tuple[int, list[str], str]]:
    """``n_nets`` (seed, blocks, head) triples that together use every block and head at least once."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(BLOCKS))
    out = []
    for i in range(n_nets):
        blocks = [order.pop() if order else str(rng.choice(BLOCKS)) for _ in range(per_net)]
        out.append((seed * 1000 + i, blocks, HEADS[i % len(HEADS)]))
    if order:
        raise ValueError(f"{n_nets}×{per_net} blocks cannot cover {len(BLOCKS)} kinds")
    return out
