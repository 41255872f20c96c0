"""Every mapping's kernels pass the verifier (Kernel() verifies) and are bit-exact against a numpy
convolution on shapes beyond the paper's (kernel size, stride, padding, 1x1, depthwise, grouped, dilation,
FC); the prediction from one launch per timing signature equals the full simulation."""

import numpy as np
import pytest

from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.kernels.common import NotApplicable

SHAPES = {
    "3x3": dict(C=5, K=6, IY=7, IX=8, F=3),
    "stride2_pad1": dict(C=3, K=17, IY=9, IX=9, F=3, S=2, pads=(1, 1, 1, 1)),
    "pointwise": dict(C=8, K=4, IY=5, IX=6, F=1),
    "5x5_pad2": dict(C=2, K=3, IY=6, IX=6, F=5, pads=(2, 2, 2, 2)),
    "depthwise": dict(C=4, K=4, IY=6, IX=6, F=3, groups=4, pads=(1, 1, 1, 1)),
    "grouped": dict(C=4, K=6, IY=5, IX=5, F=3, groups=2),
    "1x3_asym": dict(C=3, K=5, IY=4, IX=7, F=(1, 3), pads=(0, 1, 0, 0)),
    "dilated": dict(C=2, K=3, IY=8, IX=8, F=3, D=2),
    "fc": dict(C=37, K=10, IY=1, IX=1, F=1),
    "16x16_channels": dict(C=16, K=16, IY=6, IX=6, F=3),   # weight streams spread over banks
}


@pytest.mark.parametrize("mapping", P.MAPPINGS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_bit_exact_and_prediction(make_layer, mapping, shape):
    cl, x, ref = make_layer(**SHAPES[shape])
    try:
        plan = P.make_plan(mapping, cl, 512 * 1024, 32 * 1024)
    except NotApplicable as e:
        assert mapping == "conv-wp" and shape == "dilated", e   # WP shifts inputs along x: no x dilation
        return
    y, stats = P.run(plan, x)
    assert np.array_equal(y, ref)
    assert P.predict(plan).cycles == stats.cycles
    assert stats.launches == plan.launch_count()


def test_wraparound_is_bit_exact(make_layer):
    cl, x, ref = make_layer(C=4, K=4, IY=5, IX=5, F=3, wrange=4000, seed=3)
    x = x * 400000                                   # products overflow 32 bits
    from tests.openedgecgra.conftest import reference_conv
    ref = reference_conv(x, cl.W, cl.bias, cl.prob, cl.pads)
    for m in ("cnncc-ic4", "conv-wp", "im2col-op"):
        y, _ = P.run(P.make_plan(m, cl, 512 * 1024, 32 * 1024), x)
        assert np.array_equal(y, ref), m


def test_immediate_mappings_reject_wide_weights(make_layer):
    cl, _, _ = make_layer(C=2, K=2, IY=4, IX=4, F=3, wrange=5000, seed=1)
    with pytest.raises(NotApplicable, match="immediate"):
        P.make_plan("cnncc-ic4", cl, 512 * 1024, 32 * 1024)
    P.make_plan("im2col-op", cl, 512 * 1024, 32 * 1024)   # weights streamed from memory: fine
