"""Encoded size of a layer's weights as Vela's weight encoder would produce it (an estimate, our own model).

Vela 5.2.0 compresses int8 weights losslessly (its mlw codec, a variable-length code of the weight values), so
the encoded size depends on how the values are spread. We estimate it from the zero-order entropy H (bits per
weight) of the symmetric per-channel int8 weights the TFLite exporter writes: encoded bits per weight =
min(H + ``CODE_OVERHEAD_BITS``, 8). Calibration (mobilenetv1_cifar100 pointwise layers and FC, Vela 5.2.0
``--verbose-schedule`` "Encoded Weights" minus 10 B/channel of scales): H = 7.27 → 0.927 encoded bytes per weight,
7.34–7.35 → 0.939–0.941, 7.42–7.43 → 0.955; i.e. H + 0.15–0.17 bits. Smaller or wider-spread layers end up
at ≈ 8 bits (the cap).

Vela's encoder reorders the weights into the order the NPU reads them and pads that order with zero weights
(:func:`padded_weights`): OFM channels to the OFM micro-block depth, IFM channels to 32 (depth-first traversal) or
8 (part-kernel), kernel elements to 4 (part-kernel and depthwise). Padding costs ``PAD_BYTES`` per padded weight
(measured with Vela 5.2.0's own ``mlw_codec.reorder_encode`` over convolutions, depthwise and FC shapes of
seeded random weights: 1×1 48->8, 3×3 8->48 / 32->12 / 32->16 part-kernel, FC 500->96 and 512->101 agree within 1 %;
IFM depth 3 (×3.6 padding) comes out 20 % high, and a few OFM depths not a multiple of 8 (99, 100) 10 % low).
"""

from __future__ import annotations

import numpy as np

CODE_OVERHEAD_BITS = 0.16
PAD_BYTES = 0.5


def entropy_bits(q: np.ndarray) -> float:
    """Zero-order entropy (bits per value) of an int8 array."""
    counts = np.bincount(q.astype(np.int16).ravel() + 128, minlength=256)
    p = counts[counts > 0] / max(int(counts.sum()), 1)
    return float(-(p * np.log2(p)).sum())


def encoded_ratio(w: np.ndarray, channel_axis: int) -> float:
    """Estimated encoded bytes per int8 weight (≤ 1.0): of a quantised model's own integer weights as they are,
    or of float weights ``w`` quantised per channel along ``channel_axis`` (as cnncc's TFLite exporter does)."""
    a = np.asarray(w)
    if np.issubdtype(a.dtype, np.integer):  # the model's own integer weights (the entropy ignores zero points)
        if not a.size:
            return 1.0
        counts = np.bincount((a.astype(np.int64) - int(a.min())).ravel())
        p = counts[counts > 0] / a.size
        return min(float(-(p * np.log2(p)).sum()) + CODE_OVERHEAD_BITS, 8.0) / 8.0
    from cnncc.ir.quant import quantize_weights

    q, _ = quantize_weights(a.astype(np.float32), channel_axis)
    return min(entropy_bits(q) + CODE_OVERHEAD_BITS, 8.0) / 8.0


def _ru(v: int, m: int) -> int:
    return -(-v // m) * m


def padded_weights(kind: str, cout: int, cin: int, kernel: tuple[int, int], part_kernel: bool, ublock_depth: int
                   ) -> int:
    """Weights in Vela's encoded order including its zero padding (see module doc); ``kind``: conv | depthwise |
    vector_product; ``cin`` ignored for depthwise."""
    kh, kw = kernel
    if kind == "depthwise":
        return _ru(cout, ublock_depth) * sum(_ru(min(kh - y, 8) * min(kw - x, 8), 4)
                                             for y in range(0, kh, 8) for x in range(0, kw, 8))
    if part_kernel:
        per = sum(_ru(min(kh - y, 8) * min(kw - x, 8), 4) for y in range(0, kh, 8) for x in range(0, kw, 8))
        return _ru(cout, ublock_depth) * per * _ru(cin, 8)
    return _ru(cout, ublock_depth) * kh * kw * _ru(cin, 32)
