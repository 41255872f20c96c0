"""MEAN (ReduceMean) on the NPU, lowered the way Vela 5.2.0 lowers it (Regor's
``TFLiteGraphOptimiser::ConvertMeanOps``; its Python predecessor ``convert_mean_to_depthwise_conv`` in Vela 5.2.0
tflite_graph_optimiser.py; our own formulation): depthwise convolutions with an all-ones kernel sum the reduced
window into 32-bit values, then a Mul by the fixed-point reciprocal of the element count (a 32-bit binary
elementwise op) writes the int8 result.

Which window (:func:`mean_window`): the reduced extents of the (H, W, C) map form the kernel; a mean over the
channels needs H or W to be 1 and is run on the map with that axis dropped and the channels moved into W (H×1×C or
1×W×C becomes H×C×1 or W×C×1), so a LayerNorm's mean over C of a [1, T, C] map is a T×C×1 depthwise op with a
1×C kernel and a Mul over T values (Vela 5.2.0 ``--verbose-schedule``: OFM 1×24×1×1 then Mul OFM 1×1×1×24 for
[1, 24, 96]). A mean over W alone of an H×W×C map is a 1×W kernel giving H×1×C, its Mul on H×1×C.

A window higher than 64 rows but of at most 64·64 elements, reduced over both H and W, is read as one row of H·W;
the sum is split into depthwise ops of at most 64 rows and 4096 kernel elements each, added up by 32-bit Adds.
The all-ones kernel encodes to one bit per weight plus a 16-byte header, rounded to 16 bytes (Vela 5.2.0's encoded
sizes: 9,232 B for 24×24×128, 64 B for 1×3×96; a depth-1 kernel is larger in Vela: 96 B for 1×96×1); scales and
biases 10 B per channel as for every weighted op.
Measured against Vela 5.2.0 (u65-256): 24×24×128 96,116 + 144 cycles, our ops 96,100 + 144; 1×3×96 616 + 108,
ours 598 + 108.
"""

from __future__ import annotations

from cnncc.backends.ethos_u65.blocks import DEPTHWISE, ELEMENTWISE, NpuOp
from cnncc.backends.ethos_u65.config import SRAM, U65Config

MAX_HEIGHT = 64
MAX_KERNEL = 64 * 64


def ones_kernel_bytes(n: int) -> int:
    """Encoded bytes of an all-ones int8 kernel of ``n`` weights (see module doc)."""
    bits_as_bytes = (n + 7) // 8
    return (bits_as_bytes + 15) // 16 * 16 + 16


def mean_window(shape: tuple[int, int, int], reduce: tuple[bool, bool, bool]
                ) -> tuple[tuple[int, int, int], tuple[int, int]] | None:
    """(the map the sums read, (H, W, C), and their kernel (rows, columns)) of a mean over the ``reduce``-flagged
    axes of an (H, W, C) map, or None where the NPU cannot take it (a mean over the channels of a map whose H and
    W both exceed 1, or a kernel row wider than 4096 elements). See the module doc."""
    h, w, c = shape
    rh, rw, rc = reduce
    if rc and c > 1:
        if h > 1 and w > 1:
            return None
        rest, rrest = (h, rh) if w == 1 else (w, rw)     # drop the axis of size 1, channels into W
        (h, w, c), (rh, rw) = (rest, c, 1), (rrest, True)
    kh, kw = (h if rh else 1), (w if rw else 1)
    if kw > MAX_KERNEL:
        return None
    return (h, w, c), (kh, kw)


def mean_ops(ifm: tuple[int, int, int], arch: U65Config, src: str, dst: str, fmts: tuple[str, str],
             kernel: tuple[int, int] | None = None) -> tuple[list[NpuOp], list[NpuOp]]:
    """(the depthwise sums, the 32-bit Adds and Mul) of a MEAN over the ``kernel`` window (rows, columns: each
    1 or the map's full extent; default H×W) of an (H, W, C) map in ``src`` (:func:`mean_window`)."""
    h, w, c = ifm
    kh, kw = kernel if kernel is not None else (h, w)
    full_rows = kh == h and kh > 1
    if kh > MAX_HEIGHT and kw == w and kh * kw <= MAX_KERNEL:
        h, w, kh, kw = 1, h * w, 1, h * w
    out = (h - kh + 1, w - kw + 1, c)
    per = min(MAX_KERNEL // kw, kh, MAX_HEIGHT)
    b16 = "NHCWB16"
    # a map read with its channels moved into W is a reshape of the map: Vela keeps it NHWC (no 16-channel bricks)
    ifm_fmt = "NHWC" if c == 1 else fmts[0]
    sums, rest = [], []
    for k in range(0, kh, per):
        rows = min(per, kh - k)
        read = (rows if full_rows else h, w, c)
        sums.append(NpuOp(DEPTHWISE, read, out, (rows, kw), ifm_fmt=ifm_fmt, ofm_fmt=b16, ifm_mem=src,
                          ofm_mem=SRAM, weight_bytes=ones_kernel_bytes(rows * kw * c),
                          scale_bytes=arch.scale_bytes_per_channel * c))
        if k:
            rest.append(NpuOp(ELEMENTWISE, out, out, ifm2=out, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16))
    # the Mul's map: a per-position mean (channels moved into W: C = 1) is taken as one vector of its values
    mul = (1, 1, out[0] * out[1]) if c == 1 and out[0] * out[1] > 1 else out
    rest.append(NpuOp(ELEMENTWISE, mul, mul, ifm2=(1, 1, 1), ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=fmts[1],
                      ofm_mem=dst, ifm2_mem=arch.const_mem, ifm2_fmt="NHWC"))
    return sums, rest
