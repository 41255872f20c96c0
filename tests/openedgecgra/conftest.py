import numpy as np
import pytest

from cnncc.backends.openedgecgra.kernels.common import ConvProblem
from cnncc.backends.openedgecgra.layer import ConvLayer


def reference_conv(x, W, bias, prob: ConvProblem, pads, groups=1):
    """Plain numpy grouped convolution on integers (independent of the CGRA code)."""
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    K = W.shape[0]
    kg, cg = K // groups, W.shape[1]
    y = np.zeros((K, prob.OY, prob.OX), np.int64)
    for k in range(K):
        g = k // kg
        for c in range(cg):
            for fy in range(prob.FY):
                for fx in range(prob.FX):
                    y0, x0 = fy * prob.DY, fx * prob.DX
                    win = xp[g * cg + c, y0:y0 + prob.SY * (prob.OY - 1) + 1:prob.SY,
                             x0:x0 + prob.SX * (prob.OX - 1) + 1:prob.SX]
                    y[k] += W[k, c, fy, fx] * win
        if bias is not None:
            y[k] += bias[k]
    return ((y + 2**31) % 2**32) - 2**31


@pytest.fixture
def make_layer():
    def make(C, K, IY, IX, F, S=1, pads=(0, 0, 0, 0), groups=1, seed=0, bias=True, wrange=8, D=1):
        rng = np.random.default_rng(seed)
        FY, FX = (F, F) if isinstance(F, int) else F
        OY = (IY + pads[0] + pads[2] - D * (FY - 1) - 1) // S + 1
        OX = (IX + pads[1] + pads[3] - D * (FX - 1) - 1) // S + 1
        prob = ConvProblem(C // groups, K // groups, IY + pads[0] + pads[2], IX + pads[1] + pads[3], OY, OX,
                           FY, FX, S, S, D, D)
        W = rng.integers(-wrange, wrange + 1, (K, C // groups, FY, FX))
        b = rng.integers(-wrange, wrange + 1, K) if bias else None
        x = rng.integers(-wrange, wrange + 1, (C, IY, IX))
        cl = ConvLayer("t", prob, groups, pads, (C, IY, IX), W, b, None, "conv", False)
        return cl, x, reference_conv(x, W, b, prob, pads, groups)
    return make
