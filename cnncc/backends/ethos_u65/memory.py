"""Memory traffic of one NPU op and the access cycles per memory (after Vela 5.2.0's element-access model;
our own implementation).

IFM reads = IFM block area × IFM depth × sub-kernels × OFM blocks (the IFM is re-read for every OFM depth block;
depthwise/pooling read it once per spatial block); weights are re-fetched once per spatial OFM block; scales and
biases (10 bytes per output channel) once per spatial block; the OFM is written once. Bytes are inflated by the
burst efficiency of each memory (:func:`cycles.transfer_bytes`); access cycles = bytes / bytes-per-cycle.
Weights that live off-chip are DMA'd into SRAM staging buffers (double-buffered): the part not pre-buffered
during the previous op is read from off-chip and written to SRAM, and the NPU reads the staged copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from cnncc.backends.ethos_u65.blocks import DEPTHWISE, ELEMENTWISE, POOL, VECTOR, BlockConfig, NpuOp
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.cycles import transfer_bytes


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _round_shape(shape: tuple[int, int, int], fmt: str) -> tuple[int, int, int]:
    return (shape[0], shape[1], _cdiv(shape[2], 16) * 16) if fmt == "NHCWB16" else shape


@dataclass(frozen=True)
class Traffic:
    """Bytes read/written per memory (``read``/``write``: {memory: bytes}) and access cycles per memory."""

    read: dict = field(default_factory=dict)
    write: dict = field(default_factory=dict)
    access_cycles: dict = field(default_factory=dict)
    weight_refetch: int = 1


def spatial_blocks(op: NpuOp, cfg: BlockConfig) -> int:
    """OFM blocks in W×H (how often the weights are fetched)."""
    return _cdiv(op.ofm[0], min(op.ofm[0], cfg.ofm[1])) * _cdiv(op.ofm[1], min(op.ofm[1], cfg.ofm[0]))


def element_reads(op: NpuOp, cfg: BlockConfig, arch: U65Config) -> tuple[int, int, int]:
    """(IFM1 element reads, IFM2 element reads, OFM element writes) before burst effects."""
    ofm_w = _round_shape(op.ofm, op.ofm_fmt)
    if op.kind == ELEMENTWISE:
        n = math.prod(_round_shape(op.ofm, op.ifm_fmt))
        r1 = n if math.prod(op.ifm) > 1 else 0
        r2 = n if (op.ifm2 is not None and math.prod(op.ifm2) > 1) else 0
        return r1, r2, math.prod(ofm_w)
    oblk = (min(op.ofm[0], cfg.ofm[1]), min(op.ofm[1], cfg.ofm[0]), min(op.ofm[2], cfg.ofm[2]))
    nblk_depth = 1 if op.kind in (DEPTHWISE, POOL) else _cdiv(op.ofm[2], oblk[2])
    count = _cdiv(op.ofm[0], oblk[0]) * _cdiv(op.ofm[1], oblk[1]) * nblk_depth
    sk_w, sk_h = (1, 1) if op.kind == VECTOR else arch.subkernel_max
    subk = _cdiv(op.kernel[1], sk_w) * _cdiv(op.kernel[0], sk_h)
    iblk_h, iblk_w = min(op.ifm[0], cfg.ifm[1]), min(op.ifm[1], cfg.ifm[0])
    fetch = iblk_h * iblk_w * _round_shape(op.ifm, op.ifm_fmt)[2]
    return fetch * subk * count, 0, math.prod(ofm_w)


def constants_placed(op: NpuOp, const: tuple[bool, bool], const_mem: str) -> NpuOp:
    """The elementwise op with its constant operands where Vela 5.2.0 keeps them: a constant tensor is read-only,
    so Regor forces it linear (NHWC, never the NHCWB16 brick format of feature maps; scheduler.cpp
    ``UpdateSchedulerTensor``) and leaves it in the memory holding constants (off-chip flash on Ethos-U55
    Shared_Sram, where it is read per OFM element in bursts of its own depth; performance.cpp
    ``EstimateMemoryTransfer``). ``const``: whether the (IFM, IFM2) operands are constants. A scalar costs no
    reads either way (element_reads)."""
    if op.kind != ELEMENTWISE or op.ifm2 is None:
        return op
    if const[1]:
        op = replace(op, ifm2_mem=const_mem, ifm2_fmt="NHWC")
    if const[0]:
        op = replace(op, ifm2_fmt=op.fmt2, ifm_mem=const_mem, ifm_fmt="NHWC")
    return op


def mem_to_mem_cycles(arch: U65Config, src: str, dst: str, nbytes: int) -> int:
    """DMA cycles to copy ``nbytes`` from ``src`` to ``dst``: the slower of reading the source (with its read
    latency) and writing the destination (with its write latency)."""
    s, d = arch.mem(src), arch.mem(dst)
    return max(int(nbytes / s.bytes_per_cycle) + s.read_latency, int(nbytes / d.bytes_per_cycle) + d.write_latency)


def op_traffic(op: NpuOp, cfg: BlockConfig, arch: U65Config, weight_src: str, staged: bool,
               prebuffered: int = 0) -> Traffic:
    """Bytes and access cycles of one op. ``weight_src``: memory holding the encoded weights; ``staged``: the
    weights are DMA'd into SRAM (then only the bytes not ``prebuffered`` earlier cross the off-chip bus)."""
    r1, r2, w = element_reads(op, cfg, arch)
    read: dict[str, float] = {SRAM: 0.0, OFFCHIP: 0.0}
    write: dict[str, float] = {SRAM: 0.0, OFFCHIP: 0.0}
    read[op.ifm_mem] += transfer_bytes(arch, True, op.ifm_mem, op.ifm_fmt, cfg.ifm, op.ifm, r1)
    if op.ifm2 is not None and r2:
        read[op.ifm2_mem] += transfer_bytes(arch, True, op.ifm2_mem, op.fmt2, cfg.ifm, op.ifm2, r2)
    write[op.ofm_mem] += transfer_bytes(arch, False, op.ofm_mem, op.ofm_fmt, cfg.ofm, op.ofm, w)
    refetch = 1
    if op.weight_bytes and op.kind not in (POOL, ELEMENTWISE):
        refetch = spatial_blocks(op, cfg)
        if staged:
            fresh = max(op.weight_bytes - prebuffered, 0)
            read[weight_src] += fresh
            write[SRAM] += fresh
            read[SRAM] += refetch * op.weight_bytes
        else:
            read[weight_src] += refetch * op.weight_bytes
        read[weight_src] += refetch * op.scale_bytes
    cyc = {m: int((read[m] + write[m]) / arch.mem(m).bytes_per_cycle) for m in (SRAM, OFFCHIP)}
    return Traffic({k: int(v) for k, v in read.items()}, {k: int(v) for k, v in write.items()}, cyc, refetch)
