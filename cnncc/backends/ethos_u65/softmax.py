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
from cnncc.backends.ethos_u65.wide import CONST_FMT, SCALAR, cost_wide

SCALAR_OPS = 20          # Newton-Raphson reciprocal steps on the map of row sums
#: the steps (index into those 20) whose second operand is a scalar constant read from memory (Regor's order:
#: Sub, Sub, SHL, Mul, Add, then three rounds of Mul, Sub, Mul, Mul, Add); a constant first operand (the
#: headroom offset, 1.0 in Q2.29) is swapped into the second slot, as Vela does for a scalar
CONST_STEPS = frozenset({0, 1, 3, 4, 6, 8, 11, 13, 16, 18})


def wide_mem(ifm: tuple[int, int, int], arch: U65Config) -> str:
    """Where the 32-bit C-deep intermediates live: off-chip with an off-chip arena when one (4 bytes per element)
    is larger than the SRAM cache, else SRAM."""
    h, w, c = ifm
    if arch.arena_mem == OFFCHIP and 4 * h * w * c > arch.cache_bytes:
        return OFFCHIP
    return SRAM


def head_mem(ifm: tuple[int, int, int], arch: U65Config, src: str) -> str:
    """Where the row maximum (the MaxPool's H×W×1 output) lives: a one-column map (W = 1) read from off-chip (a
    graph input with an off-chip arena) keeps it off-chip (the exponentials map follows :func:`wide_mem`: in SRAM
    when it fits, measured on [1, 100] / [1, 1000] under u65 High_End Dedicated_Sram: 1.071 / 1.128 of Vela with it
    off-chip, 0.997 / 0.999 in SRAM), read and
    written at the off-chip latency (measured in Vela 5.2.0 on u65 Dedicated_Sram: [1, 2], [1, 5, 1, 1],
    [1, 8, 1, 1], [1, 16, 1, 1], [1, 3, 2, 1], [1, 32, 3, 1] in NCHW; its MaxPool 781 cycles and the Sub 68 on a
    1×2 map, against 86 and 2 in SRAM); else SRAM (MTCNN O-Net's 1×2 Softmax of a Gemm's output in SRAM: its
    MaxPool 86 cycles, as every other one-value-per-row map)."""
    return OFFCHIP if ifm[1] == 1 and arch.arena_mem == OFFCHIP and src == OFFCHIP else SRAM


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
    head = head_mem(ifm, arch, src)
    e = big  # the exponentials: measured in SRAM beside an off-chip row maximum ([1, 100], [1, 1000] on u65 High_End)
    ops = [NpuOp(POOL, (rows, c, 1) if rows > 1 else (1, c, 1), (rows, 1, 1), (1, c), ao_kind="maxpool",
                 ifm_fmt=src_fmt, ofm_fmt=row, ifm_mem=src, ofm_mem=head),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="add_sub", act="lut", ifm_fmt=src_fmt, ofm_fmt=b16,
                 ifm_mem=src, ifm2_mem=head, ofm_mem=e, ifm2_fmt=row),
           NpuOp(ELEMENTWISE, vec, vec, ifm2=SCALAR, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt="NHWC",
                 ifm_mem=e, ifm2_mem=const, ofm_mem=big, ifm2_fmt=CONST_FMT),
           NpuOp(CONV, vec, one, ao_kind="conv", ifm_fmt="NHWC", ofm_fmt=row, ifm_mem=big, ofm_mem=SRAM),
           NpuOp(ELEMENTWISE, deep, deep, ao_kind="ew32_unary", ifm_fmt=row, ofm_fmt=row)]
    for k in range(SCALAR_OPS):
        scalar = k in CONST_STEPS
        ops.append(NpuOp(ELEMENTWISE, deep, deep, ifm2=SCALAR if scalar else deep, ao_kind="ew32_binary",
                         ifm_fmt=row, ofm_fmt=row, ifm2_mem=const if scalar else SRAM,
                         ifm2_fmt=CONST_FMT if scalar else ""))
    ops += [NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16,
                  ifm2_fmt=row, ifm_mem=big, ofm_mem=big),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=vec, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=b16, ifm_mem=big,
                  ifm2_mem=const, ofm_mem=big, ifm2_fmt=CONST_FMT if rows == 1 else ""),
            NpuOp(ELEMENTWISE, vec, vec, ifm2=one, ao_kind="ew32_binary", ifm_fmt=b16, ofm_fmt=dst_fmt, ifm_mem=big,
                  ofm_mem=dst, ifm2_fmt=row)]
    return ops


def op_bits(ops: list[NpuOp]) -> list[tuple[int, int, int]]:
    """Element widths (IFM, IFM2, OFM bits) of :func:`softmax_ops`' ops, in order: int8 in, the row maximum int8,
    every map from the exponentials on 32-bit, the last op writing int8."""
    n = len(ops)
    out = [(8, 8, 8), (8, 8, 32)] + [(32, 32, 32)] * (n - 3) + [(32, 32, 8)]
    return out[:n]


def exp_map_quantum(ifm: tuple[int, int, int]) -> int:
    """Storage quantum, in elements, of the 32-bit exponentials map (the shift's IFM) in Vela 5.2.0: measured,
    NHCWB16 (16) when the map is one column wide (W = 1: [1, 2], [1, 2, 1, 1], [1, 8, 1, 1], [1, 16, 1, 1],
    [1, 3, 2, 1] in NCHW), NHWC (1) otherwise ([1, 2, 3, 5], [1, 4, 5, 6]); seen in the shift's read of its
    32-bit shift amount (Ethos-U55 flash: 256 cycles against 4-5)."""
    return 16 if ifm[1] == 1 else 1


def axis_moves(shape: tuple[int, ...], axis: int) -> tuple[list, list] | None:
    """The NPU transpose passes (transposes.decompose) of the exporter's moves of a Softmax axis to the last
    stored axis and back (cnncc/frontend/tflite/writer_lower.softmax: [1, A, Q] -> [1, Q, A], or [P, A, Q] ->
    [A, P, Q] -> [A, P·Q] -> [P·Q, A]) for an IR tensor of ``shape``; None when a pass is not modelled."""
    import math

    from cnncc.backends.ethos_u65.transposes import decompose

    s = (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape)
    ax = axis % len(shape)
    ax = {0: 0, 1: 3, 2: 1, 3: 2}[ax] if len(shape) == 4 else ax
    p, a, q = math.prod(s[:ax]), s[ax], math.prod(s[ax + 1:])
    if q == 1:
        return [], []
    if p == 1:
        fwd, back = decompose((1, a, q), (0, 2, 1)), decompose((1, q, a), (0, 2, 1))
        return None if fwd is None or back is None else (fwd, back)
    f1, f2 = decompose((p, a, q), (1, 0, 2)), decompose((a, p * q), (1, 0))
    b1, b2 = decompose((p * q, a), (1, 0)), decompose((a, p, q), (1, 0, 2))
    if None in (f1, f2, b1, b2):
        return None
    return f1 + f2, b1 + b2  # type: ignore[operator]


def cost_softmax(lw, arch: U65Config, src: str, dst: str, fmts: tuple[str, str], moves=None):
    """A Softmax as Vela's chain of NPU ops (:func:`softmax_ops`), each costed with its 32-bit maps at 4 bytes an
    element (:func:`cost_wide`), plus the exporter's transposes there and back when the softmax axis is not the
    NHWC depth: ``moves`` (:func:`axis_moves`) as NPU transpose passes (transposes.cost_passes), else
    opcost.cost_transpose, the chain then on the moved map in SRAM; the parts summed."""
    from dataclasses import replace

    from cnncc.backends.ethos_u65.opcost import _sum_costs, cost_transpose
    from cnncc.backends.ethos_u65.transposes import cost_passes

    moved = lw.reason == "transposed"  # then the chain reads and writes the moved map, in SRAM
    ops = softmax_ops(lw.ifm, arch, SRAM, SRAM) if moved else softmax_ops(lw.ifm, arch, src, dst, *fmts)
    quanta = [exp_map_quantum(lw.ifm) if i == 2 else 1 for i in range(len(ops))]
    parts = [cost_wide(op, bits, arch, q) for op, bits, q in zip(ops, op_bits(ops), quanta)]
    if moved and moves is not None:
        parts += [c for c in (cost_passes(moves[0], arch, src, SRAM), cost_passes(moves[1], arch, SRAM, dst))
                  if c.device == "npu"]
    elif lw.reason == "transposed":
        parts += [cost_transpose(lw, arch, src, SRAM), cost_transpose(lw, arch, SRAM, dst)]
    return replace(_sum_costs(parts), block=None, traversal="")


def softmax_moves(graph, layer):
    """:func:`axis_moves` of a Softmax layer of ``graph``."""
    return axis_moves(graph.type_of(layer.inputs[0]).shape, layer.op.axis)
