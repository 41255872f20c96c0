"""Small torchvision-like model definitions (torchvision itself does not import beside this torch).

Widths are reduced so that export + onnxruntime + the interpreter stay fast; the layer structure (stems,
blocks, heads, the ops they export) follows the torchvision definitions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, cout, k=3, s=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.Hardswish) else act())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, stride)
        self.c2 = conv_bn(cout, cout, 3, 1, act=None)
        self.down = None if stride == 1 and cin == cout else conv_bn(cin, cout, 1, stride, act=None)

    def forward(self, x):
        sc = x if self.down is None else self.down(x)
        return F.relu(self.c2(self.c1(x)) + sc)


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.c1 = conv_bn(cin, width, 1)
        self.c2 = conv_bn(width, width, 3, stride)
        self.c3 = conv_bn(width, width * 4, 1, act=None)
        self.down = None if stride == 1 and cin == width * 4 else conv_bn(cin, width * 4, 1, stride, act=None)

    def forward(self, x):
        sc = x if self.down is None else self.down(x)
        return torch.relu(self.c3(self.c2(self.c1(x))) + sc)


class ResNet(nn.Module):
    """torchvision ResNet layout: 7x7/2 stem, 3x3/2 max pool, four stages, global pool, view, fc."""

    def __init__(self, bottleneck=False, blocks=(2, 2, 2, 2), base=8, classes=10):
        super().__init__()
        self.stem = conv_bn(3, base, 7, 2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], base
        for i, n in enumerate(blocks):
            w = base * 2 ** i
            for j in range(n):
                s = 2 if i > 0 and j == 0 else 1
                layers.append(Bottleneck(cin, w, s) if bottleneck else BasicBlock(cin, w, s))
                cin = w * 4 if bottleneck else w
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.avgpool(self.layers(self.pool(self.stem(x))))
        return self.fc(x.view(x.size(0), -1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t, act):
        super().__init__()
        hid = cin * t
        layers = [] if t == 1 else [conv_bn(cin, hid, 1, act=act)]
        layers += [conv_bn(hid, hid, 3, stride, groups=hid, act=act), conv_bn(hid, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 layout (ReLU6 -> Clip) with the last stages using hardswish (as in MobileNetV3)."""

    def __init__(self, classes=10):
        super().__init__()
        cfg = [(1, 8, 1, 1, nn.ReLU6), (6, 12, 2, 2, nn.ReLU6), (6, 16, 2, 2, nn.Hardswish),
               (6, 24, 1, 2, nn.Hardswish)]
        layers, cin = [conv_bn(3, 16, 3, 2, act=nn.ReLU6)], 16
        for t, c, n, s, act in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t, act))
                cin = c
        layers.append(conv_bn(cin, 64, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, sq, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, sq, 1)
        self.e1 = nn.Conv2d(sq, e1, 1)
        self.e3 = nn.Conv2d(sq, e3, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.e1(x)), torch.relu(self.e3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1 layout: ceil-mode max pools, Fire modules (Concat), conv classifier, view head."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 4, 8, 8), Fire(16, 4, 8, 8), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 8, 16, 16), nn.MaxPool2d(3, 2, ceil_mode=True), Fire(32, 8, 16, 16))
        self.final = nn.Conv2d(32, classes, 1)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(torch.relu(self.final(self.features(x))), (1, 1))
        return x.view(x.size(0), -1)


class UpNet(nn.Module):
    """An encoder-decoder with nearest and bilinear upsampling, ceil-mode average pools (both
    count_include_pad settings), asymmetric explicit padding (F.pad), a strided slice and a reshape head."""

    def __init__(self, classes=10):
        super().__init__()
        self.enc = conv_bn(3, 8, 3, 2)
        self.mid = conv_bn(8, 8, 3, 1)
        self.dec = nn.Conv2d(16, 8, 3, padding=1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.pool_a = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=True)
        self.pool_b = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(8 * 3 * 3, classes)

    def forward(self, x):
        e = self.enc(x)                                      # 8 x 10 x 10
        m = self.mid(F.max_pool2d(e, 2))                     # 8 x 5 x 5
        u = self.up_nearest(m)                               # 8 x 10 x 10
        b = F.interpolate(m, scale_factor=2.0, mode="bilinear", align_corners=False)
        y = torch.relu(self.dec(torch.cat([u + b, e], 1)))  # 8 x 10 x 10
        y = F.pad(y, (0, 1, 1, 0))                           # 8 x 11 x 11 (asymmetric)
        y = self.pool_a(y)                                   # 8 x 6 x 6
        y = self.pool_b(y[:, :, ::1, 0:5])                  # 8 x 3 x 3
        return self.fc(y.reshape(y.size(0), -1))


class AlignCornersNet(nn.Module):
    """Bilinear resize with align_corners=True to a fixed size."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return F.interpolate(self.c(x), size=(13, 11), mode="bilinear", align_corners=True)


MODELS = {
    "resnet18": (lambda: ResNet(False, (2, 2, 2, 2)), (1, 3, 64, 64)),
    "resnet50": (lambda: ResNet(True, (1, 1, 1, 1)), (1, 3, 64, 64)),
    "mobilenetv2": (MobileNetV2, (1, 3, 64, 64)),
    "squeezenet": (SqueezeNet, (1, 3, 63, 63)),
    "upnet": (UpNet, (1, 3, 20, 20)),
    "aligncorners": (AlignCornersNet, (1, 3, 7, 9)),
}


def instantiate(ctor, seed: int = 0, spread: float = 0.2) -> nn.Module:
    """``ctor()`` seeded, in eval mode, with BatchNorm statistics randomised (means and biases in +-spread)."""
    torch.manual_seed(seed)
    m = ctor()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-spread, spread)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-spread, spread)
    return m.eval()


def build(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """The model (eval mode, randomised BatchNorm statistics) and its example input shape."""
    ctor, shape = MODELS[name]
    return instantiate(ctor, seed), shape


def export(model: nn.Module, shape, path, opset: int, dynamic: dict | None = None) -> None:
    """TorchScript export (dynamo=False), input ``x``, output ``y``; ``dynamic``: dynamic_axes of x."""
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(*shape),), str(path), opset_version=opset, dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": dynamic, "y": {0: "N"}} if dynamic else None)
