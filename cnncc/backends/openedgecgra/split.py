"""Splitting a layer that does not fit the SRAM: by output channels (or groups) and by output rows.

Each part is an independent ConvLayer on a slice of the padded input (which the CPU copies out: counted as
host copy work); parts run one after another and their outputs are disjoint."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnncc.backends.openedgecgra.kernels.common import ConvProblem
from cnncc.backends.openedgecgra.layer import ConvLayer


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    step = -(-n // parts)
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def split(cl: ConvLayer, nk: int, ny: int) -> list[tuple[ConvLayer, tuple]]:
    """Parts of ``cl``: nk slices of output channels (of groups when grouped) x ny slices of output rows.
    Each entry is (part, (k0, k1, y0, y1, c0, c1, iy0)) in original coordinates (padded input rows)."""
    p, G = cl.prob, cl.groups
    out = []
    units = G if G > 1 else cl.K
    for u0, u1 in _chunks(units, nk):
        if G > 1:
            g0, g1, k0, k1, c0, c1 = u0, u1, u0 * p.K, u1 * p.K, u0 * p.C, u1 * p.C
            groups, kp = g1 - g0, p.K
        else:
            k0, k1, c0, c1, groups, kp = u0, u1, 0, p.C, 1, u1 - u0
        for y0, y1 in _chunks(p.OY, ny):
            iy0 = y0 * p.SY
            iy = (y1 - 1 - y0) * p.SY + (p.FY - 1) * p.DY + 1
            prob = ConvProblem(p.C, kp, iy, p.IX, y1 - y0, p.OX, p.FY, p.FX, p.SY, p.SX, p.DY, p.DX)
            part = replace(cl, prob=prob, groups=groups, pads=(0, 0, 0, 0), in_shape=(c1 - c0, iy, p.IX),
                           W=cl.W[k0:k1], bias=None if cl.bias is None else cl.bias[k0:k1])
            out.append((part, (k0, k1, y0, y1, c0, c1, iy0)))
    return out


def options(cl: ConvLayer):
    """(nk, ny) splits to try, smallest first."""
    units = cl.groups if cl.groups > 1 else cl.K
    ks = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= units]
    ys = [n for n in (1, 2, 4, 8, 16) if n <= cl.prob.OY]
    return sorted(((k, y) for k in ks for y in ys if k * y > 1), key=lambda t: (t[0] * t[1], t[1]))


def padded_input(cl: ConvLayer, x: np.ndarray) -> np.ndarray:
    t, lft, b, r = cl.pads
    return np.pad(x, ((0, 0), (t, b), (lft, r)))
