"""The traffic of an Ethos-U op with 16- or 32-bit operands (the Softmax's exponentials and Newton-Raphson
constants, the MEAN's 32-bit reciprocal): Vela 5.2.0 costs such an op like its 8-bit form, with the bytes on the
bus of every wider side recounted at its width (Regor's EthosU55Performance EstimateMemoryTransfer and Vela's
npu_performance ``measure_element_access``, read in hapv3/neural-compiler and the ethos-u-vela package; our own
formulation). Used by softmax.py and by opcost.py for the MEAN's final Mul."""

from __future__ import annotations

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, NpuOp
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config

SCALAR = (1, 1, 1)
#: the format a constant operand is read in: constants are linear (NHWC) in their memory (measured: the exponential
#: shift's 16-element read of its 32-bit shift amount, 128 cycles from U55 flash and 10 from U65 Client_Server DRAM,
#: is a 64-byte NHWC burst; read as bricks it would be 64 and 5)
CONST_FMT = "NHWC"


def transfer_bytes_at(arch: U65Config, read: bool, mem: str, fmt: str, block: tuple[int, int, int],
                      shape: tuple[int, int, int], elements: float, bits: int) -> float:
    """Bytes on the bus for ``elements`` elements of ``bits`` bits: Regor's burst rule (EthosU55Performance's
    EstimateMemoryTransfer, our own formulation; cycles.transfer_bytes is its 8-bit case): a burst is as long as
    the block's contiguous run, in bits, up to the memory's burst length."""
    bw, _, bc = block
    _h, w, c = shape
    if fmt == "NHCWB16":
        if w * bits * 16 // 8 == bc:
            burst = bits * bw * bc
        else:
            burst = 16 * bits * bw * (1 if read else arch.cores)
    elif read:
        burst = bits * bw * bc if c * bits // 8 == bc else bits * bc
    else:
        burst = bits * bw * bc if (bc <= 16 and c * bits // 8 == bc) else min(64 * 8, 16 * bits * arch.cores,
                                                                           bc * bits)
    m = arch.mem(mem)
    nbytes = int(elements * bits) // 8
    return int(nbytes * m.burst_bytes) // max(min(m.burst_bytes, burst // 8), 1)


def wide_scalar_reads(op: NpuOp, bits: tuple[int, int, int], quantum: int = 1) -> int:
    """Elements read of an elementwise op's scalar second operand wider than 8 bits (Vela 5.2.0
    npu_performance ``measure_element_access``, our own formulation): an 8-bit scalar travels in the command
    stream and costs no reads, a 16- or 32-bit one (the Softmax's shift amount, its Newton-Raphson constants) is
    read from its memory as one storage quantum of the IFM's format, ``quantum`` elements (16 for an NHCWB16
    IFM, 1 for NHWC); 0 where the op has no such operand (or its IFM is a scalar too)."""
    if op.kind != ELEMENTWISE or op.ifm2 is None or bits[1] <= 8:
        return 0
    if op.ifm2 != SCALAR or op.ifm == SCALAR:
        return 0
    return quantum


def cost_wide(op: NpuOp, bits: tuple[int, int, int], arch: U65Config, quantum: int = 1):
    """An op's cost (opcost.cost_npu_op) with its 32-bit maps' traffic at 4 bytes an element: each such side's
    bytes on the bus are replaced by :func:`transfer_bytes_at` at its width, the access cycles follow, and the op
    costs the larger of its NPU and access cycles."""
    import math
    from dataclasses import replace

    from cnncc.backends.ethos_u65.blocks import find_block_config
    from cnncc.backends.ethos_u65.cycles import transfer_bytes
    from cnncc.backends.ethos_u65.memory import element_reads
    from cnncc.backends.ethos_u65.opcost import cost_npu_op

    cost = cost_npu_op(op, arch)[0]
    if bits == (8, 8, 8):
        return cost
    cfg = find_block_config(op, arch)
    r1, r2, wr = element_reads(op, cfg, arch)
    sides = [(True, op.ifm_mem, op.ifm_fmt, cfg.ifm, op.ifm, r1, r1, bits[0]),
             (False, op.ofm_mem, op.ofm_fmt, cfg.ofm, op.ofm, wr, wr, bits[2])]
    exact = op.ifm2 is not None and r2 and op.ifm2_fmt == CONST_FMT and op.ifm2 != SCALAR
    if op.ifm2 is not None and r2:
        # a one-row constant map (the last steps' broadcast constant of an [1, N] Softmax) is read once, element
        # for element, in linear bursts: measured, Vela's access for [1, 10] / [1, 16] / [1, 100] on u55-128 and
        # u65-512 (80 / 128 / 400 flash cycles, 21 / 106 DRAM cycles) is its exact element count at NHWC bursts.
        # Wider maps keep the brick estimate: Vela's 32-bit ops there take other blocks than the 8-bit search
        sides.append((True, op.ifm2_mem, op.fmt2, cfg.ifm, op.ifm2, math.prod(op.ifm2) if exact else r2, r2,
                      bits[1]))
    scalar = wide_scalar_reads(op, bits, quantum)
    if scalar:  # read at its width only: the 8-bit cost counted none
        sides.append((True, op.ifm2_mem, op.fmt2, cfg.ifm, SCALAR, scalar, 0, bits[1]))
    rd, wt = dict(cost.read_bytes), dict(cost.write_bytes)
    for read, mem, fmt, block, shape, n, counted, b in sides:
        if b == 8:
            continue
        base = transfer_bytes(arch, read, mem, fmt, block, shape, counted) if counted else 0
        extra = transfer_bytes_at(arch, read, mem, fmt, block, shape, n, b) - base
        (rd if read else wt)[mem] = (rd if read else wt).get(mem, 0) + int(extra)
    acc = {m: int((rd.get(m, 0) + wt.get(m, 0)) / arch.mem(m).bytes_per_cycle) for m in (SRAM, OFFCHIP)}
    # the 8-bit op's access cycles are a floor, except in the constant's memory when its read was recounted
    acc = {m: acc[m] if (exact and m == op.ifm2_mem) else max(acc[m], cost.access_cycles.get(m, 0)) for m in acc}
    return replace(cost, access_cycles=acc, read_bytes=rd, write_bytes=wt,
                   cycles=max([cost.npu_cycles] + list(acc.values())))
