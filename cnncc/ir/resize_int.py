"""TFLite's integer bilinear resize (``ResizeBilinearInteger``): 10-bit fixed-point source coordinates and
weights, a 20-bit product rounded half away from zero. Input and output share their quantisation."""

from __future__ import annotations

import numpy as np


def _coords(out_len: int, in_len: int, align: bool, half: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the source coordinate in 1/1024 units and the two neighbouring input indices."""
    if align and out_len > 1:
        scale = ((1 << 10) * (in_len - 1) + (out_len - 1) // 2) // (out_len - 1)
    else:
        scale = ((1 << 10) * in_len + out_len // 2) // out_len
    o = np.arange(out_len, dtype=np.int64)
    v = o * scale + (scale // 2 - (1 << 9) if half else 0)
    trunc = lambda a: np.where(a >= 0, a // 1024, -((-a) // 1024))  # noqa: E731 - C division
    lo = np.maximum(trunc(v), 0)
    hi = np.minimum(trunc(v + 1023), in_len - 1)
    return v, lo, hi


def resize_bilinear_int(x: np.ndarray, op) -> np.ndarray:
    """Bilinear resize of an integer NCHW array to ``op.size`` (IR ``Resize`` record, TFLite semantics)."""
    align = op.coord_mode == "align_corners"
    half = op.coord_mode == "half_pixel"
    oh, ow = op.size
    vy, y0, y1 = _coords(oh, x.shape[2], align, half)
    vx, x0, x1 = _coords(ow, x.shape[3], align, half)
    xi = x.astype(np.int64)
    dy = (vy - 1024 * y0)[:, None]
    dx = (vx - 1024 * x0)[None, :]
    g = lambda ys, xs: xi[:, :, ys][:, :, :, xs]  # noqa: E731
    acc = (g(y0, x0) * (1024 - dy) * (1024 - dx) + g(y1, x0) * dy * (1024 - dx)
           + g(y0, x1) * (1024 - dy) * dx + g(y1, x1) * dy * dx)
    rnd = np.where(acc > 0, 1 << 19, -(1 << 19))
    v = acc + rnd
    out = np.where(v >= 0, v >> 20, -((-v) >> 20))
    return out.astype(x.dtype)
