"""Write the sample models (seeded random weights) into samples/models/.

    python samples/make_samples.py [OUT_DIR]      (what `make samples` runs)

Models: MobileNetV1 and ResNet50 for CIFAR-100 (32×32 input, 100 classes: the networks the ABConv paper
used), a MobileNetV2 at 224×224, a small residual net with Concat, and the OpenEdgeCGRA paper's baseline layer
(16×16×16 input, 3×3, 16 output channels, no padding). Generation is deterministic (fixed seeds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MODELS = ("mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224", "small_residual_concat",
          "cgra_baseline")


class Builder:
    """A tiny ONNX graph builder with He-initialised, seeded weights and BatchNorm statistics that keep
    activations O(1) through deep stacks."""

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int = 0):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.input = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))
        self.shapes = {"input": tuple(input_shape)}
        self.count: dict[str, int] = {}

    def _name(self, base: str) -> str:
        self.count[base] = self.count.get(base, 0) + 1
        return f"{base}{self.count[base]}"

    def _init(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(self, x: str, k: int, kernel: int = 3, stride: int = 1, pad: int | None = None, groups: int = 1,
             bias: bool = False, bn: bool = True, act: str | None = "relu", name: str | None = None) -> str:
        n, c, h, w = self.shapes[x]
        pad = kernel // 2 if pad is None else pad
        name = name or self._name("conv")
        fan_in = c // groups * kernel * kernel
        wt = self.rng.standard_normal((k, c // groups, kernel, kernel)) * np.sqrt(2.0 / fan_in)
        ins = [x, self._init(f"{name}.weight", wt)]
        if bias:
            ins.append(self._init(f"{name}.bias", self.rng.standard_normal(k) * 0.1))
        out = f"{name}_out"
        self.nodes.append(helper.make_node("Conv", ins, [out], name=name, kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad] * 4, group=groups))
        oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
        self.shapes[out] = (n, k, oh, ow)
        if bn:
            out = self.bn(out, name + "_bn")
        if act:
            out = self.act(out, act, name + "_" + act)
        return out

    def bn(self, x: str, name: str) -> str:
        c = self.shapes[x][1]
        r = self.rng
        params = [self._init(f"{name}.{p}", v) for p, v in (
            ("scale", 0.5 + 0.5 * r.random(c)), ("bias", 0.1 * r.standard_normal(c)),
            ("mean", 0.1 * r.standard_normal(c)), ("var", 0.5 + r.random(c)))]
        out = f"{name}_out"
        self.nodes.append(helper.make_node("BatchNormalization", [x] + params, [out], name=name, epsilon=1e-5))
        self.shapes[out] = self.shapes[x]
        return out

    def act(self, x: str, kind: str, name: str) -> str:
        out = f"{name}_out"
        if kind == "relu":
            self.nodes.append(helper.make_node("Relu", [x], [out], name=name))
        elif kind == "relu6":
            lo = self._init(f"{name}.min", np.array(0.0))
            hi = self._init(f"{name}.max", np.array(6.0))
            self.nodes.append(helper.make_node("Clip", [x, lo, hi], [out], name=name))
        else:
            raise ValueError(kind)
        self.shapes[out] = self.shapes[x]
        return out

    def add(self, a: str, b: str, name: str | None = None) -> str:
        name = name or self._name("add")
        out = f"{name}_out"
        self.nodes.append(helper.make_node("Add", [a, b], [out], name=name))
        self.shapes[out] = self.shapes[a]
        return out

    def concat(self, xs: list[str], name: str | None = None) -> str:
        name = name or self._name("concat")
        out = f"{name}_out"
        self.nodes.append(helper.make_node("Concat", xs, [out], name=name, axis=1))
        n, _, h, w = self.shapes[xs[0]]
        self.shapes[out] = (n, sum(self.shapes[x][1] for x in xs), h, w)
        return out

    def maxpool(self, x: str, kernel: int = 2, stride: int = 2, name: str | None = None) -> str:
        name = name or self._name("maxpool")
        out = f"{name}_out"
        self.nodes.append(helper.make_node("MaxPool", [x], [out], name=name, kernel_shape=[kernel, kernel],
                                           strides=[stride, stride]))
        n, c, h, w = self.shapes[x]
        self.shapes[out] = (n, c, (h - kernel) // stride + 1, (w - kernel) // stride + 1)
        return out

    def head(self, x: str, classes: int) -> str:
        """GlobalAveragePool -> Flatten -> Gemm (fully connected) -> logits."""
        n, c, _, _ = self.shapes[x]
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool_out"], name="avgpool"))
        self.nodes.append(helper.make_node("Flatten", ["pool_out"], ["flat_out"], name="flatten", axis=1))
        w = self._init("fc.weight", self.rng.standard_normal((classes, c)) * np.sqrt(1.0 / c))
        b = self._init("fc.bias", 0.01 * self.rng.standard_normal(classes))
        self.nodes.append(helper.make_node("Gemm", ["flat_out", w, b], ["logits"], name="fc", transB=1))
        self.shapes["logits"] = (n, classes)
        return "logits"

    def model(self, output: str) -> onnx.ModelProto:
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, list(self.shapes[output]))
        g = helper.make_graph(self.nodes, self.name, [self.input], [out], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="cnncc-samples")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def mobilenetv1_cifar100() -> onnx.ModelProto:
    b = Builder("mobilenetv1_cifar100", (1, 3, 32, 32), seed=1)
    x = b.conv("input", 32, 3, 1)
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (k, s) in enumerate(cfg, 1):
        c = b.shapes[x][1]
        x = b.conv(x, c, 3, s, groups=c, name=f"dw{i}")
        x = b.conv(x, k, 1, 1, name=f"pw{i}")
    return b.model(b.head(x, 100))


def resnet50_cifar100() -> onnx.ModelProto:
    b = Builder("resnet50_cifar100", (1, 3, 32, 32), seed=2)
    x = b.conv("input", 64, 3, 1, name="stem")
    for si, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], 1):
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            p = f"layer{si}.{bi}"
            y = b.conv(x, width, 1, 1, name=f"{p}.conv1")
            y = b.conv(y, width, 3, s, name=f"{p}.conv2")
            y = b.conv(y, width * 4, 1, 1, act=None, name=f"{p}.conv3")
            sc = x if bi > 0 else b.conv(x, width * 4, 1, s, act=None, name=f"{p}.downsample")
            x = b.act(b.add(y, sc, name=f"{p}.add"), "relu", f"{p}.relu")
    return b.model(b.head(x, 100))


def mobilenetv2_224() -> onnx.ModelProto:
    b = Builder("mobilenetv2_224", (1, 3, 224, 224), seed=3)
    x = b.conv("input", 32, 3, 2, act="relu6", name="stem")
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1)]
    n = 0
    for t, c, reps, s in cfg:
        for r in range(reps):
            n += 1
            cin = b.shapes[x][1]
            stride = s if r == 0 else 1
            y = x
            if t != 1:
                y = b.conv(y, cin * t, 1, 1, act="relu6", name=f"block{n}.expand")
            y = b.conv(y, b.shapes[y][1], 3, stride, groups=b.shapes[y][1], act="relu6", name=f"block{n}.dw")
            y = b.conv(y, c, 1, 1, act=None, name=f"block{n}.project")
            x = b.add(x, y, name=f"block{n}.add") if stride == 1 and cin == c else y
    x = b.conv(x, 1280, 1, 1, act="relu6", name="last")
    return b.model(b.head(x, 1000))


def small_residual_concat() -> onnx.ModelProto:
    b = Builder("small_residual_concat", (1, 3, 32, 32), seed=4)
    x = b.conv("input", 16, 3, 1, name="stem")
    l = b.conv(x, 8, 1, 1, name="branch_a")
    r = b.conv(x, 8, 3, 1, name="branch_b")
    y = b.concat([l, r], name="concat")
    y = b.conv(y, 16, 3, 1, act=None, name="fuse")
    x = b.act(b.add(x, y, name="residual"), "relu", "residual_relu")
    x = b.maxpool(x, 2, 2, name="maxpool")
    x = b.conv(x, 32, 3, 2, name="down")
    return b.model(b.head(x, 10))


def cgra_baseline() -> onnx.ModelProto:
    """The OpenEdgeCGRA paper's baseline layer: 16×16×16 input, 3×3 kernel, 16 outputs, no padding."""
    b = Builder("cgra_baseline", (1, 16, 16, 16), seed=5)
    y = b.conv("input", 16, 3, 1, pad=0, bn=False, act=None, name="conv")
    return b.model(y)


def write_all(out_dir: Path, names=MODELS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = out_dir / f"{name}.onnx"
        model = globals()[name]()
        tmp = path.with_suffix(".onnx.tmp")
        onnx.save(model, tmp)
        tmp.replace(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "models"
    for p in write_all(out):
        print(f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB)")
