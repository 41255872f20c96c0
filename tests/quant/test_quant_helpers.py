"""Fixed-point helpers against exact rational arithmetic, and the quantisation record of the IR."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.ir.graph import WeightTable
from cnncc.ir.quant import multipliers, quantize_multiplier, rescale, rescale64, round_away
from cnncc.ir.types import QuantParams, TensorType


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1e-6, max_value=100.0))
def test_quantize_multiplier_represents_real(real):
    m, shift = quantize_multiplier(real)
    assert 2**30 <= m < 2**31
    assert abs(Fraction(m) * Fraction(2) ** (shift - 31) - Fraction(real)) <= Fraction(real) * Fraction(1, 2**30)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-2**24, max_value=2**24), st.floats(min_value=1e-5, max_value=0.99))
def test_rescale_is_exact_product_within_one_rounding(acc, real):
    m, s = quantize_multiplier(real)
    exact = Fraction(acc) * m * Fraction(2) ** (s - 31)
    got = int(rescale(np.array([acc]), m, s)[0])
    assert abs(Fraction(got) - exact) <= Fraction(1)            # double rounding: at most one step off
    # the 16x8 variant reduces the multiplier to Q0.15 (TFLite): error within 1 + |exact|·2^-15
    assert abs(int(rescale64(np.array([acc]), m, s)[0]) - exact) <= 1 + abs(exact) / 2**15


def test_rescale_ties_like_gemmlowp():
    m, s = multipliers([0.5])  # SaturatingRoundingDoublingHighMul: ties go up (positive away, negative toward 0)
    assert rescale(np.array([3, -3, 5, -5]), m[0], s[0]).tolist() == [2, -1, 3, -2]
    m, s = multipliers([0.25])  # then RoundingDivideByPOT: ties away from zero
    assert rescale(np.array([2, -2, 6, -6]), m[0], s[0]).tolist() == [1, -1, 2, -2]
    assert round_away(np.array([2.5, -2.5, 0.4]).astype(np.float64)).tolist() == [3.0, -3.0, 0.0]


def test_quant_params_validate():
    with pytest.raises(ValueError):
        QuantParams((0.0,), (0,))
    with pytest.raises(ValueError):
        QuantParams((0.1, 0.2), (0, 0))          # several scales need an axis
    with pytest.raises(ValueError):
        TensorType((1, 2), "float32", "", QuantParams.tensor(0.1))
    assert QuantParams.channels([0.5], [3], 0).axis is None


def test_weight_table_quant_records_survive_passes():
    q = QuantParams.channels([0.1, 0.2], [0, 0], 0)
    t = WeightTable({"w": np.ones((2, 3), np.int8)}, quant={"w": q, "act": QuantParams.tensor(0.5, -3)})
    t2 = t.with_arrays({"v": np.zeros(2, np.float32)}, drop=[])
    assert t2.type_of("w").quant == q and t2.type_of("v").quant is None
    assert t2.typed("act", TensorType((1, 4), "int8")).quant.zero_point == (-3,)
    assert "w" not in t2.with_arrays({}, drop=["w"]).quant
    assert TensorType((1, 4), "int16", "", QuantParams.tensor(0.5)).itemsize == 2
