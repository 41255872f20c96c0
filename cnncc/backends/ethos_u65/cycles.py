"""NPU cycles of one op: micro-block MAC cycles, AO/activation cycles, command-issue bound (after Vela 5.2.0's
Ethos-U55/U65 performance model, ``ethos_u55_performance.cpp`` in Regor; our own implementation).

Per OFM block (clipped to the OFM): MAC cycles = Σ over ≤8×8 sub-kernels of max(weight-feed floor, 4·micro-blocks
in W×H) × kernel steps × micro-blocks in C (+ pipeline delay when the block is one micro-block wide and high), ×
IFM depth blocks for conv/FC, ÷ cores. AO cycles = ceil(cycles per element × block elements), at least the
scale/bias fetch (10 · block depth · read latency / 256). Blocks = OFM micro-blocks / micro-blocks per block (a
fraction: edge blocks count by their share). The command-issue bound is (|OFM − IFM block transfer| + MAC + AO)
/ 4 per block. Op cycles = the larger of MAC and AO per block × blocks + the other once, + one IFM block transfer
(pipeline fill) + one OFM block transfer (drain). Elementwise: max(AO cycles per element, command bound per
element) × OFM elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL, VECTOR, BlockConfig, NpuOp
from cnncc.backends.ethos_u65.config import U65Config


@dataclass(frozen=True)
class OpCycles:
    """NPU cycles of one op and their parts (per-block MAC and AO cycles, blocks, command-issue bound)."""

    cycles: int
    mac_block: int
    ao_block: int
    cmd_block: int
    blocks: int
    macs: int


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def transfer_bytes(arch: U65Config, read: bool, mem: str, fmt: str, block: tuple[int, int, int],
                   shape: tuple[int, int, int], nbytes: float) -> float:
    """Bytes moved on the bus for ``nbytes`` useful bytes: short bursts (narrow blocks, NHWC maps whose depth is
    not the block depth) waste part of each burst of the memory (Vela's burst-efficiency rule)."""
    bw, _, bc = block
    h, w, c = shape
    if fmt == "NHCWB16":
        if w * 16 == bc:
            burst = bw * bc
        elif read:
            burst = 16 * bw
        else:
            burst = 16 * bw * arch.cores
    else:
        if read:
            burst = bw * bc if c == bc else bc
        else:
            burst = bw * bc if (bc <= 16 and c == bc) else min(64, 16 * arch.cores, bc)
    m = arch.mem(mem)
    burst = min(m.burst_bytes, burst)
    return int(nbytes * m.burst_bytes) // burst


def _block_transfer_cycles(arch: U65Config, read: bool, mem: str, fmt: str, block: tuple[int, int, int],
                           shape: tuple[int, int, int]) -> int:
    """Latency + transfer cycles of one (IFM or OFM) block of ``block`` (W, H, C) in a map of ``shape`` (H, W, C)."""
    n = min(shape[0], block[1]) * min(shape[1], block[0]) * min(shape[2], block[2])
    m = arch.mem(mem)
    lat = m.read_latency if read else m.write_latency
    return lat + int(transfer_bytes(arch, read, mem, fmt, block, shape, n) / m.bytes_per_cycle)


def ifm_block_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> int:
    """The slower of the IFM block transfers (IFM and, for binary ops, IFM2)."""
    c = _block_transfer_cycles(arch, True, op.ifm_mem, op.ifm_fmt, cfg.ifm, op.ifm)
    if op.ifm2 is not None:
        c = max(c, _block_transfer_cycles(arch, True, op.ifm2_mem, op.fmt2, cfg.ifm, op.ifm2))
    return c


def ofm_block_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> int:
    return _block_transfer_cycles(arch, False, op.ofm_mem, op.ofm_fmt, cfg.ofm, op.ofm)


FILL_OFFCHIP_IFM = False


def pipeline_fill_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, first: bool = True, last: bool = True
                         ) -> int:
    """Cycles added once per op: the first IFM block's transfer before the first block, the last OFM block's after
    the last one (an op run in OFM depth slices pays the first on its first slice, the second on its last), with
    the latency of the memory each block is in (Regor's rule; with Vela's feature-map placement it also holds for
    off-chip IFMs)."""
    cyc = ifm_block_cycles(op, cfg, arch) if first else 0
    return cyc + (ofm_block_cycles(op, cfg, arch) if last else 0)


def ao_cycles_per_elem(op: NpuOp, arch: U65Config) -> float:
    """AO cycles per OFM element: the larger of the output kind's and the fused activation's (a standalone LUT op
    has no fused activation: its lookup is not an extra AO cost)."""
    return max(arch.ao[op.ao_kind], arch.act[op.act])


def micro_block(op: NpuOp, arch: U65Config) -> tuple[int, int, int]:
    """The OFM micro-block (W, H, C): 4×1 for a 1-row conv/FC with an even width and kernel height 1 on 2-high
    micro-blocks (the hardware's Conv1D mode), else the architecture's."""
    ub_w, ub_h, ub_c = arch.ublock
    if ub_h == 2 and op.kind in (CONV, VECTOR) and op.ofm[0] == 1 and op.ofm[1] % 2 == 0 and op.kernel[0] == 1:
        return 4, 1, ub_c
    return ub_w, ub_h, ub_c


def mac_block_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> int:
    """MAC (DPU) cycles of one OFM block clipped to the OFM (see module doc)."""
    ub_w, ub_h, ub_c = micro_block(op, arch)
    ofm_blk = (min(op.ofm[1], cfg.ofm[0]), min(op.ofm[0], cfg.ofm[1]), min(op.ofm[2], cfg.ofm[2]))
    ifm_depth_blk = min(op.ifm[2], cfg.ifm[2])
    nx, ny, nz = _cdiv(ofm_blk[0], ub_w), _cdiv(ofm_blk[1], ub_h), _cdiv(ofm_blk[2], ub_c)
    nxy = nx * ny
    wb = arch.weight_feed_cycles * ub_c // 8
    sk_w, sk_h = (1, 1) if op.kind == VECTOR else arch.subkernel_max
    kh, kw = op.kernel
    small = arch.macs_per_cycle <= 32  # Ethos-U55-32: no IFM-bits factor for pooling, 3-cycle delay
    total = 0
    for x in range(0, kw, sk_w):
        for y in range(0, kh, sk_h):
            elems = min(kh - y, sk_h) * min(kw - x, sk_w)
            if op.kind == POOL:
                steps = 1
                cyc = max(4, elems) * nxy * nz * (1 if small else 4)  # int8: IFM bits / 2
            elif op.kind == DEPTHWISE:
                steps = _cdiv(elems, 4)
                cyc = max(wb, 4 * nxy) * steps * nz
            elif op.kind == VECTOR or cfg.traversal != "part_kernel":
                steps = elems
                cyc = max(wb, 4 * nxy) * steps * nz
            else:
                steps = _cdiv(elems, 4)
                cyc = max(wb, 4 * nxy) * steps * nz * _cdiv(ifm_depth_blk, 8)
            delay = 0
            d = 3 if small else arch.mac_delay
            if nxy == 1:
                if nz == 1:
                    delay = d * steps
                elif steps > 1:
                    delay = d * (steps - 1) * nz
            if op.kind == CONV and cfg.traversal == "part_kernel":
                delay *= _cdiv(ifm_depth_blk, 8)
            total += cyc + delay
    if op.kind in (CONV, VECTOR):
        total *= _cdiv(op.ifm[2], ifm_depth_blk)
    return total // arch.cores


def op_macs(op: NpuOp) -> int:
    """MACs as Vela counts them (kernel × OFM elements, × C_in for conv/FC; pooling counts window elements)."""
    base = op.kernel[0] * op.kernel[1] * math.prod(op.ofm)
    return base if op.kind in (DEPTHWISE, POOL) else base * op.ifm[2]


def conv_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, const_latency: int, sched: str = "single"
                ) -> OpCycles:
    """NPU cycles of a MAC-using op (conv, depthwise, FC, pooling). ``const_latency``: read latency of the memory
    the scales/biases come from (bounds the per-block AO cycles). ``sched``: single | first | middle | last — the
    part of an op run in OFM depth slices (only the first pays the pipeline fill, only the last the drain)."""
    first, last = sched in ("single", "first"), sched in ("single", "last")
    ub = micro_block(op, arch)
    oblk = (min(op.ofm[1], cfg.ofm[0]), min(op.ofm[0], cfg.ofm[1]), min(op.ofm[2], cfg.ofm[2]))  # W, H, C
    per_blk = _cdiv(oblk[0], ub[0]) * _cdiv(oblk[1], ub[1]) * _cdiv(oblk[2], ub[2])
    nblk = _cdiv(op.ofm[1], ub[0]) * _cdiv(op.ofm[0], ub[1]) * _cdiv(op.ofm[2], ub[2]) / per_blk
    ao_compute = math.ceil(ao_cycles_per_elem(op, arch) * math.prod(oblk))
    ao = float(ao_compute)
    if op.kind != POOL and op.weight_bytes:
        ao = max(ao, 10 * oblk[2] * const_latency / 256)
    mac = mac_block_cycles(op, cfg, arch)
    ifm_c, ofm_c = ifm_block_cycles(op, cfg, arch), ofm_block_cycles(op, cfg, arch)
    min_mem = abs(ofm_c - ifm_c) if nblk > 1 else 0
    cmd = (min_mem + mac + ao) / 4
    mac_b, ao_b = max(mac, cmd), max(ao, cmd)
    if mac_b > ao_b:
        total = int(mac_b * nblk) + (ao_b if last else 0)
    else:
        total = ao_b * nblk + mac_b
    total = int(total + pipeline_fill_cycles(op, cfg, arch, first, last))
    blocks = math.prod(_cdiv(e, b) for e, b in zip(op.ofm, (oblk[1], oblk[0], oblk[2])))
    return OpCycles(total, mac, ao_compute, int(cmd), blocks, op_macs(op))


def elementwise_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> OpCycles:
    """NPU cycles of an elementwise op: max(AO, command-issue bound) over the OFM elements (depth rounded to 16
    in the brick format); the command bound uses the larger block transfer and the unclipped block size."""
    ao_pe = ao_cycles_per_elem(op, arch)
    n = math.prod(op.ofm)
    if op.ofm_fmt == "NHCWB16":
        n = op.ofm[0] * op.ofm[1] * _cdiv(op.ofm[2], 16) * 16
    ao = math.ceil(ao_pe * n)
    blk = max(ofm_block_cycles(op, cfg, arch), ifm_block_cycles(op, cfg, arch))
    cmd = math.ceil((blk / math.prod(cfg.ofm) + ao_pe) / 4.0 * n)
    return OpCycles(int(max(cmd, ao)), 0, ao, cmd, 1, 0)


def npu_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, const_latency: int, sched: str = "single"
               ) -> OpCycles:
    if op.kind == ELEMENTWISE:
        return elementwise_cycles(op, cfg, arch)
    return conv_cycles(op, cfg, arch, const_latency, sched)
