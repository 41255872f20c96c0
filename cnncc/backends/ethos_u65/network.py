"""Network-level Ethos-U65 estimate: lower every layer, place the maps, cost every op in order.

Per op: NPU cycles (cycles.py), access cycles per memory (memory.py), weight DMA into SRAM with double
buffering (the transfer overlaps the op; the previous op's spare cycles pre-buffer the first part), and
total = max(NPU cycles, access cycles of each memory) — Vela 5.2.0's per-op rule; the network total is the sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL, NpuOp, find_block_config
from cnncc.backends.ethos_u65.cascade import Cascade, ChainOp, find_cascades
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.cycles import npu_cycles
from cnncc.backends.ethos_u65.lower import (
    CHAIN,
    CPU,
    FREE,
    FUSED,
    MEAN,
    MEMCOPY,
    SOFTMAX,
    TRANSPOSE,
    Lowered,
    fuse_activations,
    lower,
)
from cnncc.backends.ethos_u65.memory import element_reads, mem_to_mem_cycles, op_traffic
from cnncc.backends.ethos_u65.placement import Placement, place, sram_timeline
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


def encoded_weight_bytes(lw: Lowered, arch: U65Config) -> tuple[int, int]:
    """(encoded weight bytes, scale/bias bytes) of a layer: int8 weights × the layer's estimated encoding ratio
    plus Vela's zero padding of the encoded order (weights.py), × the target's ``weight_compression`` factor;
    10 B/channel of scale/bias."""
    from cnncc.backends.ethos_u65.blocks import VECTOR, part_kernel_first
    from cnncc.backends.ethos_u65.weights import PAD_BYTES, padded_weights

    pk = lw.kind == CONV and part_kernel_first(lw.ifm[2], lw.kernel[0] * lw.kernel[1])
    cin = lw.weight_elems // max(lw.out_channels * lw.kernel[0] * lw.kernel[1], 1) if lw.kind != VECTOR else lw.ifm[2]
    pad = max(padded_weights(lw.kind, lw.out_channels, cin, lw.kernel, pk, arch.ublock[2]) - lw.weight_elems, 0)
    w = int(math.ceil((lw.weight_elems * lw.weight_ratio + PAD_BYTES * pad) * arch.weight_compression))
    return w, arch.scale_bytes_per_channel * lw.out_channels


def npu_op(lw: Lowered, arch: U65Config, mems: tuple[str, str, str], fmts: tuple[str, str]) -> NpuOp:
    wb, sb = encoded_weight_bytes(lw, arch) if lw.weight_elems else (0, 0)
    return NpuOp(lw.kind, lw.ifm, lw.ofm, lw.kernel, lw.stride, lw.dilation, lw.ifm2, lw.ao_kind, lw.act,
                  fmts[0], fmts[1], mems[0], mems[1], mems[2], wb, sb, lw.lut)


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
    if op.lut and arch.const_mem == OFFCHIP:
        npu += max(mem_to_mem_cycles(arch, OFFCHIP, SRAM, 256) - ctx.slack, 0)  # the LUT's DMA into SHRAM
    tr = op_traffic(op, cfg, arch, arch.const_mem, staged, wbuf.prebuffered_bytes)
    total = max([npu] + list(tr.access_cycles.values()))
    bound = _bound(oc, npu, tr.access_cycles, op)
    cost = OpCost("npu", oc.macs, npu, oc.mac_block * oc.blocks, wbuf.transfer, tr.access_cycles, tr.read,
                  tr.write, total, bound, cfg.ofm, cfg.traversal, buffer_bytes=wbuf.buffer_bytes, wbuf=wbuf,
                  elements=element_reads(op, cfg, arch))
    return cost, (wbuf.slack_next if staged else oc.cycles)


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


def cost_copies(graph: Graph, layer: Layer, kinds: dict, pl, arch: U65Config) -> OpCost:
    """Sum of the MemoryCopies (datamove.py) a Concat/Slice/Split/Pad layer costs; 0 cycles when it is free."""
    from cnncc.backends.ethos_u65.datamove import CONST, copies, copy_op

    tot = {"npu": 0, "cycles": 0}
    acc, rd, wr = {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}, {SRAM: 0, OFFCHIP: 0}
    dst = layer.outputs[0]
    for box, src in copies(graph, layer, kinds):
        smem, sfmt = (arch.const_mem, "NHWC") if src == CONST else (pl.memory[src], pl.fmt[src])
        c, _ = cost_npu_op(copy_op(box, (smem, pl.memory[dst]), (sfmt, pl.fmt[dst])), arch)
        tot["npu"] += c.npu_cycles
        tot["cycles"] += c.cycles
        for m in acc:
            acc[m] += c.access_cycles.get(m, 0)
            rd[m] += c.read_bytes.get(m, 0)
            wr[m] += c.write_bytes.get(m, 0)
    if not tot["cycles"]:
        return OpCost("none", 0, 0, 0, 0, acc, rd, wr, 0, "none", None, "")
    bound = "sram" if max(acc.values()) >= tot["npu"] else "compute"
    return OpCost("npu", 0, tot["npu"], 0, 0, acc, rd, wr, tot["cycles"], bound, None, "")


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

    sums, rest = mean_ops(lw.ifm, arch, src, dst, fmts)
    parts, slack = [], 0
    for k, op in enumerate(sums):
        c, slack = cost_npu_op(op, arch, ctx if k == 0 else replace(ctx or Context(), slack=slack, index=1,
                                                                      prev_npu=True))
        parts.append(c)
    for op in rest:
        c, slack = cost_npu_op(op, arch)
        parts.append(c)
    return _sum_costs(parts), slack


@dataclass(frozen=True)
class Estimate:
    """Every layer's cost in order, the feature-map placement (with the peak SRAM use: maps, weight buffers and
    cascade buffers live at one time) and the weight-buffer and feature-map parts of it (bytes)."""

    rows: list[tuple[Layer, Lowered, OpCost]]
    placement: Placement
    staging_bytes: int           # the largest weight buffer of one op
    activation_peak_bytes: int = 0   # the most SRAM bytes of feature maps live at one time

    @property
    def peak_sram_bytes(self) -> int:
        return self.placement.peak_sram_bytes


def estimate(graph: Graph, arch: U65Config) -> Estimate:
    """Cost every layer in order (see module doc). With an off-chip arena, Vela's order: the weight buffering is
    chosen with the feature maps off-chip (its schedule), then the fast-storage allocator (faststorage.py) moves
    maps into SRAM, and the ops are costed again with those placements and the buffering chosen before."""
    from cnncc.backends.ethos_u65.faststorage import allocate
    from cnncc.backends.ethos_u65.transposes import cancelling_transposes

    gone = cancelling_transposes(graph)
    lowered = [Lowered(FREE, ofm=lw.ofm, reason="cancelling transposes") if layer.name in gone else lw
               for layer, lw in zip(graph.layers, (lower(graph, x) for x in graph.layers))]
    lowered, _ = fuse_activations(graph, graph.layers, lowered)
    cascades = cascades_of(graph, lowered, arch)
    pl = place(graph, lowered, arch, cascades)
    costs, slacks = _cost_pass(graph, lowered, arch, pl, cascades)
    n = len(graph.layers)
    fixed = [0] * n
    for c in cascades:
        for k in range(c.start, c.end + 1):
            fixed[k] += c.buffer_bytes
    prev = -1
    for k, c in enumerate(costs):
        if not casc_member(cascades, k):
            fixed[k] += c.buffer_bytes
            if prev >= 0 and c.wbuf is not None and c.wbuf.prebuffered_bytes:
                fixed[prev] += c.buffer_bytes  # a pre-buffered weight buffer is live during the op before
        if c.device == "npu":
            prev = k
    if arch.arena_mem == OFFCHIP and arch.cache_bytes:
        cands = candidates(graph, lowered, pl, costs, cascades)
        host = {k for k, lw in enumerate(lowered) if lw.kind == CPU}
        kept = allocate(cands, fixed, arch.cache_bytes, host)
        kept = sanitize(graph, lowered, pl, kept, cascades)
        pl = place(graph, lowered, arch, cascades, kept)
        costs, _ = _cost_pass(graph, lowered, arch, pl, cascades, [c.wbuf for c in costs], slacks)
    use = sram_timeline(pl, n)
    peak = max((u + f for u, f in zip(use, fixed)), default=0)
    rows = [(layer, lw, c) for layer, lw, c in zip(graph.layers, lowered, costs)]
    return Estimate(rows, replace(pl, peak_sram_bytes=peak), max((c.buffer_bytes for c in costs), default=0),
                    max(use, default=0))


def casc_member(cascades: list[Cascade], k: int) -> bool:
    return any(c.start <= k <= c.end for c in cascades)


def candidates(graph: Graph, lowered: list[Lowered], pl: Placement, costs: list[OpCost], cascades: list[Cascade]):
    """The maps Vela's fast-storage allocator may keep in SRAM, with their live ranges and element accesses."""
    from cnncc.backends.ethos_u65.faststorage import LiveRange

    layers = graph.layers
    out_root = {pl.root[o] for o in graph.outputs}
    cpu_read = {pl.root[t] for layer, lw in zip(layers, lowered) if lw.kind == CPU for t in layer.inputs
                if t in pl.root}
    access: dict[str, int] = {}
    ew_only: dict[str, bool] = {}
    producer: dict[str, tuple[int, str]] = {}
    for k, (layer, lw) in enumerate(zip(layers, lowered)):
        acts = [t for t in layer.inputs if not graph.is_weight(t)]
        r1, r2, w = costs[k].elements
        for j, t in enumerate(acts[:2]):
            if t in pl.root:
                r = pl.root[t]
                access[r] = access.get(r, 0) + (r1 if j == 0 else r2)
                ew_only[r] = ew_only.get(r, True) and lw.kind == ELEMENTWISE
        for o in layer.outputs:
            r = pl.root[o]
            access[r] = access.get(r, 0) + w
            if r not in producer:
                producer[r] = (k, lw.kind)
    out = []
    for r, (k, kind) in sorted(producer.items(), key=lambda x: (pl.ranges[x[0]][0], x[0])):
        if kind in (CPU, FREE) or r in out_root or r in cpu_read or r in pl.inner or casc_member(cascades, k):
            continue
        a, b = pl.ranges[r]
        if b <= a:
            continue  # no reader
        out.append(LiveRange(r, a, b, pl.size[r], access.get(r, 0), ew_only.get(r, False)))
    return out


def sanitize(graph: Graph, lowered: list[Lowered], pl: Placement, kept: set[str], cascades: list[Cascade]
             ) -> set[str]:
    """Vela's elementwise sanitiser: an op with an input left off-chip has its other inputs that only elementwise
    ops read evicted too."""
    kept = set(kept)
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if lw.kind in (FREE, FUSED, CPU) or any(c.start < k <= c.end for c in cascades):
            continue
        ins = [pl.root[t] for t in layer.inputs if t in pl.root and not graph.is_weight(t)]
        if any(r not in kept and r not in pl.inner for r in ins):
            for r in ins:
                readers = [lowered[j].kind for j, x in enumerate(graph.layers)
                           if any(pl.root.get(t) == r for t in x.inputs)]
                if r in kept and all(kind == ELEMENTWISE for kind in readers):
                    kept.discard(r)
    return kept


def _cost_pass(graph: Graph, lowered: list[Lowered], arch: U65Config, pl: Placement, cascades: list[Cascade],
               forced: list | None = None, slacks_in: list[int] | None = None) -> tuple[list[OpCost], list[int]]:
    """Every layer's cost with placement ``pl``; ``forced``/``slacks_in``: weight-buffering decisions and slack
    cycles of an earlier pass to keep. Returns the costs and the slack each op was given."""
    stripe_of = {k: c.stripes[k - c.start] for c in cascades for k in range(c.start, c.end + 1)}
    casc_of = {k: c for c in cascades for k in range(c.start, c.end + 1)}
    staging_limit = arch.cache_bytes if arch.arena_mem == OFFCHIP and arch.cache_bytes else 1 << 30
    out: list[OpCost] = []
    given: list[int] = []
    slack, npu_index, prev_npu, prev_free = 0, 0, False, staging_limit
    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    for idx, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if slacks_in is not None:
            slack = slacks_in[idx]
        given.append(slack)
        acts = [t for t in layer.inputs if not graph.is_weight(t)]
        mems = (pl.memory[acts[0]], pl.memory[layer.outputs[0]]) if acts else (SRAM, SRAM)
        fmts = (pl.fmt[acts[0]], pl.fmt[layer.outputs[0]]) if acts else ("NHWC", "NHWC")
        if lw.kind in (FREE, FUSED):
            cost = OpCost("none", 0, 0, 0, 0, {SRAM: 0, OFFCHIP: 0}, {}, {}, 0, "none", None, "", lw.reason)
        elif lw.kind == CPU:
            cost = OpCost("cpu", graph.macs(layer), 0, 0, 0, {SRAM: 0, OFFCHIP: 0}, {}, {}, 0, "cpu", None, "",
                          lw.reason)
            slack = 0
        elif lw.kind == MEMCOPY:
            cost = cost_copies(graph, layer, kinds, pl, arch)
            slack = cost.cycles or slack  # a Concat written in place runs no op of its own
        elif lw.kind == TRANSPOSE:
            cost = cost_transpose(lw, arch, *mems)
            slack = cost.cycles
        elif lw.kind == SOFTMAX:
            cost = cost_softmax(lw, arch, *mems, fmts)
            slack = 0
        elif lw.kind == CHAIN:
            from cnncc.backends.ethos_u65.composite import chain_ops

            cost = _sum_costs([cost_npu_op(op, arch)[0] for op in chain_ops(graph, layer, arch, *mems, fmts)])
            slack = cost.cycles
        elif lw.kind == MEAN:
            ctx = Context(npu_index, prev_npu, slack, staging_limit, prev_free,
                          forced=forced[idx] if forced else None)
            cost, slack = cost_mean(lw, arch, *mems, fmts, ctx)
            prev_free = max(staging_limit - cost.buffer_bytes, 0)
        else:
            i2 = acts[1] if len(acts) > 1 else acts[0]
            op = npu_op(lw, arch, (mems[0], pl.memory[i2], mems[1]), fmts)
            c = casc_of.get(idx)
            limit = staging_limit - (c.buffer_bytes if c else 0)
            ctx = Context(npu_index, prev_npu, slack, max(limit, 0), prev_free, c is not None,
                          c is not None and c.start == idx, -(-lw.ofm[0] // stripe_of[idx][0]) if c else 1,
                          forced[idx] if forced else None)
            cost, slack = cost_npu_op(op, arch, ctx, stripe_of.get(idx))
            prev_free = max(limit - cost.buffer_bytes, 0)
        if cost.device == "npu":
            npu_index += 1
        if lw.kind not in (FREE, FUSED):
            prev_npu = cost.device == "npu"
        out.append(cost)
    return out, given


CASCADABLE = (CONV, DEPTHWISE, POOL, ELEMENTWISE)
CASCADE_WEIGHTS = False


def cascades_of(graph: Graph, lowered: list[Lowered], arch: U65Config) -> list[Cascade]:
    """Vela's cascades of the layer sequence (cascade.py); none when feature maps live in SRAM anyway. Activations
    fused into their producer are no ops of their own: the producer writes the activation's output."""
    if arch.arena_mem != OFFCHIP or not arch.cache_bytes:
        return []
    layers = graph.layers
    keep = [k for k, lw in enumerate(lowered) if lw.kind != FUSED]
    out_of = {}
    for k, layer in enumerate(layers):
        out_of[k] = layer.outputs[0]
        if lowered[k].kind == FUSED and k > 0:
            src = graph.producer(layer.inputs[0])
            j = next(i for i in range(k) if layers[i] is src)
            out_of[j] = layer.outputs[0]
    chain = []
    for n, k in enumerate(keep):
        layer, lw = layers[k], lowered[k]
        link = False
        if lw.kind in CASCADABLE and n + 1 < len(keep) and lowered[keep[n + 1]].kind in CASCADABLE:
            out, nxt = out_of[k], layers[keep[n + 1]]
            acts = [t for t in nxt.inputs if not graph.is_weight(t)]
            link = (len(graph.consumers(out)) == 1 and out not in graph.outputs and acts[0] == out
                    and lowered[keep[n + 1]].ifm == lw.ofm)
        wb = sum(encoded_weight_bytes(lw, arch)) if lw.weight_elems and CASCADE_WEIGHTS else 0
        chain.append(ChainOp(lw.ifm, lw.ofm, (lw.kernel[0] - 1) * lw.dilation[0] + 1, lw.stride[0],
                             lw.kind == ELEMENTWISE, wb, link))
    out = []
    for c in find_cascades(chain, arch.cache_bytes):
        stripes, last = [], c.stripes[0]
        for k in range(keep[c.start], keep[c.end] + 1):
            if k in keep:
                last = c.stripes[keep.index(k) - c.start]
            stripes.append(last)  # a fused activation runs with its producer's stripe
        out.append(replace(c, start=keep[c.start], end=keep[c.end], stripes=tuple(stripes)))
    return out


class _Const(dict):
    """A mapping that answers every key with one value (placement of an isolated layer: all maps in SRAM)."""

    def __init__(self, value: str):
        super().__init__()
        self.value = value

    def __missing__(self, key: str) -> str:
        return self.value


def isolated_cycles(graph: Graph, layer: Layer, arch: U65Config, cpu_cost) -> float:
    """Cycles of one layer run alone with its maps in SRAM (the abconv cost hook; see EthosU65Backend)."""
    from types import SimpleNamespace

    lw = lower(graph, layer)
    if lw.kind == FREE:
        return 0.0
    if lw.kind == CPU:
        return float(cpu_cost(graph, layer, arch))
    if lw.kind == TRANSPOSE:
        return float(cost_transpose(lw, arch, SRAM, SRAM).cycles)
    if lw.kind == SOFTMAX:
        return float(cost_softmax(lw, arch, SRAM, SRAM, ("NHWC", "NHWC")).cycles)
    if lw.kind == CHAIN:
        from cnncc.backends.ethos_u65.composite import chain_ops

        return float(sum(cost_npu_op(op, arch)[0].cycles
                         for op in chain_ops(graph, layer, arch, SRAM, SRAM, ("NHCWB16", "NHCWB16"))))
    if lw.kind == MEAN:
        return float(cost_mean(lw, arch, SRAM, SRAM, ("NHCWB16", "NHCWB16"))[0].cycles)
    if lw.kind == MEMCOPY:
        kinds = {x.name: lower(graph, x).kind for x in graph.layers}
        pl = SimpleNamespace(memory=_Const(SRAM), fmt=_Const("NHCWB16"))
        return float(cost_copies(graph, layer, kinds, pl, arch).cycles)
    op = npu_op(lw, arch, (SRAM, SRAM, SRAM), ("NHCWB16", "NHCWB16"))
    return float(cost_npu_op(op, arch)[0].cycles)
