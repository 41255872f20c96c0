"""Softmax on the NPU, lowered the way Vela 5.2.0 lowers an int8 Softmax (Regor's ``Softmax::GetGraph8Bit``, read in
the public fork hapv3/neural-compiler; our own formulation): a chain of NPU ops over the R = H·W rows of C values.

1. the row maximum: a MaxPool with a 1×C kernel over the map seen as R×C×1 (a Transpose first when R > 1);
2. x − max with the exp LUT fused (32-bit result), then an arithmetic shift right (32-bit binary elementwise);
3. the row sum: a ReduceSum, costed as a 1×1 convolution from C channels to one (depth-first, no weights);
4. the reciprocal of the sum by Newton–Raphson on single values: a count-leading-zeros and 20 scalar ops, half
   of them with a constant operand (read from the memory holding constants);
5. the scaled exponentials: a Mul by the reciprocal, an Add of a per-value constant, a final shift to int8.

Every op is costed with the model's own per-op rules (cycles.py / memory.py), so the figures follow the target.
Measured against Vela 5.2.0 on a 1×1000 Softmax (u65-256): 13,216 cycles in Vela, the sum of these ops within 1 %.
"""

from __future__ import annotations

from cnncc.backends.ethos_u65.blocks import CONV, ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import SRAM, U65Config

SCALAR_OPS = 20          # Newton-Raphson reciprocal steps on one value per row
SCALAR_CONST_OPS = 10    # of which take a constant operand


def softmax_ops(ifm: tuple[int, int, int], arch: U65Config, src: str, dst: str, src_fmt: str = "NHWC",
                dst_fmt: str = "NHWC") -> list[NpuOp]:
    """The NPU ops of an int8 Softmax over the depth of an (H, W, C) map in ``src``, written to ``dst``;
    intermediates live in SRAM (they are small: one 32-bit value per element at most)."""
    rows, c = ifm[0] * ifm[1], ifm[2]
    const = arch.const_mem
    vec, one = (rows, 1, c), (rows, 1, 1)
    b16 = "NHCWB16"
    ops = [NpuOp(POOL, (rows, c, 1) if rows > 1 else (1, c, 1), one, (1, c), ao_kind="maxpool", ifm_fmt=src_fmt,
                 ofm_fmt=b16, ifm_mem=src, ofm_mem=SRAM),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="add_sub", act="lut", ifm_fmt=src_fmt, ofm_fmt=b16,
                 ifm_mem=src, ifm2_mem=SRAM, ofm_mem=SRAM),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt="NHWC"),
           NpuOp(CONV, vec, one, ao_kind="conv", ifm_fmt="NHWC", ofm_fmt=b16),
           NpuOp(ELEMENTWISE, one, one, ao_kind="ew32_unary", ifm_fmt=b16, ofm_fmt=b16)]
    for k in range(SCALAR_OPS):
        ops.append(NpuOp(ELEMENTWISE, one, one, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16,
                         ifm2_mem=const if k % 2 == 0 and k // 2 < SCALAR_CONST_OPS else SRAM))
    ops += [NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=vec, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16, ifm2_mem=const),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=dst_fmt, ofm_mem=dst)]
    return ops
