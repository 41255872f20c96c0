"""Held-out style torch networks for the TFLite-export tests: the ops of real models that used to block the
export (Hardsigmoid, padded AvgPool2d, Softmax over channels, BatchNorm without a conv
before it, division by constants, mean without keepdim, BlazeFace's channel padding, ceil-mode pools)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AlexStyle(nn.Module):
    """conv, ceil-mode max pools after ReLU and after tanh (AlexNet / GoogLeNet v1 / SqueezeNet 1.0 stems;
    torch writes LocalResponseNorm as Pow / 5-D AveragePool / Div, so it is not part of this net)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 5, 2, 2)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.c2 = nn.Conv2d(16, 12, 3, 1, 1)
        self.pool2 = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)

    def forward(self, x):
        return self.pool2(torch.tanh(self.c2(self.pool(F.relu(self.c1(x))))))


class HardAct(nn.Module):
    """Hardsigmoid gate (MobileNetV3 squeeze-excite) and Hardswish."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.fc2 = nn.Conv2d(4, 16, 1)

    def forward(self, x):
        y = F.hardswish(self.c1(x))
        g = F.hardsigmoid(self.fc2(F.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
        return y * g


class PaddedPools(nn.Module):
    """AvgPool2d with padding (count_include_pad True and False) and a ceil-mode average pool."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.p1 = nn.AvgPool2d(3, 2, padding=1)
        self.p2 = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.p3 = nn.AvgPool2d(2, 2, ceil_mode=True)

    def forward(self, x):
        return self.p3(self.p2(self.p1(torch.tanh(self.c1(x)))))


class ChannelSoftmax(nn.Module):
    """Softmax over channels of a 4-D map, and over the width."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, 1, 1)

    def forward(self, x):
        y = self.c1(x)
        return torch.softmax(y, dim=1) + torch.softmax(y, dim=3)


class LooseBatchNorm(nn.Module):
    """BatchNorm after a ReLU (no conv to fold into), division by a constant, mean without keepdim, Linear."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 10, 3, 2, 1)
        self.bn = nn.BatchNorm2d(10)
        self.fc = nn.Linear(10, 5)

    def forward(self, x):
        y = self.bn(F.relu(self.c1(x))) / 3.0
        return self.fc(y.mean(dim=(2, 3), keepdim=False))


class BlazeStyle(nn.Module):
    """BlazeFace's blaze block: a strided depthwise branch added to a max-pooled, channel-padded shortcut."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.dw = nn.Conv2d(8, 8, 3, 2, 1, groups=8)
        self.pw = nn.Conv2d(8, 12, 1)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = self.pw(self.dw(x))
        sc = F.pad(self.pool(x), (0, 0, 0, 0, 0, 4), "constant", 0)  # channel padding
        return F.relu(y + sc)


MODELS = {"alexstyle": (AlexStyle, (1, 3, 31, 31)), "hardact": (HardAct, (1, 3, 16, 16)),
          "paddedpools": (PaddedPools, (1, 3, 15, 15)), "channelsoftmax": (ChannelSoftmax, (1, 3, 8, 10)),
          "loosebn": (LooseBatchNorm, (1, 3, 16, 16)), "blazestyle": (BlazeStyle, (1, 3, 16, 16))}


def build(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """The model (eval mode; BatchNorm statistics randomised) and its input shape."""
    from tests.frontend.torch_nets import instantiate

    ctor, shape = MODELS[name]
    return instantiate(ctor, seed, spread=0.3), shape
