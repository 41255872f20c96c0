"""The trained MTCNN face-detector stages (P-, R-, O-Net; Zhang et al. 2016) from their PyTorch state dicts to ONNX.

The state dicts ship in facenet-pytorch's wheel (``facenet_pytorch/data/{pnet,rnet,onet}.pt``). The networks are
the paper's: 3×3 / 2×2 convolutions with per-channel PReLU, ceil-mode max pooling, fully connected heads and a
softmax face score. They are rebuilt here from the state-dict keys (conv<i>, prelu<i>, dense<i>; the head names
conv4_* / dense5_* / dense6_*), then exported with ``torch.onnx.export`` at the stage's input size (P-Net 12×12,
R-Net 24×24, O-Net 48×48, batch 1). R-/O-Net flatten their last map in (W, H, C) order in the original; here the
first dense layer's columns are permuted to read the plain NCHW flatten instead (the same function, no Transpose).
Needs torch (the ``test`` extra); :func:`export` raises ImportError without it.
"""

from __future__ import annotations

import io
from pathlib import Path

#: stage -> (input H = W, [(conv name, pool after it: (kernel, stride) or None)], last map H = W)
STAGES = {
    "pnet": (12, [("conv1", (2, 2)), ("conv2", None), ("conv3", None)], 1),
    "rnet": (24, [("conv1", (3, 2)), ("conv2", (3, 2)), ("conv3", None)], 3),
    "onet": (48, [("conv1", (3, 2)), ("conv2", (3, 2)), ("conv3", (2, 2)), ("conv4", None)], 3),
}


def build(stage: str, state: dict):
    """A torch ``nn.Module`` of ``stage`` with the trained weights of ``state`` (a state dict) loaded."""
    import torch
    from torch import nn

    size, convs, last = STAGES[stage]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.ModuleList()
            for name, pool in convs:
                w = state[f"{name}.weight"]
                conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]))
                conv.weight.data, conv.bias.data = w.clone(), state[f"{name}.bias"].clone()
                prelu = nn.PReLU(w.shape[0])
                prelu.weight.data = state[f"prelu{name[4:]}.weight"].clone()
                parts = [conv, prelu] + ([nn.MaxPool2d(pool[0], pool[1], ceil_mode=True)] if pool else [])
                self.body.append(nn.Sequential(*parts))
            dense = sorted({k.split(".")[0] for k in state if k.startswith("dense")})
            heads = sorted({k.split(".")[0] for k in state if k.startswith(("conv4_", "dense5_", "dense6_"))})
            trunk = [d for d in dense if d not in heads]
            self.trunk = nn.ModuleList()
            for k, name in enumerate(trunk):
                w = state[f"{name}.weight"]
                if k == 0:  # original flattens (C, W, H) after permute(0, 3, 2, 1): read NCHW's (C, H, W) instead
                    c = w.shape[1] // (last * last)
                    w = w.reshape(w.shape[0], last, last, c).permute(0, 3, 2, 1).reshape(w.shape[0], -1)
                lin = nn.Linear(w.shape[1], w.shape[0])
                lin.weight.data, lin.bias.data = w.clone(), state[f"{name}.bias"].clone()
                prelu = nn.PReLU(w.shape[0])
                prelu.weight.data = state[f"prelu{name[5:]}.weight"].clone()
                self.trunk.append(nn.Sequential(lin, prelu))
            self.heads = nn.ModuleList()
            for name in heads:
                w = state[f"{name}.weight"]
                m = nn.Conv2d(w.shape[1], w.shape[0], 1) if w.ndim == 4 else nn.Linear(w.shape[1], w.shape[0])
                m.weight.data, m.bias.data = w.clone(), state[f"{name}.bias"].clone()
                self.heads.append(m)

        def forward(self, x):
            for b in self.body:
                x = b(x)
            if len(self.trunk):
                x = torch.flatten(x, 1)
                for t in self.trunk:
                    x = t(x)
            outs = [h(x) for h in self.heads]
            outs[0] = torch.softmax(outs[0], dim=1)  # face / not-face score
            return tuple(outs)

    net = Net().eval()
    return net


def export(stage: str, pt_bytes: bytes, dst: Path) -> None:
    """Load the state dict in ``pt_bytes`` and write the stage's ONNX model (opset 13) to ``dst``."""
    import torch

    state = torch.load(io.BytesIO(pt_bytes), map_location="cpu", weights_only=True)
    net = build(stage, state)
    size = STAGES[stage][0]
    x = torch.zeros(1, 3, size, size)
    names = {"pnet": ["prob", "box"], "rnet": ["prob", "box"], "onet": ["prob", "box", "landmarks"]}[stage]
    with torch.no_grad():
        torch.onnx.export(net, (x,), str(dst), input_names=["x"], output_names=names, opset_version=13,
                          dynamo=False)
