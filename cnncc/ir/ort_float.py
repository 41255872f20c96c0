"""Float32 functions as onnxruntime's CPU provider computes them, where that differs from the exact function.

A QDQ graph means "dequantize, the float op, quantize"; for most ops the float op is exact up to float32
rounding, but onnxruntime's Sigmoid is a rational approximation (MLAS ``MlasComputeLogistic``: the polynomial
coefficients Eigen uses, evaluated with fused multiply-adds on AVX2/FMA3 CPUs; onnxruntime 1.x,
``onnxruntime/core/mlas/lib/logistic.cpp`` and ``x86_64/LogisticKernelFma3.S``). It is within ~1.7e-7 of the exact
logistic, but it is 0 below x = -18 and off by up to ~5e-8 near there: against an output scale of 1e-9 (a
Sigmoid calibrated on inputs it never saw above -15) that is tens of LSB. Both the unfused QDQ node and the
fused ``QLinearSigmoid`` lookup table use this function, so the interpreter uses it for graphs read from ONNX.
The implementation below is ours (numpy); the coefficients are the published figures.
"""

from __future__ import annotations

import numpy as np

#: clamp range of the approximation (the logistic is 0 / 1 in float32 closer than this to the tails anyway)
_RANGE = 18.0
#: odd numerator p(x) = x·(a1 + a3·x² + a5·x⁴ + a7·x⁶ + a9·x⁸), highest power first
_ALPHA = (4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05, 8.51377133304701e-03,
          2.48287947061529e-01)
#: even denominator q(x) = b0 + b2·x² + ... + b10·x¹⁰, highest power first
_BETA = (6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06, 1.70198817374094e-03,
         1.16817656904453e-01, 9.93151921023180e-01)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray | np.floating) -> np.ndarray:
    """float32 a·b + c rounded once (the product of two float32 values is exact in float64)."""
    return (a.astype(np.float64) * b.astype(np.float64) + np.float64(c)).astype(np.float32)


def _horner(x2: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    acc = np.full_like(x2, np.float32(coeffs[0]))
    for c in coeffs[1:]:
        acc = _fma(x2, acc, np.float32(c))
    return acc


def logistic(x: np.ndarray) -> np.ndarray:
    """onnxruntime's float32 Sigmoid of ``x`` (any shape): ``max(0, p(x)/q(x) + 0.5)`` on x clamped to ±18."""
    v = np.clip(np.asarray(x, np.float32), np.float32(-_RANGE), np.float32(_RANGE))
    x2 = (v * v).astype(np.float32)
    p = (v * _horner(x2, _ALPHA)).astype(np.float32)
    q = _horner(x2, _BETA)
    return np.maximum((p / q).astype(np.float32) + np.float32(0.5), np.float32(0)).astype(np.float32)
