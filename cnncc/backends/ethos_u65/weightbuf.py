"""Weight buffering: whether Vela 5.2.0 DMAs an op's off-chip weights into SRAM buffers, in which OFM depth slices,
single or double buffered, and what the op then costs. Our own formulation of the rules of Regor's
``Scheduler::ProposeSlicedWeightBuffering`` / ``TryWeightBuffering`` and ``NetworkPerformance::
EstimateFullOpPerformance`` (ethos-u-vela's ethosu/regor/compiler, read in the public fork hapv3/neural-compiler).

Cycle words (core cycles): *unmoved* = the weights read straight from off-chip memory (bytes / bandwidth + read
latency, × refetches = spatial OFM blocks); *from buffer* = the same from SRAM; *transfer* = the DMA off-chip ->
SRAM (the slower side plus its latency). *Slack* = cycles of the previous op a DMA can hide under (its last depth
slice when it was buffered itself, else the whole op); 0 for the first op.

Choice: no buffering when reading from SRAM is not faster. Depth slicing is tried (not inside a cascade) when the
op has no NPU predecessor and fetches the weights several times with a short first transfer (≤ 1000 cycles or
< 1/10 of unmoved), or when buffering beats unmoved, or when more than two OFM blocks deep, or when the first
16-channel transfer hides under the slack with several refetches. Full-depth single buffering instead when the
op cannot be sliced and the transfer hides (≥ 95 %, or < 1000 cycles visible). Sliced: the pre-buffered first
slice is what the slack covers (at least 16 channels, at most half the buffer); later slices what the op's own
first slice hides, rounded to the block depth. Double buffering when both largest alternate slices fit the
buffer and there is more than one slice; single when one slice fits; else none. The choice is kept only when the
buffered op is no slower than the unbuffered one (max of op, weight-read and IFM-read cycles; a visible DMA
under 1000 cycles a slice is not counted for op-dominated ops) and, for weights fetched once, the transfer plus
the read from SRAM stays under the unbuffered op.

Sizes: Vela encodes every depth slice as its own streams, so with the layer's weights known each slice's bytes are
its own encoded size (weights.depth_range_bytes, exact up to SLICE_EXACT_VALUES per stream; slightly more than
its share of the whole layer), used for the
buffer fit, double/single choice, each slice's DMA and the op's weight traffic; the whole-layer size still gives
the full transfer and the first slicing guess, as in Regor. IFM reads (ifm_read_estimate: every slice fetches the
IFM again; the stripe's input area) count in both the buffered and unbuffered estimate: from the IFM's memory, or
from SRAM when the IFM is an NPU-produced map and it fits beside the buffers (Vela expects it staged then); when it
does not fit and staging the IFM alone would beat the buffered weights, no buffering.

Cost when buffered: NPU = max(transfer − slack + last slice cycles, op cycles + first-slice transfer − slack).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnncc.backends.ethos_u65.blocks import BlockConfig, NpuOp
from cnncc.backends.ethos_u65.codec import SAMPLE
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.cycles import npu_cycles
from cnncc.backends.ethos_u65.memory import element_reads, mem_to_mem_cycles, spatial_blocks
from cnncc.backends.ethos_u65.weights import WeightCodes, depth_range_bytes, scale_section_bytes

SPLIT = 16              # OFM split depth (channels) of Ethos-U55/U65
STARTUP = 1000          # cycles: Vela's startup-delay allowance
#: A depth slice's streams are sized exactly up to this many values (64 Ki), beyond from samples of their sections
#: (a whole layer's stays exact up to a 128 Ki section, codec.EXACT_VALUES): slicing cuts a layer that is sized from
#: samples as one long stream into slices of up to a section, and sizing those exactly made an Ethos-U compile of
#: MobileNetV1-CIFAR ~1.2x slower. Sampled sizes of the sample models' 92 distinct 16-128 Ki-value streams: mean
#: -0.008 %, p95 0.39 %, at most 0.61 % off the exact size.
SLICE_EXACT_VALUES = 4 * SAMPLE


@dataclass(frozen=True)
class Buffering:
    """The decision: mode "none" | "single" | "double", the OFM depth slice boundaries, the SRAM bytes of the
    buffers, NPU cycles of the op (incl. visible DMA), the slack it leaves the next op, DMA cycles in all."""

    mode: str
    slices: tuple[int, ...]
    buffer_bytes: int
    npu: int
    slack_next: int
    transfer: int = 0
    prebuffered_bytes: int = 0   # weight bytes DMA'd during the previous op (not this op's traffic)
    weight_bytes: int = 0        # encoded weight bytes as buffered (the slices' own streams; 0: not buffered)
    parts: tuple[int, ...] = ()  # bytes of each buffer (one single, two double buffered)


@dataclass(frozen=True)
class Context:
    """Where an op sits: its index in the NPU op sequence, whether the op before it ran on the NPU, the slack cycles
    it leaves, the SRAM bytes free for buffers now (``limit``) and during the previous op (``prev_free``), and the
    cascade it belongs to (``stripes``: stripe repeats, 1 if none)."""

    index: int = 0
    prev_npu: bool = False
    slack: int = 0
    limit: int = 1 << 30
    prev_free: int = 1 << 30
    in_cascade: bool = False
    first_in_cascade: bool = False
    stripes: int = 1
    forced: Buffering | None = None   # a decision taken earlier (Vela schedules before it places feature maps)
    ifm_movable: bool = True          # an NPU-produced map, not a graph input (Vela can stage it in SRAM)
    stripe_rows: int = 0              # OFM rows of the op's cascade stripe (0: the whole map)


def _ra(v: float, m: int) -> int:
    return int(-(-int(v) // m) * m)


def _rz(v: float, m: int) -> int:
    return int(v) // m * m


def _read(arch: U65Config, mem: str, nbytes: float) -> int:
    m = arch.mem(mem)
    return int(nbytes / m.bytes_per_cycle) + m.read_latency


def _slice(op: NpuOp, depth: int) -> NpuOp:
    c = op.ofm[2]
    return replace(op, ofm=op.ofm[:2] + (depth,), weight_bytes=int(op.weight_bytes * depth / c),
                   scale_bytes=int(op.scale_bytes * depth / c))


def _cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, mem: str, sched: str = "single") -> int:
    return npu_cycles(op, cfg, arch, arch.mem(mem).read_latency, sched).cycles


def _ranges(op: NpuOp, cfg: BlockConfig, arch: U65Config, slices: list[int]) -> list[int]:
    """Encoded bytes (weights + scales) of each depth slice: Vela encodes every slice as its own streams, so with
    the layer's weights known (``op.codes``) each slice's exact size (weights.depth_range_bytes: its own palettes,
    parameter runs and 16-byte paddings, slightly more than its share); without them the linear share."""
    full = op.weight_bytes + op.scale_bytes
    c = op.ofm[2]
    if len(slices) == 2:
        return [full]
    codes = op.codes
    if isinstance(codes, WeightCodes) and codes.channels == c:
        return list(depth_range_bytes(codes, cfg.traversal, cfg.ofm[2], arch, tuple(slices), SLICE_EXACT_VALUES))
    return [int(full * (b - a) / c) for a, b in zip(slices, slices[1:])]


def weight_read_cycles(op: NpuOp, cfg: BlockConfig, arch: U65Config, mem: str, slices: list[int],
                       refetch: int) -> int:
    """Cycles to read the weights of every slice ``refetch`` times from ``mem``: as Regor sizes it, one read of
    the mean fetch (all slices' bytes × refetches / fetches) per fetch, so each fetch pays the read latency."""
    ranges = _ranges(op, cfg, arch, slices)
    fetches = refetch * len(ranges)
    return _read(arch, mem, sum(ranges) * refetch // fetches) * fetches


def _sliced(op: NpuOp, cfg: BlockConfig, arch: U65Config, slices: list[int], slack: int, double: bool
            ) -> tuple[int, int, int]:
    """(op cycles, visible DMA cycles, last slice cycles) of the op run slice by slice from SRAM."""
    run = visible = last = 0
    n = len(slices) - 1
    for k, ((a, b), nbytes) in enumerate(zip(zip(slices, slices[1:]), _ranges(op, cfg, arch, slices))):
        sched = "single" if n == 1 else ("first" if k == 0 else ("last" if k == n - 1 else "middle"))
        last = _cycles(_slice(op, b - a), cfg, arch, SRAM, sched)
        visible += max(mem_to_mem_cycles(arch, OFFCHIP, SRAM, nbytes) - slack, 0)
        run += last
        slack = last if double else 0
    return run, visible, last


def _depth_slices(op: NpuOp, cfg: BlockConfig, arch: U65Config, ratio: float, half: int, full: int,
                  transfer: int) -> tuple[list[int], int]:
    """Depth slices for a pre-buffer ``ratio`` of the weights (see module doc) and the buffering depth."""
    c, block = op.ofm[2], cfg.ofm[2]
    slices = [0, c]
    buf = 0
    pre = max(_rz(c * ratio, SPLIT), SPLIT)
    if pre < c:
        pre_cycles = _cycles(_slice(op, pre), cfg, arch, SRAM, "first")
        buf = _ra(max(int(c * pre_cycles / max(transfer, 1)), SPLIT), block)
        if buf / c * full > half:
            buf = int(half / full * c)
    while buf:
        buf = max(_rz(buf, block if buf > block else SPLIT), SPLIT)
        slices = [0] + list(range(pre, c, buf)) + [c]
        if max(_ranges(op, cfg, arch, slices)) <= half or (pre == SPLIT and buf == SPLIT):
            break
        if buf > pre:
            buf = _ra(buf // 2, SPLIT)
        else:
            pre = _ra(pre // 2, SPLIT)
    return slices, buf


def ifm_read_estimate(op: NpuOp, cfg: BlockConfig, arch: U65Config, slices: list[int], stripe_rows: int
                      ) -> tuple[int, int, float]:
    """Regor's IFM estimate for a buffering choice: (IFM element reads of one stripe, summed over the depth slices:
    each slice reads the IFM again; IFM bytes of one stripe; stripe repeats). A stripe reads the input rows and
    columns its OFM needs ((out - 1) × stride + dilated kernel, at most the IFM), not the padded whole."""
    oh = stripe_rows or op.ofm[0]
    kh, kw = (op.kernel[0] - 1) * op.dilation[0] + 1, (op.kernel[1] - 1) * op.dilation[1] + 1
    ifm = (min((oh - 1) * op.stride[0] + kh, op.ifm[0]), min((op.ofm[1] - 1) * op.stride[1] + kw, op.ifm[1]),
           op.ifm[2])
    reads = sum(element_reads(replace(op, ofm=(oh, op.ofm[1], b - a), ifm=ifm), cfg, arch)[0]
                for a, b in zip(slices, slices[1:]))
    return reads, math.prod(ifm), max(1.0, op.ofm[0] / oh)


def propose(op: NpuOp, cfg: BlockConfig, arch: U65Config, ctx: Context) -> Buffering:
    """Vela's weight-buffering decision and the op's NPU cycles under it (see module doc)."""
    unbuf = _cycles(op, cfg, arch, arch.const_mem)
    none = Buffering("none", (0, op.ofm[2]), 0, unbuf, unbuf)
    if not op.weight_bytes or arch.const_mem == SRAM:
        return none
    full = op.weight_bytes + op.scale_bytes
    c = op.ofm[2]
    transfer = mem_to_mem_cycles(arch, OFFCHIP, SRAM, full)
    if ctx.forced is not None:
        f = ctx.forced
        if f.mode == "none" or f.slices[-1] != c:
            return none
        # Vela's final costing keeps the schedule's slack cycles (its last slice as scheduled)
        return _buffered(op, cfg, arch, ctx, f.mode, list(f.slices), f.buffer_bytes, transfer, f.slack_next,
                         f.prebuffered_bytes > 0)
    refetch = spatial_blocks(op, cfg) * ctx.stripes
    unmoved = _read(arch, OFFCHIP, full) * refetch
    from_buf = _read(arch, SRAM, full) * refetch
    if from_buf >= unmoved:
        return none
    can_slice = not ctx.in_cascade
    slack = ctx.slack
    smallest = int(transfer * min(c, SPLIT) / c)
    allow_pre = ctx.index != 0 and (not ctx.in_cascade or ctx.first_in_cascade)
    force = not ctx.prev_npu and refetch > 1 and (smallest < unmoved // 10 or smallest <= STARTUP)
    dominated = unbuf > unmoved
    visible_full = max(transfer - slack, 0)
    full_buffered = from_buf + visible_full
    method = ""
    if can_slice and (force or full_buffered < unmoved or c // cfg.ofm[2] > 2
                      or (allow_pre and smallest < slack and refetch > 1)):
        method = "sliced"
    hidden = visible_full < transfer / 20 or math.ceil(visible_full / ctx.stripes) < STARTUP
    if full <= ctx.limit and not can_slice and (hidden or force) and (full_buffered < unmoved or not dominated):
        method = "single-slice"
    if not method:
        return none
    half = ctx.limit // 2
    ratio = 1.0
    if method == "sliced":
        min_split = min(SPLIT / c, 1.0)
        tr = min(slack / transfer, 1.0)
        aligned = math.floor(tr / min_split) * min_split
        ratio = 1.0 if (1.0 - aligned) < min_split / 2 else tr
        if dominated and 0.5 < ratio < 1.0:
            ratio = min(max(_ra(math.floor(c * 0.5), SPLIT) / c, 0.5), 1.0)
        ratio = min(max(ratio, min_split), min(half / full, 1.0))
    slices = [0, c]
    if ratio < 1.0:
        slices, buf = _depth_slices(op, cfg, arch, ratio, half, full, transfer)
        if len(slices) > 3 and buf / _ra(buf, cfg.ofm[2]) < 0.3 and dominated:
            return none
    ranges = _ranges(op, cfg, arch, slices)
    double = max(ranges[0::2]) + max(ranges[1::2], default=0) if len(ranges) > 1 else 0
    if len(ranges) > 1 and double <= ctx.limit:
        mode, size = "double", double
    elif min(full, max(ranges)) <= ctx.limit:
        mode, size = "single", min(full, max(ranges))
    else:
        return none
    parts = (max(ranges[0::2]), max(ranges[1::2])) if mode == "double" else (size,)
    part0 = parts[0]   # Regor's first buffer part: the largest even-numbered slice
    pre = allow_pre and part0 < ctx.prev_free
    usable = slack if pre else (STARTUP if force else 0)
    run, visible, last = _sliced(op, cfg, arch, slices, usable, mode == "double")
    run *= ctx.stripes
    wread = weight_read_cycles(op, cfg, arch, SRAM, slices, refetch)
    ifm_reads, ifm_size, repeats = ifm_read_estimate(op, cfg, arch, slices, ctx.stripe_rows)
    ifm_cycles = int(repeats * _read(arch, op.ifm_mem, ifm_reads))
    if ctx.ifm_movable and not (ctx.in_cascade and not ctx.first_in_cascade):
        both_fit = ifm_size + sum(parts) <= ctx.limit
        if not both_fit:
            # Vela gives up the weights when staging the IFM alone would be better
            staged = int(repeats * _read(arch, SRAM, ifm_read_estimate(op, cfg, arch, [0, c], ctx.stripe_rows)[0]))
            ifm_first = max(unbuf, unmoved, staged)
            weights_first = max(run + visible, wread, ifm_cycles)
            if ifm_size < ctx.prev_free and ifm_first < weights_first and ifm_first < ifm_cycles:
                return none
        else:
            ifm_cycles = int(repeats * _read(arch, SRAM, ifm_reads))  # both fit: the IFM is expected staged too
    original = max(unbuf, unmoved, ifm_cycles)
    new = max(run + visible, wread, ifm_cycles)
    if dominated:
        if visible / (len(slices) - 1) < STARTUP:
            new -= visible
        if len(slices) > 2 and run + visible == new and force:
            new -= (len(slices) - 1) * (STARTUP // 2)
    if original < new or (refetch == 1 and transfer + wread > original):
        return none
    return _buffered(op, cfg, arch, ctx, mode, slices, size, transfer, last, pre)


def _buffered(op: NpuOp, cfg: BlockConfig, arch: U65Config, ctx: Context, mode: str, slices: list[int], size: int,
              transfer: int, last: int, pre: bool) -> Buffering:
    """The op's NPU cycles with its weights buffered (see module doc); a pre-buffered first slice's bytes are not
    this op's traffic."""
    buffered = _cycles(op, cfg, arch, SRAM)
    ranges = _ranges(op, cfg, arch, slices)
    first = mem_to_mem_cycles(arch, OFFCHIP, SRAM, ranges[0])
    npu = max(transfer - ctx.slack + last, buffered + max(first - ctx.slack, 0))
    # Regor's access counts: the weights without their scale sections, less the first slice (scales included)
    # when it was DMA'd during the previous op
    weights = op.weight_bytes
    if len(slices) > 2 and isinstance(op.codes, WeightCodes):
        weights = sum(ranges) - scale_section_bytes(tuple(slices), arch.cores)
    parts = (max(ranges[0::2]), max(ranges[1::2])) if mode == "double" else (size,)
    return Buffering(mode, tuple(slices), size, npu, last, transfer, ranges[0] if pre else 0, weights, parts)
