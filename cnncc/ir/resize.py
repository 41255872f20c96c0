"""Reference semantics of ONNX Resize on the two spatial axes (nearest and linear modes)."""

from __future__ import annotations

import numpy as np

from cnncc.errors import UnsupportedError


def source_coords(out_len: int, in_len: int, scale: float, mode: str) -> np.ndarray:
    """Input coordinate of each output index along one axis (ONNX coordinate_transformation_mode)."""
    o = np.arange(out_len, dtype=np.float64)
    if mode == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if out_len > 1 else np.zeros(out_len)
    if mode == "asymmetric":
        return o / scale
    if mode == "align_corners":
        return o * (in_len - 1) / (out_len - 1) if out_len > 1 else np.zeros(out_len)
    if mode == "half_pixel_symmetric":
        adj = out_len / (scale * in_len)
        center = in_len / 2.0 * (1 - adj)
        return center + (o + 0.5) / scale - 0.5
    raise UnsupportedError(f"Resize coordinate_transformation_mode {mode!r} is not supported")


def _nearest_index(c: np.ndarray, mode: str, in_len: int) -> np.ndarray:
    if mode == "round_prefer_floor":
        i = np.where(c - np.floor(c) == 0.5, np.floor(c), np.round(c))
    elif mode == "round_prefer_ceil":
        i = np.where(c - np.floor(c) == 0.5, np.ceil(c), np.round(c))
    elif mode == "floor":
        i = np.floor(c)
    elif mode == "ceil":
        i = np.ceil(c)
    else:
        raise UnsupportedError(f"Resize nearest_mode {mode!r} is not supported")
    return np.clip(i, 0, in_len - 1).astype(np.int64)


def resize(x: np.ndarray, op) -> np.ndarray:
    """Resize NCHW ``x`` to op.size using op.mode / op.coord_mode / op.nearest_mode / op.scales."""
    n, c, h, w = x.shape
    oh, ow = op.size
    cy = source_coords(oh, h, op.scales[0], op.coord_mode)
    cx = source_coords(ow, w, op.scales[1], op.coord_mode)
    if op.mode == "nearest":
        iy = _nearest_index(cy, op.nearest_mode, h)
        ix = _nearest_index(cx, op.nearest_mode, w)
        return x[:, :, iy][:, :, :, ix]
    if op.mode == "linear":
        def weights(coord, length):
            coord = np.clip(coord, 0, length - 1)
            i0 = np.floor(coord).astype(np.int64)
            i1 = np.minimum(i0 + 1, length - 1)
            f = coord - i0
            return i0, i1, f

        y0, y1, fy = weights(cy, h)
        x0, x1, fx = weights(cx, w)
        xf = x.astype(np.float64)
        top = xf[:, :, y0] * (1 - fy)[None, None, :, None] + xf[:, :, y1] * fy[None, None, :, None]
        out = top[:, :, :, x0] * (1 - fx) + top[:, :, :, x1] * fx
        return out.astype(x.dtype)
    raise UnsupportedError(f"Resize mode {op.mode!r} is not supported")
