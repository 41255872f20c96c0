"""Encoded size of a layer's weights as Vela's weight encoder would produce it (an estimate, our own model).

Vela 5.2.0 compresses int8 weights losslessly (its mlw codec, a variable-length code of the weight values), so
the encoded size depends on how the values are spread. We estimate it from the zero-order entropy H (bits per
weight) of the symmetric per-channel int8 weights the TFLite exporter writes: encoded bits per weight =
min(H + ``CODE_OVERHEAD_BITS``, 8). Calibration (mobilenetv1_cifar100 pointwise layers and FC, Vela 5.2.0
``--verbose-schedule`` "Encoded Weights" minus 10 B/channel of scales): H = 7.27 → 0.927 encoded bytes per weight,
7.34–7.35 → 0.939–0.941, 7.42–7.43 → 0.955; i.e. H + 0.15–0.17 bits. Smaller or wider-spread layers end up
at ≈ 8 bits (the cap). Depthwise weights are not estimated (Vela pads them; the caller keeps 1 byte/weight).
"""

from __future__ import annotations

import numpy as np

CODE_OVERHEAD_BITS = 0.16


def entropy_bits(q: np.ndarray) -> float:
    """Zero-order entropy (bits per value) of an int8 array."""
    counts = np.bincount(q.astype(np.int16).ravel() + 128, minlength=256)
    p = counts[counts > 0] / max(int(counts.sum()), 1)
    return float(-(p * np.log2(p)).sum())


def encoded_ratio(w: np.ndarray, channel_axis: int) -> float:
    """Estimated encoded bytes per int8 weight (≤ 1.0) of float weights ``w`` quantised per channel along
    ``channel_axis``."""
    from cnncc.frontend.tflite.writer import quantize_weights

    q, _ = quantize_weights(np.asarray(w, dtype=np.float32), channel_axis)
    return min(entropy_bits(q) + CODE_OVERHEAD_BITS, 8.0) / 8.0
