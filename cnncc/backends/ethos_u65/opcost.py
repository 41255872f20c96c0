"""The cost of one layer's NPU work on Ethos-U (cycles at the core clock, bytes per memory): a compute op with Vela
5.2.0's per-op rule — NPU cycles (cycles.py), access cycles per memory (memory.py), the weight buffering Vela
chooses (weightbuf.py), total = max(NPU cycles, access cycles of each memory) — and the layers lowered to several
NPU ops (Transpose, data-movement copies, Softmax, MEAN), whose parts add up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnncc.backends.ethos_u65.blocks import CONV, ELEMENTWISE, POOL, NpuOp, find_block_config
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.cycles import npu_cycles
from cnncc.backends.ethos_u65.lower import Lowered
from cnncc.backends.ethos_u65.memory import element_reads, op_traffic
from cnncc.backends.ethos_u65.weightbuf import Buffering, Context
from cnncc.ir.graph import Graph, Layer


@dataclass(frozen=True)
class OpCost:
    """Cost of one layer on the target (cycles at the core clock, bytes per memory)."""

    device: str            # "npu" | "cpu" | "none"
    macs: int
    npu_cycles: int
    mac_cycles: int        # MAC-array cycles alone (all blocks)
    weight_dma_cycles: int
    access_cycles: dict
    read_bytes: dict
    write_bytes: dict
    cycles: int
    bound: str
    block: tuple | None
    traversal: str
    reason: str = ""
    buffer_bytes: int = 0  # SRAM of this op's weight buffers
    wbuf: Buffering | None = None  # the weight-buffering decision (weightbuf.py)
    elements: tuple[int, int, int] = (0, 0, 0)  # element reads of IFM, IFM2 and writes of the OFM
    input_copy: int = 0    # SRAM bytes of a graph input copied before this op (inputcopy.py; its cost included)
    copy_cycles: int = 0   # cycles of that copy (included in ``cycles``)


def encoded_weight_bytes(lw: Lowered, arch: U65Config) -> tuple[int, int]:
    """(encoded weight bytes, scale/bias bytes) of a layer: int8 weights × the layer's estimated encoding ratio
    plus Vela's zero padding of the encoded order (weights.py), × the target's ``weight_compression`` factor;
    10 B/channel of scale/bias."""
    from cnncc.backends.ethos_u65.blocks import VECTOR, part_kernel_first
    from cnncc.backends.ethos_u65.weights import PAD_BYTES, exact_weight_bytes, padded_weights

    if lw.codes is not None:   # the layer's own weights: Vela's exact encoded size (weights.py, codec.py)
        return exact_weight_bytes(lw, arch)

    pk = lw.kind == CONV and part_kernel_first(lw.ifm[2], lw.kernel[0] * lw.kernel[1])
    cin = lw.weight_elems // max(lw.out_channels * lw.kernel[0] * lw.kernel[1], 1) if lw.kind != VECTOR else lw.ifm[2]
    pad = max(padded_weights(lw.kind, lw.out_channels, cin, lw.kernel, pk, arch.ublock[2]) - lw.weight_elems, 0)
    w = int(math.ceil((lw.weight_elems * lw.weight_ratio + PAD_BYTES * pad) * arch.weight_compression))
    return w, arch.scale_bytes_per_channel * lw.out_channels


def npu_op(lw: Lowered, arch: U65Config, mems: tuple[str, str, str], fmts: tuple[str, str], ifm2_fmt: str = ""
           ) -> NpuOp:
    """The NPU op of a lowered layer; ``mems``: (IFM, IFM2, OFM) memories, ``fmts``: (IFM, OFM) formats,
    ``ifm2_fmt``: the second input map's format ("": as the IFM)."""
    wb, sb = encoded_weight_bytes(lw, arch) if lw.weight_elems else (0, 0)
    return NpuOp(lw.kind, lw.ifm, lw.ofm, lw.kernel, lw.stride, lw.dilation, lw.ifm2, lw.ao_kind, lw.act,
                  fmts[0], fmts[1], mems[0], mems[1], mems[2], wb, sb, lw.lut, ifm2_fmt, lw.codes,
                  lw.resample)


def cost_npu_op(op: NpuOp, arch: U65Config, ctx: Context | None = None, stripe: tuple[int, int] | None = None
                ) -> tuple[OpCost, int]:
    """Cost of one NPU op; returns it and the slack it leaves for pre-buffering the next op's weights (Vela's
    slack: the op's cycles, or its last depth slice's when its weights are buffered). ``ctx``: where the op sits
    (weightbuf.Context; default: alone). ``stripe``: (OFM rows, IFM rows) per stripe when the op runs in a
    cascade: Vela searches its block config for the stripe, not the whole map (the op is still costed whole)."""
    from cnncc.backends.ethos_u65.weightbuf import Context, propose

    ctx = ctx or Context()
    cfg = find_block_config(stripe_op(op, stripe) if stripe else op, arch)
    wbuf = propose(op, cfg, arch, ctx)
    staged = wbuf.mode != "none"
    const_lat = arch.mem(arch.const_mem).read_latency if op.kind not in (POOL, ELEMENTWISE) else 0
    oc = npu_cycles(op, cfg, arch, arch.sram.read_latency if staged else const_lat)
    npu = wbuf.npu if staged else oc.cycles
    if op.lut:
        npu += max(lut_dma_cycles(arch) - ctx.slack, 0)
    # buffered in depth slices, the weights are the slices' own streams (a little more than the layer's)
    moved = replace(op, weight_bytes=wbuf.weight_bytes) if staged and wbuf.weight_bytes else op
    tr = op_traffic(moved, cfg, arch, arch.const_mem, staged, wbuf.prebuffered_bytes)
    total = max([npu] + list(tr.access_cycles.values()))
    bound = _bound(oc, npu, tr.access_cycles, op)
    cost = OpCost("npu", oc.macs, npu, oc.mac_block * oc.blocks, wbuf.transfer, tr.access_cycles, tr.read,
                  tr.write, total, bound, cfg.ofm, cfg.traversal, buffer_bytes=wbuf.buffer_bytes, wbuf=wbuf,
                  elements=element_reads(op, cfg, arch))
    return cost, (wbuf.slack_next if staged else oc.cycles)


def lut_dma_cycles(arch: U65Config, nbytes: int = 256) -> int:
    """Cycles of the DMA that loads a LUT (``nbytes``: 256 for int8) from the constants' memory into SHRAM:
    the slower of reading it there (with that memory's read latency) and writing SHRAM, which Regor models as a
    memory of 1 byte per cycle without latency (measured: a LUT op first in a Sram_Only network costs 256
    cycles more than its own, on u65-256 and u65-512)."""
    src = arch.mem(arch.const_mem)
    return max(int(nbytes / src.bytes_per_cycle) + src.read_latency, nbytes)


def with_copy(cost: OpCost, copy: OpCost, nbytes: int) -> OpCost:
    """An op's cost with the MemoryCopy of its input run before it added (cycles, access cycles and bytes add);
    ``nbytes``: the SRAM buffer the copy writes."""
    acc = {m: cost.access_cycles.get(m, 0) + copy.access_cycles.get(m, 0) for m in (SRAM, OFFCHIP)}
    rd = {m: cost.read_bytes.get(m, 0) + copy.read_bytes.get(m, 0) for m in (SRAM, OFFCHIP)}
    wr = {m: cost.write_bytes.get(m, 0) + copy.write_bytes.get(m, 0) for m in (SRAM, OFFCHIP)}
    return replace(cost, npu_cycles=cost.npu_cycles + copy.npu_cycles, cycles=cost.cycles + copy.cycles,
                   access_cycles=acc, read_bytes=rd, write_bytes=wr, input_copy=nbytes, copy_cycles=copy.cycles)


def stripe_op(op: NpuOp, stripe: tuple[int, int]) -> NpuOp:
    """The op as one cascade stripe sees it (OFM and IFM heights cut to the stripe's rows)."""
    oh, ih = stripe
    i2 = (ih,) + op.ifm2[1:] if op.ifm2 is not None and op.ifm2[0] == op.ifm[0] else op.ifm2
    return replace(op, ofm=(oh,) + op.ofm[1:], ifm=(ih,) + op.ifm[1:], ifm2=i2)


def _bound(oc, npu: int, access: dict, op: NpuOp) -> str:
    mem_max = max(access.values()) if access else 0
    if mem_max > npu:
        return "dram" if access.get(OFFCHIP, 0) >= access.get(SRAM, 0) else "sram"
    if npu > oc.cycles * 1.05:
        return "dram"  # weight streaming from off-chip memory dominates the NPU time
    if op.kind not in (POOL, ELEMENTWISE) and oc.mac_block * oc.blocks < op.kernel[0] * op.kernel[1] * \
            math.prod(op.ofm) * (op.ifm[2] if op.kind != "depthwise" else 1) / 256 * 1.25:
        return "compute"
    return "weight-feed" if op.kind not in (POOL, ELEMENTWISE) else "compute"


def cost_transpose(lw: Lowered, arch: U65Config, src: str, dst: str) -> OpCost:
    """A Transpose as Vela 5.2.0 runs it: the NPU moves the map element by element, so every byte is its own
    memory access (measured on 4-D and 6-D int8 transposes in SRAM: access cycles = elements, NPU cycles ≈
    elements / 2 + 32); an off-chip side is slower by its bandwidth ratio to SRAM."""
    n = math.prod(lw.ifm)
    acc = {SRAM: 0, OFFCHIP: 0}
    for mem in (src, dst):
        acc[mem] += int(n / 2 * arch.sram.bytes_per_cycle / arch.mem(mem).bytes_per_cycle)
    npu = n // 2 + arch.sram.read_latency
    return OpCost("npu", 0, npu, 0, 0, acc, {src: n}, {dst: n}, max([npu] + list(acc.values())),
                  "sram" if max(acc.values()) >= npu else "compute", None, "")


def cost_copies(graph: Graph, layer: Layer, kinds: dict, pl, arch: U65Config) -> tuple[OpCost, list[int]]:
    """Sum of the MemoryCopies (datamove.py) a Concat/Slice/Split/Pad layer costs; 0 cycles when it is free.
    Returns the cost and the slack each copy leaves the op Vela runs after it, in the order of ``copies`` (the
    first one created runs last; a Split's copies each run just before their reader)."""
    from cnncc.backends.ethos_u65.datamove import CONST, copies, copy_op

    tot = {"npu": 0, "cycles": 0}
    acc, rd, wr = {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}
    dst = layer.outputs[0]
    slacks = []
    for box, src in copies(graph, layer, kinds):
        smem, sfmt = (arch.const_mem, "NHWC") if src == CONST else (pl.memory[src], pl.fmt[src])
        c, slack = cost_npu_op(copy_op(box, (smem, pl.memory[dst]), (sfmt, pl.fmt[dst])), arch)
        slacks.append(slack)
        tot["npu"] += c.npu_cycles
        tot["cycles"] += c.cycles
        for m in acc:
            acc[m] += c.access_cycles.get(m, 0)
            rd[m] += c.read_bytes.get(m, 0)
            wr[m] += c.write_bytes.get(m, 0)
    if not tot["cycles"]:
        return OpCost("none", 0, 0, 0, 0, acc, rd, wr, 0, "none", None, ""), slacks
    bound = "sram" if max(acc.values()) >= tot["npu"] else "compute"
    return OpCost("npu", 0, tot["npu"], 0, 0, acc, rd, wr, tot["cycles"], bound, None, ""), slacks


def cost_softmax(lw: Lowered, arch: U65Config, src: str, dst: str, fmts: tuple[str, str]) -> OpCost:
    """A Softmax as Vela's chain of NPU ops (softmax.py), plus a Transpose there and back when the softmax axis
    is not the NHWC depth; every part costed by the op rules above and summed."""
    from cnncc.backends.ethos_u65.softmax import softmax_ops

    parts = [cost_npu_op(op, arch)[0] for op in softmax_ops(lw.ifm, arch, src, dst, *fmts)]
    if lw.reason == "transposed":
        parts += [cost_transpose(lw, arch, src, SRAM), cost_transpose(lw, arch, SRAM, dst)]
    return replace(_sum_costs(parts), block=None, traversal="")


def _sum_costs(parts: list[OpCost]) -> OpCost:
    """One layer's cost from the NPU ops it is lowered to (cycles, access cycles and bytes add)."""
    acc, rd, wr = {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}
    for c in parts:
        for m in acc:
            acc[m] += c.access_cycles.get(m, 0)
            rd[m] += c.read_bytes.get(m, 0)
            wr[m] += c.write_bytes.get(m, 0)
    npu = sum(c.npu_cycles for c in parts)
    return OpCost("npu", sum(c.macs for c in parts), npu, sum(c.mac_cycles for c in parts),
                  sum(c.weight_dma_cycles for c in parts), acc, rd, wr, sum(c.cycles for c in parts),
                  "sram" if max(acc.values()) >= npu else "compute", parts[0].block, parts[0].traversal,
                  buffer_bytes=max(c.buffer_bytes for c in parts), wbuf=parts[0].wbuf)


def cost_mean(lw: Lowered, arch: U65Config, src: str, dst: str, fmts: tuple[str, str], ctx: Context | None = None
              ) -> tuple[OpCost, int]:
    """A MEAN as Vela's depthwise sums + 32-bit Adds and Mul (mean.py); the sums' weights are buffered as any
    op's (``ctx``). Returns the cost and the slack it leaves."""
    from cnncc.backends.ethos_u65.mean import mean_ops

    sums, rest = mean_ops(lw.ifm, arch, src, dst, fmts, lw.kernel)
    parts, slack = [], 0
    for k, op in enumerate(sums):
        c, slack = cost_npu_op(op, arch, ctx if k == 0 else replace(ctx or Context(), slack=slack, index=1,
                                                                      prev_npu=True))
        parts.append(c)
    from cnncc.backends.ethos_u65.wide import cost_wide

    for k, op in enumerate(rest):
        c, slack = cost_npu_op(op, arch)
        if k == len(rest) - 1:  # the Mul: 32-bit sums times a 32-bit constant read from the constants' memory
            c = cost_wide(op, (32, 32, 8), arch, 16 if op.ifm_fmt == "NHCWB16" else 1)
        parts.append(c)
    return _sum_costs(parts), slack
