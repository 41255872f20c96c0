"""Seeded small networks around one upscaling op — a Resize or a ConvTranspose — for checking cnncc's Ethos-U
costs of them against Vela 5.2.0 (tests/ethos_u65/test_resize.py; measured with ``bench/vela_fidelity.compare``).

``upscaling_network(seed)``: a 3…24 × 3…24 × 1…64 input (one net in eight with a 1-row or 1-column map), a 1×1
conv stem (so the op reads an NPU-written map), then
- even seeds: a Resize — nearest (asymmetric / floor, half_pixel, align_corners) or linear (asymmetric,
  align_corners, half_pixel) — by ×2, ×4 or ×8 (one in ten by ×3 or ×16, which Vela keeps on the CPU), optionally a
  ReLU after it;
- odd seeds: a ConvTranspose with 1…64 output channels, a 1…4 × 1…4 kernel, stride 1 or 2 per axis, no pads
  (VALID) or TFLite's SAME crop, optionally a ReLU or Sigmoid after it;
then a 1×1 conv to 8 channels.
"""

from __future__ import annotations

import numpy as np

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O

NEAREST = (("asymmetric", "floor"), ("half_pixel", "round_prefer_floor"), ("align_corners", "round_prefer_ceil"))
LINEAR = ("asymmetric", "align_corners", "half_pixel")


def _conv1x1(name: str, x: str, cin: int, cout: int, rng, w: dict) -> Layer:
    w[name + "_w"] = (rng.integers(-127, 128, (cout, cin, 1, 1)) / 256).astype(np.float32)
    w[name + "_b"] = rng.normal(0, 0.1, (cout,)).astype(np.float32)
    return Layer(name, O.Conv(kernel=(1, 1), act=O.Relu()), (x, name + "_w", name + "_b"), (name + "_y",))


def upscaling_network(seed: int) -> Graph:
    """The seeded network (see module doc)."""
    rng = np.random.default_rng(1000 + seed)
    h, wd, c = int(rng.integers(3, 25)), int(rng.integers(3, 25)), int(rng.integers(1, 65))
    if rng.random() < 0.125:
        h, wd = (1, wd) if rng.random() < 0.5 else (h, 1)
    w: dict[str, np.ndarray] = {}
    layers = [_conv1x1("stem", "x", 3, c, rng, w)]
    x = "stem_y"
    if seed % 2 == 0:
        f = int(rng.choice([2, 4, 8])) if rng.random() >= 0.1 else int(rng.choice([3, 16]))
        if rng.random() < 0.6:
            mode = "nearest"
            coord, rnd = NEAREST[int(rng.integers(len(NEAREST)))]
        else:
            mode, coord, rnd = "linear", LINEAR[int(rng.integers(len(LINEAR)))], "round_prefer_floor"
        size = tuple(1 if n == 1 else ((n - 1) * f + 1 if coord == "align_corners" else n * f) for n in (h, wd))
        scales = tuple(s / n for s, n in zip(size, (h, wd)))
        layers.append(Layer("up", O.Resize(size=size, scales=scales, mode=mode, coord_mode=coord, nearest_mode=rnd),
                            (x,), ("up_y",)))
        k = c
        if rng.random() < 0.3:
            layers.append(Layer("act", O.Relu(), ("up_y",), ("act_y",)))
    else:
        k = int(rng.integers(1, 65))
        kernel = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        if rng.random() < 0.7:
            stride = (stride[0], stride[0])
        pads = (0, 0, 0, 0)
        if rng.random() < 0.4:  # TFLite's SAME crop: output = input × stride
            full = [(n - 1) * s + kk for n, s, kk in zip((h, wd), stride, kernel)]
            tot = [f - n * s for f, n, s in zip(full, (h, wd), stride)]
            if min(tot) >= 0:
                pads = (tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
        w["up_w"] = (rng.integers(-127, 128, (c, k) + kernel) / 256).astype(np.float32)
        w["up_b"] = rng.normal(0, 0.1, (k,)).astype(np.float32)
        layers.append(Layer("up", O.ConvTranspose(kernel=kernel, strides=stride, pads=pads), (x, "up_w", "up_b"),
                            ("up_y",)))
        r = rng.random()
        if r < 0.4:
            layers.append(Layer("act", O.Relu() if r < 0.2 else O.Sigmoid(), ("up_y",), ("act_y",)))
    last = layers[-1].outputs[0]
    layers.append(_conv1x1("head", last, k, 8, rng, w))
    return Graph.build(f"up{seed}", {"x": tensor_type((1, 3, h, wd))}, ["head_y"], layers, weights=w)
