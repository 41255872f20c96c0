"""The read order of weights.stream_order as it was before its block patterns were cached (one index computation
per block): the oracle of tests/ethos_u65/test_stream_order.py."""

from __future__ import annotations

import numpy as np

from cnncc.backends.ethos_u65.weights import DEPTH_FIRST, DEPTHWISE, IFM_UBLOCK, PART_KERNEL, _ru


def _block_index(o0: int, ob: int, i0: int, ib: int, y0: int, x0: int, sh: int, sw: int, traversal: str,
                 ofm_ublock: int, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Flat OHWI indices (-1: a zero) of one (OFM block, IFM block, sub-kernel) in read order."""
    o_n, kh, kw, i_n = shape
    elems = sh * sw if traversal == DEPTH_FIRST else _ru(sh * sw, 4)
    e = np.arange(elems)
    ky, kx = e // sw, e % sw
    ou = np.arange(0, ob, ofm_ublock)[:, None] + np.arange(ofm_ublock)[None, :]   # [ublock, lane] OFM offsets
    if traversal == DEPTHWISE:
        # [ofm ublock, element, lane]
        o = o0 + ou[:, None, :]
        ok = (o < o_n) & (ky < sh)[None, :, None]
        idx = ((o * kh + (y0 + ky)[None, :, None]) * kw + (x0 + kx)[None, :, None]) * i_n
        return np.where(ok, idx, -1).ravel()
    iu = np.arange(0, ib, IFM_UBLOCK)[:, None] + np.arange(IFM_UBLOCK)[None, :]    # [ublock, lane] IFM offsets
    if traversal == PART_KERNEL:   # [ifm ublock, ofm ublock, element, ofm lane, ifm lane]
        o = o0 + ou[None, :, None, :, None]
        i = i0 + iu[:, None, None, None, :]
        yy, xx = (y0 + ky)[None, None, :, None, None], (x0 + kx)[None, None, :, None, None]
        ok = (o < o_n) & (i < i_n) & (ky < sh)[None, None, :, None, None]
    else:                          # [ofm ublock, element, ifm ublock, ofm lane, ifm lane]
        o = o0 + ou[:, None, None, :, None]
        i = i0 + iu[None, None, :, None, :]
        yy, xx = (y0 + ky)[None, :, None, None, None], (x0 + kx)[None, :, None, None, None]
        ok = (o < o_n) & (i < i_n)
    idx = ((o * kh + yy) * kw + xx) * i_n + i
    return np.where(ok, idx, -1).ravel()


def stream_order(ohwi: np.ndarray, traversal: str, block_depth: int, ofm_ublock: int,
                 dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """One core's weights (OHWI, zero points removed; depthwise: [C, H, W, 1]) in the NPU's read order with Vela's
    zero padding (module doc). ``block_depth``: this core's share of the OFM block depth."""
    o_n, kh, kw, i_n = ohwi.shape
    dy, dx = 8 // dilation[0], 8 // dilation[1]
    ibd = 16 if traversal == PART_KERNEL else 32
    parts = []
    for o0 in range(0, o_n, block_depth):
        ob = min(block_depth, o_n - o0)
        for i0 in range(0, 1 if traversal == DEPTHWISE else i_n, ibd):
            ib = min(ibd, i_n - i0) if traversal == PART_KERNEL else ibd
            for y0 in range(0, kh, dy):
                for x0 in range(0, kw, dx):
                    parts.append(_block_index(o0, ob, i0, ib, y0, x0, min(kh - y0, dy), min(kw - x0, dx),
                                              traversal, ofm_ublock, ohwi.shape))
    idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    flat = np.asarray(ohwi, np.int16).ravel()
    return np.where(idx >= 0, flat[np.maximum(idx, 0)], 0).astype(np.int16)
