"""NPU cycles of one op: micro-block MAC cycles, AO/activation cycles, command-issue bound (after Vela 5.2.0's
Ethos-U55/U65 performance model, ``ethos_u55_performance.cpp``; our own implementation).

Per OFM block: MAC cycles = Σ over ≤8×8 sub-kernels of max(weight-feed floor, 4·micro-blocks in W×H) × kernel
steps × micro-blocks in C (+ pipeline delay when the block is one micro-block wide and high), × IFM depth blocks
for conv/FC, ÷ cores. AO cycles = cycles per element × block elements (at least the scale/bias fetch). The
command-issue bound is (IFM block + OFM block memory cycles + AO + MAC) / 4. Op cycles = the larger of MAC and AO
per block × number of blocks + the other once.
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


def min_block_memory_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> int:
    """Latency + transfer cycles of one IFM block (the larger IFM for binary ops) plus one OFM block."""
    cyc_ifm = 0
    ifms = [(op.ifm, op.ifm_mem, op.ifm_fmt)]
    if op.ifm2 is not None:
        ifms.append((op.ifm2, op.ifm2_mem, op.ifm_fmt))
    for shape, mem, fmt in ifms:
        ib = cfg.ifm
        n = min(shape[0], ib[1]) * min(shape[1], ib[0]) * min(shape[2], ib[2])
        m = arch.mem(mem)
        c = m.read_latency + int(transfer_bytes(arch, True, mem, fmt, ib, shape, n) / m.bytes_per_cycle)
        cyc_ifm = max(cyc_ifm, c)
    ob = cfg.ofm
    n = min(op.ofm[0], ob[1]) * min(op.ofm[1], ob[0]) * min(op.ofm[2], ob[2])
    m = arch.mem(op.ofm_mem)
    cyc_ofm = m.write_latency + int(transfer_bytes(arch, False, op.ofm_mem, op.ofm_fmt, ob, op.ofm, n)
                                    / m.bytes_per_cycle)
    return cyc_ifm + cyc_ofm


def pipeline_fill_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> int:
    """Cycles Vela 5.2.0 adds once per op before the first block / after the last: the first IFM block's
    latency + transfer and the last OFM block's, when those maps are in SRAM. Fitted to Vela's output: for
    maps off-chip only the OFM block's bytes / bandwidth (no latency, no burst loss) show up, the IFM block
    not at all."""
    ib, ob = cfg.ifm, cfg.ofm
    cyc = 0
    if op.ifm_mem == "sram":
        n = min(op.ifm[0], ib[1]) * min(op.ifm[1], ib[0]) * min(op.ifm[2], ib[2])
        cyc += arch.sram.read_latency + int(transfer_bytes(arch, True, "sram", op.ifm_fmt, ib, op.ifm, n)
                                            / arch.sram.bytes_per_cycle)
    n = min(op.ofm[0], ob[1]) * min(op.ofm[1], ob[0]) * min(op.ofm[2], ob[2])
    m = arch.mem(op.ofm_mem)
    if op.ofm_mem == "sram":
        cyc += m.write_latency + int(transfer_bytes(arch, False, "sram", op.ofm_fmt, ob, op.ofm, n) / m.bytes_per_cycle)
    else:
        cyc += int(n / m.bytes_per_cycle)
    return cyc


def output_cycles_per_elem(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> tuple[float, float]:
    """(cycles per OFM element incl. the elementwise command bound, AO cycles per element)."""
    per = max(arch.ao[op.ao_kind], arch.act[op.act])
    total = per
    if op.kind == ELEMENTWISE:
        n = cfg.ofm[0] * cfg.ofm[1] * cfg.ofm[2]
        total = max(per, (min_block_memory_cycles(op, cfg, arch) / n + per) / 4.0)
    return total, per


def block_sizes(op: NpuOp, cfg: BlockConfig) -> list[tuple[tuple[int, int, int], int]]:
    """The distinct OFM block sizes (W, H, C) of the block grid with their counts (edge blocks are smaller)."""
    dims = []
    for extent, blk in ((op.ofm[1], cfg.ofm[0]), (op.ofm[0], cfg.ofm[1]), (op.ofm[2], cfg.ofm[2])):
        b = min(extent, blk)
        full, rem = divmod(extent, b)
        dims.append([(b, full)] + ([(rem, 1)] if rem else []))
    return [((w, h, c), nw * nh * nc) for w, nw in dims[0] for h, nh in dims[1] for c, nc in dims[2]]


def mac_block_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, size=None) -> int:
    """MAC (DPU) cycles of one OFM block of ``size`` (W, H, C; default the configured block; see module doc)."""
    ub_w, ub_h, ub_c = arch.ublock
    ofm_blk = list(size) if size else [min(op.ofm[1], cfg.ofm[0]), min(op.ofm[0], cfg.ofm[1]),
                                       min(op.ofm[2], cfg.ofm[2])]
    if op.kind in (CONV, VECTOR) and op.ofm[0] == 1 and op.ofm[1] % 2 == 0 and op.kernel[0] == 1 and ub_h == 2:
        ub_w, ub_h = 4, 1  # Conv1D micro-block 4×1
        ofm_blk[1] = 1
    ifm_depth_blk = min(op.ifm[2], cfg.ifm[2])
    nx, ny, nz = _cdiv(ofm_blk[0], ub_w), _cdiv(ofm_blk[1], ub_h), _cdiv(ofm_blk[2], ub_c)
    nxy = nx * ny
    wb = arch.weight_feed_cycles * ub_c // 8
    sk_w, sk_h = (1, 1) if op.kind == VECTOR else arch.subkernel_max
    kh, kw = op.kernel
    total = 0
    for x in range(0, kw, sk_w):
        for y in range(0, kh, sk_h):
            elems = min(kh - y, sk_h) * min(kw - x, sk_w)
            if op.kind == POOL:
                steps = 1
                cyc = max(4, elems) * nxy * nz * 4  # int8: ifm_bits / 2
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
            if nxy == 1:
                if nz == 1:
                    delay = arch.mac_delay * steps
                elif steps > 1:
                    delay = arch.mac_delay * (steps - 1) * nz
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


def conv_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, const_latency: int) -> OpCycles:
    """NPU cycles of a MAC-using op (conv, depthwise, FC, pooling). ``const_latency``: read latency of the memory
    the scales/biases come from (bounds the per-block AO cycles)."""
    oblk = (min(op.ofm[0], cfg.ofm[1]), min(op.ofm[1], cfg.ofm[0]), min(op.ofm[2], cfg.ofm[2]))
    mac = mac_block_cycles(op, cfg, arch)
    blocks = _cdiv(op.ofm[0], oblk[0]) * _cdiv(op.ofm[1], oblk[1]) * _cdiv(op.ofm[2], oblk[2])
    tot_pe, _ = output_cycles_per_elem(op, cfg, arch)
    n = math.prod(oblk)
    out = int(tot_pe * n)
    if op.kind != POOL:
        out = max(out, 10 * oblk[2] * const_latency // 256)
    cmd = (min_block_memory_cycles(op, cfg, arch) + out + mac) // 4
    mac_b, out_b = max(mac, cmd), max(out, cmd)
    # Vela 5.2.0 costs edge blocks at their real size: sum the per-block cycles over the block grid
    mac_sum = out_sum = 0
    for size, count in block_sizes(op, cfg):
        m = max(mac_block_cycles(op, cfg, arch, size), cmd)
        o = int(tot_pe * math.prod(size))
        if op.kind != POOL:
            o = max(o, 10 * size[2] * const_latency // 256)
        mac_sum += m * count
        out_sum += max(o, cmd) * count
    total = mac_sum + out_b if mac_b > out_b else out_sum + mac_b
    # Vela 5.2.0's C++ core adds one IFM + OFM block transfer (latency + bytes) per op: the pipeline fill before
    # the first block can start and the drain after the last (measured: 1×1 convs are +448 cycles, memory copies
    # fit mac·blocks + ao + this exactly)
    if op.kind != VECTOR:
        total += pipeline_fill_cycles(op, cfg, arch)
    return OpCycles(int(total), mac, out, cmd, blocks, op_macs(op))


def elementwise_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> OpCycles:
    """NPU cycles of an elementwise op: cycles per element (incl. command bound) × OFM elements."""
    tot_pe, ao_pe = output_cycles_per_elem(op, cfg, arch)
    n = math.prod(op.ofm)
    if op.ofm_fmt == "NHCWB16":
        n = op.ofm[0] * op.ofm[1] * _cdiv(op.ofm[2], 16) * 16
    return OpCycles(int(tot_pe * n), 0, int(ao_pe * n), 0, 1, 0)


def npu_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, const_latency: int) -> OpCycles:
    if op.kind == ELEMENTWISE:
        return elementwise_cycles(op, cfg, arch)
    return conv_cycles(op, cfg, arch, const_latency)
