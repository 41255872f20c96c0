"""The weight buffers Vela 5.2.0's stripe search counts in a cascade's memory (cascade.py): before it proposes stripe
heights, Regor buffers the weights of the chain's ops on the minimal schedule (``OptimizeSubSchedule`` calls
``ProposeScheduleBuffering`` on the sub-schedule; our own formulation of its full-depth branch for cascaded ops,
read in hapv3/neural-compiler e4b56335, ethosu/regor/compiler/scheduler.cpp). Those buffers stay in the memory
every proposal is checked against, even where the final buffering (weightbuf.py, at the chosen stripes) drops them.

Per op, in order, at its minimal stripe (as many OFM rows as the next op's stride; ``repeats`` = OFM rows / stripe
rows): cascaded ops are not depth-sliced, so the only choice is the whole encoded weights in one buffer, taken when

* reading them from SRAM is faster than from off-chip, over the refetches (the whole map's OFM blocks at the
  stripe's block config × ceil(repeats));
* the buffer fits the SRAM still free (the chain's rolling buffers at minimal stripes, the bytes reserved beside
  it and the buffers of the ops before it taken), and its DMA is hidden (visible < 1/20 of the transfer, or under
  Vela's 1000-cycle startup allowance a stripe) or forced (no NPU op before it, refetched, a short transfer); and
  buffered reads beat off-chip ones or the op is not op-dominated;
* the op is no slower with it: max(op, weight reads, IFM reads) with the weights in SRAM and the visible DMA
  (dropped for an op-dominated op when under 1000 cycles) is not above the same unbuffered; the op cycles are one
  stripe's × repeats. The first op of the chain compares against staging its IFM instead, as weightbuf does.

Slack (cycles a DMA hides under): the previous op's cycles; one stripe's cycles after an op whose weights were
buffered. The first op of the network, and ops inside the chain, are not pre-buffered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from cnncc.backends.ethos_u65.blocks import find_block_config
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.lower import Lowered
from cnncc.backends.ethos_u65.memory import mem_to_mem_cycles, spatial_blocks
from cnncc.backends.ethos_u65.opcost import npu_op, stripe_op
from cnncc.backends.ethos_u65.weightbuf import SPLIT, STARTUP, _cycles, _read, ifm_read_estimate

__all__ = ["schedule_weights"]


def schedule_weights(ops: Sequence[Lowered], arch: U65Config, fmts: Sequence[tuple[str, str]], npu: Sequence[bool],
                     sram_ifm: Sequence[bool], graph_ifm: Sequence[bool]):
    """The ``staged`` hook of cascade.find_cascades for lowered ops ``ops`` (the cascade rules' op list): ``fmts``
    (IFM, OFM) formats, ``npu`` whether each runs on the NPU, ``sram_ifm`` whether its IFM is a copy in SRAM (Vela's
    input copy), ``graph_ifm`` whether its IFM is a graph input (no producer: never staged instead)."""

    def op_of(k: int):
        mem = SRAM if sram_ifm[k] else OFFCHIP
        return npu_op(ops[k], arch, (mem, OFFCHIP, OFFCHIP), fmts[k])

    def staged(lo: int, hi: int, stripes: list[tuple[int, int]], limit: int) -> list[int]:
        out: list[int] = []
        prev = lo - 1
        slack = 0
        if prev >= 0 and npu[prev]:
            pop = op_of(prev)
            slack = _cycles(pop, find_block_config(pop, arch), arch, arch.const_mem)
        prev_npu = (prev >= 0 and npu[prev]) or sram_ifm[lo]
        for k in range(lo, hi + 1):
            got, slack = _one(op_of(k), stripes[k - lo], arch, limit, slack, k == lo, prev_npu,
                              k > 0 or sram_ifm[lo], k == lo and not graph_ifm[k])
            limit -= got
            out.append(got)
            prev_npu = True
        return out

    return staged


def _one(op, stripe: tuple[int, int], arch: U65Config, limit: int, slack: int, first: bool, prev_npu: bool,
         not_first_op: bool, ifm_movable: bool) -> tuple[int, int]:
    """(buffer bytes, slack for the next op) of one op at its minimal stripe (see module doc)."""
    part = stripe_op(op, stripe)
    cfg = find_block_config(part, arch)
    unbuf_cycles = _cycles(op, cfg, arch, arch.const_mem)
    full = op.weight_bytes + op.scale_bytes
    if not full or arch.const_mem == SRAM:
        return 0, unbuf_cycles
    repeats = max(1.0, op.ofm[0] / stripe[0])
    refetch = spatial_blocks(op, cfg) * math.ceil(repeats)
    unmoved = _read(arch, arch.const_mem, full) * refetch
    from_buf = _read(arch, SRAM, full) * refetch
    if from_buf >= unmoved:
        return 0, unbuf_cycles
    transfer = mem_to_mem_cycles(arch, OFFCHIP, SRAM, full)
    c = op.ofm[2]
    smallest = int(transfer * min(c, SPLIT) / c)
    force = not prev_npu and refetch > 1 and (smallest < unmoved // 10 or smallest <= STARTUP)
    run_ref = int(repeats * _cycles(part, cfg, arch, arch.const_mem))
    dominated = run_ref > unmoved
    visible_full = max(transfer - slack, 0)
    hidden = visible_full < transfer / 20 or math.ceil(visible_full / math.ceil(repeats)) < STARTUP
    if not (full <= limit and (hidden or force) and (from_buf + visible_full < unmoved or not dominated)):
        return 0, unbuf_cycles
    usable = slack if (first and not_first_op and full < limit) else (STARTUP if force else 0)
    # Regor estimates the buffered op with the IFM it expects staged: a cascade buffer (ops after the first) in SRAM
    staged_part = part if first else replace(part, ifm_mem=SRAM)
    run_stripe = _cycles(staged_part, cfg, arch, SRAM)
    visible = max(transfer - usable, 0)
    full_run = int(repeats * run_stripe) + visible
    fetches = spatial_blocks(part, cfg)
    wread_ref = int(repeats * _read(arch, arch.const_mem, full) * fetches)
    wread = int(repeats * _read(arch, SRAM, full) * fetches)
    reads, ifm_size, _ = ifm_read_estimate(op, cfg, arch, [0, c], stripe[0])
    ifm_cycles = int(repeats * _read(arch, staged_part.ifm_mem, reads))
    if first and ifm_movable:
        if ifm_size + full > limit:
            staged_ifm = int(repeats * _read(arch, SRAM, reads))
            ifm_first = max(run_ref, wread_ref, staged_ifm)
            if ifm_size < limit and ifm_first < max(full_run, wread, ifm_cycles) and ifm_first < ifm_cycles:
                return 0, unbuf_cycles
        else:
            ifm_cycles = int(repeats * _read(arch, SRAM, reads))
    original = max(run_ref, wread_ref, ifm_cycles)
    new = max(full_run, wread, ifm_cycles)
    if dominated and visible < STARTUP:
        new -= visible
    if original < new or (refetch == 1 and transfer + wread > original):
        return 0, unbuf_cycles
    return full, run_stripe
