"""Softmax on the NPU, lowered the way Vela 5.2.0 lowers an int8 Softmax (Regor's ``Softmax::GetGraph8Bit``, read in
the public fork hapv3/neural-compiler; our own formulation): a chain of NPU ops over the H×W rows of C values of
the (H, W, C) map (a batch folded into H).

1. the row maximum: a MaxPool with a 1×C kernel over the map seen as (H·W)×C×1, into an H×W×1 map;
2. x − max with the exp LUT fused (32-bit result), then an arithmetic shift right by a constant (32-bit);
3. the row sum: a ReduceSum, costed as a 1×1 convolution from C channels to one (depth-first, no weights);
4. the reciprocal of the sum by Newton–Raphson on the H×W×1 map of sums: a count-leading-zeros and 20 ops, ten
   of them with a scalar constant operand (read from the memory holding constants);
5. the scaled exponentials: a Mul by the reciprocal (broadcast over C), an Add, a final shift to int8.

The one-value-per-row maps are H×W×1, NHCWB16 like every map Vela keeps on the NPU; the ops on them alone (CLZ and
the 20 steps, both operands that map or a scalar) run on the map reshaped deeper, as Vela runs any few-channel
elementwise op (actsplit.deepened: a (4, 2100, 1) map as (35, 15, 16)). The C-deep 32-bit maps are NHCWB16 from
8 channels on, NHWC below (measured: a 3-deep map is not padded to a brick, 8- and 17-deep ones are). With an
off-chip arena, a 32-bit C-deep map larger than the SRAM cache is off-chip (Vela's fast-storage allocator cannot
keep it), so the ops reading or writing it pay the off-chip access cycles.

Every op is costed with the model's own per-op rules (cycles.py / memory.py), so the figures follow the target.
Measured against Vela 5.2.0 (tests/ethos_u65/test_softmax_axis.py): a 1×1000 Softmax (u65-256: 13,216 cycles in
Vela, the ops' sum within 1 %), softmax over 4×210×16 and YOLOv8's DFL map 4×2100×16 (Vela 1,309,809 cycles).
"""

from __future__ import annotations

from cnncc.backends.ethos_u65.blocks import CONV, ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config

SCALAR_OPS = 20          # Newton-Raphson reciprocal steps on the map of row sums
#: the steps (index into those 20) whose second operand is a scalar constant read from memory (Regor's order:
#: Sub, Sub, SHL, Mul, Add, then three rounds of Mul, Sub, Mul, Mul, Add); a constant first operand (the
#: headroom offset, 1.0 in Q2.29) is swapped into the second slot, as Vela does for a scalar
CONST_STEPS = frozenset({0, 1, 3, 4, 6, 8, 11, 13, 16, 18})
SCALAR = (1, 1, 1)


def wide_mem(ifm: tuple[int, int, int], arch: U65Config) -> str:
    """Where the 32-bit C-deep intermediates live: off-chip with an off-chip arena when one (4 bytes per element)
    is larger than the SRAM cache, else SRAM."""
    h, w, c = ifm
    if arch.arena_mem == OFFCHIP and 4 * h * w * c > arch.cache_bytes:
        return OFFCHIP
    return SRAM


def softmax_ops(ifm: tuple[int, int, int], arch: U65Config, src: str, dst: str, src_fmt: str = "NHWC",
                dst_fmt: str = "NHWC") -> list[NpuOp]:
    """The NPU ops of an int8 Softmax over the depth of an (H, W, C) map in ``src`` (format ``src_fmt``), written
    to ``dst`` (``dst_fmt``); see the module doc for the maps in between."""
    from cnncc.backends.ethos_u65.actsplit import deepened

    h, w, c = ifm
    rows = h * w
    const = arch.const_mem
    vec, one, deep = (h, w, c), (h, w, 1), deepened((h, w, 1))
    row = "NHCWB16"
    b16 = "NHCWB16" if c >= 8 else "NHWC"  # measured: a 3-deep map is not padded to bricks, 8- and 17-deep are
    big = wide_mem(ifm, arch)
    ops = [NpuOp(POOL, (rows, c, 1) if rows > 1 else (1, c, 1), (rows, 1, 1), (1, c), ao_kind="maxpool",
                 ifm_fmt=src_fmt, ofm_fmt=row, ifm_mem=src, ofm_mem=SRAM),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="add_sub", act="lut", ifm_fmt=src_fmt, ofm_fmt=b16,
                 ifm_mem=src, ifm2_mem=SRAM, ofm_mem=big, ifm2_fmt=row),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=SCALAR, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt="NHWC",
                 ifm_mem=big, ifm2_mem=const, ofm_mem=big),
           NpuOp(CONV, vec, one, ao_kind="conv", ifm_fmt="NHWC", ofm_fmt=row, ifm_mem=big, ofm_mem=SRAM),
           NpuOp(ELEMENTWISE, deep, deep, ao_kind="ew32_unary", ifm_fmt=row, ofm_fmt=row)]
    for k in range(SCALAR_OPS):
        scalar = k in CONST_STEPS
        ops.append(NpuOp(ELEMENTWISE, deep, deep, ifm2=SCALAR if scalar else deep, ao_kind="ew32_binary",
                         ifm_fmt=row, ofm_fmt=row, ifm2_mem=const if scalar else SRAM))
    ops += [NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16,
                  ifm2_fmt=row, ifm_mem=big, ofm_mem=big),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=vec, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16, ifm_mem=big,
                  ifm2_mem=const, ofm_mem=big),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=dst_fmt, ifm_mem=big,
                  ofm_mem=dst, ifm2_fmt=row)]
    return ops
