"""MEAN (ReduceMean over H and W) on the NPU, lowered the way Vela 5.2.0 lowers it (Regor's
``TFLiteGraphOptimiser::ConvertMeanOps``, read in the public fork hapv3/neural-compiler; our own formulation):
depthwise convolutions with an all-ones kernel sum the window into 32-bit values, then a Mul by the fixed-point
reciprocal of the element count (a 32-bit binary elementwise op) writes the int8 result.

A window higher than 64 rows but of at most 64·64 elements is read as one row of H·W; the sum is split into
depthwise ops of at most 64 rows and 4096 kernel elements each, added up by 32-bit Adds. The all-ones kernel
encodes to one bit per weight plus a 16-byte header, rounded to 16 bytes (Vela 5.2.0's encoded sizes: 9,232 B for
24×24×128, 64 B for 1×3×96); scales and biases 10 B per channel as for every weighted op.
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


def mean_ops(ifm: tuple[int, int, int], arch: U65Config, src: str, dst: str, fmts: tuple[str, str]
             ) -> tuple[list[NpuOp], list[NpuOp]]:
    """(the depthwise sums, the 32-bit Adds and Mul) of a MEAN over H and W of an (H, W, C) map in ``src``."""
    h, w, c = ifm
    if h > MAX_HEIGHT and h * w <= MAX_KERNEL:
        h, w = 1, h * w
    per = min(MAX_KERNEL // w, h, MAX_HEIGHT)
    one = (1, 1, c)
    b16 = "NHCWB16"
    sums, rest = [], []
    for k in range(0, h, per):
        kh = min(per, h - k)
        sums.append(NpuOp(DEPTHWISE, (kh, w, c), one, (kh, w), ifm_fmt=fmts[0], ofm_fmt=b16, ifm_mem=src,
                          ofm_mem=SRAM, weight_bytes=ones_kernel_bytes(kh * w * c),
                          scale_bytes=arch.scale_bytes_per_channel * c))
        if k:
            rest.append(NpuOp(ELEMENTWISE, one, one, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16))
    rest.append(NpuOp(ELEMENTWISE, one, one, ifm2=(1, 1, 1), ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=fmts[1],
                      ofm_mem=dst))
    return sums, rest
