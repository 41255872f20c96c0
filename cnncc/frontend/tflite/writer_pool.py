"""Pooling and padding emitters of the TFLite exporter (NHWC int8).

TFLite pools know only SAME (the window skips what lies outside) and VALID. Any other ONNX padding (explicit
pads, ``ceil_mode``'s overhang, ``count_include_pad``) is written as an explicit pad and a VALID pool:

* MaxPool: MIRROR_PAD SYMMETRIC when every mirrored value lies inside the window it lands in (then it cannot
  change the maximum), else a zero PAD when the input cannot be negative (a ReLU-family producer), else edge
  replication (width-1 SYMMETRIC steps; exact, as every window holds the edge value);
* AveragePool: zero PAD, VALID AVERAGE_POOL (divides by kh·kw), then MUL by a constant (1, OH, OW, 1) map
  kh·kw / count where the ONNX divisor (count) differs.

ONNX Pad: constant 0 -> PAD (begin/end pairs permuted NCHW -> NHWC), constant v -> PADV2, reflect ->
MIRROR_PAD REFLECT, edge -> one MIRROR_PAD SYMMETRIC of width ≤ 1 per step; negative pads crop with SLICE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite import writer_lower
from cnncc.frontend.tflite.writer import _NCHW_TO_NHWC, same_pads
from cnncc.ir import ops as O

if TYPE_CHECKING:
    from cnncc.frontend.tflite.writer import _Exporter
    from cnncc.ir.graph import Layer

_PAD = {"SAME": 0, "VALID": 1}
_NONNEG_ACTS = (O.Relu, O.Sigmoid, O.HardSigmoid)


def effective_pads(op, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) including ceil_mode's overhang at the bottom/right."""
    t, left, b, r = op.pads
    if not op.ceil_mode:
        return t, left, b, r
    oy, ox = op.out_hw(h, w)
    eh = max(0, (oy - 1) * op.strides[0] + op.kernel[0] - h - t - b)
    ew = max(0, (ox - 1) * op.strides[1] + op.kernel[1] - w - left - r)
    return t, left, b + eh, r + ew


def _is_same(ex: _Exporter, layer: Layer, op, pads) -> bool:
    _, _, h, w = ex.g.type_of(layer.inputs[0]).shape
    dil = getattr(op, "dilations", (1, 1))
    oy, t, b = same_pads(h, op.kernel[0], op.strides[0], dil[0])
    ox, lft, r = same_pads(w, op.kernel[1], op.strides[1], dil[1])
    _, _, ty, tx = ex.g.type_of(layer.outputs[0]).shape
    return (t, lft, b, r) == tuple(pads) and (oy, ox) == (ty, tx)


def conv_padding(ex: _Exporter, layer: Layer, x_idx: int, op) -> tuple[int, str]:
    """TFLite padding for a convolution: SAME or VALID when they match, else an explicit zero PAD then VALID."""
    if not any(op.pads):
        return x_idx, "VALID"
    if _is_same(ex, layer, op, op.pads):
        return x_idx, "SAME"
    return _explicit_pad(ex, layer, x_idx, op.pads, "PAD"), "VALID"


def _explicit_pad(ex: _Exporter, layer: Layer, x_idx: int, pads, code: str) -> int:
    _, c, h, w = ex.g.type_of(layer.inputs[0]).shape
    t, lft, b, r = pads
    pt = ex.mb.tensor(f"{layer.name}/pads", (4, 2), "int32", np.array([[0, 0], [t, b], [lft, r], [0, 0]]))
    mid = ex.like(f"{layer.name}/pad", (1, h + t + b, w + lft + r, c), x_idx)
    if code == "PAD":
        ex.mb.op("PAD", [x_idx, pt], [mid])
    else:
        ex.mb.op("MIRROR_PAD", [x_idx, pt], [mid], ("MirrorPadOptions", {"Mode": 1}))
    return mid


def _edge_pad(ex: _Exporter, layer: Layer, x_idx: int, pads) -> int:
    """Edge replication (exact for a max pool: every window holds the edge value it would repeat) as
    MIRROR_PAD SYMMETRIC steps of width ≤ 1."""
    left = list(pads)
    step = 0
    while any(left):
        one = [min(1, v) for v in left]
        t, lft, b, r = one
        _, h, w, c = ex.mb.tensors[x_idx].shape
        pt = ex.mb.tensor(f"{layer.name}/edge{step}/pads", (4, 2), "int32",
                          np.array([[0, 0], [t, b], [lft, r], [0, 0]]))
        nxt = ex.like(f"{layer.name}/edge{step}", (1, h + t + b, w + lft + r, c), x_idx)
        ex.mb.op("MIRROR_PAD", [x_idx, pt], [nxt], ("MirrorPadOptions", {"Mode": 1}))
        x_idx, left, step = nxt, [v - o for v, o in zip(left, one)], step + 1
    return x_idx


def _mirror_exact(n: int, before: int, after: int, k: int, s: int, out: int) -> bool:
    """Whether SYMMETRIC mirror padding of one axis only repeats values already inside each window."""
    if before > n or after > n:
        return False
    for i in range(out):
        taps = range(i * s - before, i * s - before + k)
        real = [j for j in taps if 0 <= j < n]
        if not real:
            return False
        for j in taps:
            m = -1 - j if j < 0 else (2 * n - 1 - j if j >= n else j)
            if not real[0] <= m <= real[-1]:
                return False
    return True


def _non_negative(ex: _Exporter, name: str) -> bool:
    prod = ex.g.producer(name)
    if prod is None:
        return False
    act = prod.op if isinstance(prod.op, O.Activation) else getattr(prod.op, "act", None)
    return isinstance(act, _NONNEG_ACTS) or (isinstance(act, O.Clip) and act.lo >= 0)


def pool(ex: _Exporter, layer: Layer) -> None:
    op = layer.op
    assert isinstance(op, (O.MaxPool, O.AveragePool))
    if op.dilations != (1, 1):
        raise UnsupportedError.op(layer.kind, layer.name, "tflite export (dilated pooling)")
    _, _, h, w = ex.g.type_of(layer.inputs[0]).shape
    _, _, oy, ox = ex.g.type_of(layer.outputs[0]).shape
    pads = effective_pads(op, h, w)
    x = ex.tmap[layer.inputs[0]]
    is_max = isinstance(op, O.MaxPool)
    correction = None
    if not any(pads):
        pad = "VALID"
    elif (isinstance(op, O.MaxPool) or not op.count_include_pad) and _is_same(ex, layer, op, pads) \
            and not op.ceil_mode:
        pad = "SAME"
    elif isinstance(op, O.MaxPool):
        t, lft, b, r = pads
        if _mirror_exact(h, t, b, op.kernel[0], op.strides[0], oy) and \
                _mirror_exact(w, lft, r, op.kernel[1], op.strides[1], ox):
            x = _explicit_pad(ex, layer, x, pads, "MIRROR_PAD")
        elif _non_negative(ex, layer.inputs[0]):
            x = _explicit_pad(ex, layer, x, pads, "PAD")
        else:
            x = _edge_pad(ex, layer, x, pads)
        pad = "VALID"
    else:
        x = _explicit_pad(ex, layer, x, pads, "PAD")
        pad = "VALID"
        correction = _avg_correction(op, h, w, oy, ox)
    code = "MAX_POOL_2D" if is_max else "AVERAGE_POOL_2D"
    opts = ("Pool2DOptions", {"Padding": _PAD[pad], "StrideW": op.strides[1], "StrideH": op.strides[0],
                              "FilterWidth": op.kernel[1], "FilterHeight": op.kernel[0]})
    if correction is None:
        out = ex.out_tensor(layer)
        ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))  # TFLite pools keep the input quantisation
        ex.mb.op(code, [x], [out], opts)
        return
    mid = ex.like(f"{layer.name}/sum", ex.shape_of(layer.outputs[0]), x)
    ex.mb.op(code, [x], [mid], opts)
    k = ex.const_i8(f"{layer.name}/divisor_fix", correction.reshape(1, oy, ox, 1))
    ex.mb.op("MUL", [mid, k], [ex.out_tensor(layer)], ("MulOptions", {"FusedActivationFunction": 0}))


def _avg_correction(op: O.AveragePool, h: int, w: int, oy: int, ox: int) -> np.ndarray | None:
    """kh·kw / (the ONNX divisor) per output position, or None when it is 1 everywhere."""
    t, lft, b, r = op.pads

    def counts(out, k, s, before, n, after):
        pos = np.arange(out)[:, None] * s + np.arange(k)[None, :] - before  # input index of each tap
        hi = n + after if op.count_include_pad else n
        lo = -before if op.count_include_pad else 0
        return ((pos >= lo) & (pos < hi)).sum(axis=1)

    cy = counts(oy, op.kernel[0], op.strides[0], t, h, b)
    cx = counts(ox, op.kernel[1], op.strides[1], lft, w, r)
    cnt = np.outer(cy, cx).astype(np.float64)
    fix = op.kernel[0] * op.kernel[1] / np.maximum(cnt, 1)
    return None if np.allclose(fix, 1.0) else fix


def pad(ex: _Exporter, layer: Layer) -> None:
    """ONNX Pad (see the module docstring)."""
    op = layer.op
    assert isinstance(op, O.Pad)
    r = len(op.pads) // 2
    if r > 4:
        raise UnsupportedError.op("Pad", layer.name, "tflite export (rank above 4)")
    pairs = [[op.pads[i], op.pads[i + r]] for i in range(r)]
    if r == 4:
        pairs = [pairs[a] for a in _NCHW_TO_NHWC]  # stored axis i is IR axis _NCHW_TO_NHWC[i]
    x = ex.tmap[layer.inputs[0]]
    shape = list(ex.mb.tensors[x].shape)
    if any(v < 0 for p in pairs for v in p):
        begin = [max(0, -p[0]) for p in pairs]
        size = [d - max(0, -p[0]) - max(0, -p[1]) for d, p in zip(shape, pairs)]
        crop = ex.like(f"{layer.name}/crop", size, x)
        ex.mb.op("SLICE", [x, ex.mb.tensor(f"{layer.name}/crop_begin", (r,), "int32", np.array(begin)),
                           ex.mb.tensor(f"{layer.name}/crop_size", (r,), "int32", np.array(size))], [crop],
                 ("SliceOptions", {}))
        x, shape, pairs = crop, size, [[max(0, v) for v in p] for p in pairs]
    if op.mode == "constant" and op.value != 0:
        x = writer_lower.widen(ex, layer, x, [op.value])  # PADV2 writes the value in the input's quantisation
    steps: list[tuple[str, list[list[int]]]]
    if op.mode == "constant":
        steps = [("PAD" if op.value == 0 else "PADV2", pairs)]
    elif op.mode == "reflect":
        steps = [("REFLECT", pairs)]
    elif op.mode == "edge":
        steps, left = [], [list(p) for p in pairs]
        while any(v for p in left for v in p):
            one = [[min(1, p[0]), min(1, p[1])] for p in left]
            steps.append(("SYMMETRIC", one))
            left = [[p[0] - o[0], p[1] - o[1]] for p, o in zip(left, one)]
    else:
        raise UnsupportedError.op("Pad", layer.name, f"tflite export (mode {op.mode})")
    if not steps:
        steps = [("PAD", pairs)]
    for i, (kind, pp) in enumerate(steps):
        shape = [d + p[0] + p[1] for d, p in zip(shape, pp)]
        last = i == len(steps) - 1
        out = ex.out_tensor(layer) if last else ex.like(f"{layer.name}/step{i}", shape, x)
        ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
        pt = ex.mb.tensor(f"{layer.name}/pads{i}" if i else f"{layer.name}/pads", (r, 2), "int32", np.array(pp))
        if kind == "PAD":
            ex.mb.op("PAD", [x, pt], [out])
        elif kind == "PADV2":
            s, z = ex.mb.scale_of(x), ex.mb.zp_of(x)
            v = ex.mb.tensor(f"{layer.name}/value", (1,), "int8", np.array([np.clip(round(op.value / s) + z,
                                                                                     -128, 127)]),
                             scales=[s], zps=[z])
            ex.mb.op("PADV2", [x, pt, v], [out])
        else:
            ex.mb.op("MIRROR_PAD", [x, pt], [out], ("MirrorPadOptions", {"Mode": 0 if kind == "REFLECT" else 1}))
        x = out
