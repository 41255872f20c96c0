"""Vela 5.2.0's copy of a graph input into SRAM before the op that reads it (the MemoryCopy it names
``input_buffer_``), and what the copy costs.

With the feature maps off-chip (Dedicated_Sram), a graph input stays in off-chip memory: Vela's fast-storage
allocator only moves maps the network writes. Vela 5.2.0 can instead copy the input into an SRAM buffer with an
NPU MemoryCopy that runs first; the reader then reads the buffer (the input's own NHWC layout, in SRAM), and the
copy is the op before it, so the reader's weights can be pre-buffered under the copy (weightbuf.Context).

The rule is not in the public Regor source we read (hapv3/neural-compiler e4b56335, before 5.2.0); it was inferred
from Vela 5.2.0's decisions on 239 seeded two-conv networks (a conv of every kernel, stride, depth and map size
reading the graph input, on u65-512 / u65-256 High_End and u65-512 Client_Server, Dedicated_Sram_384KB: the rule
below agrees with all 239, 29 of them copied) and then checked on the random networks. In our words, with Vela's
schedule-time estimates of the reader alone (everything off-chip, weights not buffered; weightbuf.py's terms):

* the reader is not op-dominated: its NPU cycles do not exceed both the off-chip weight reads (× refetches) and
  the IFM reads (``ifm_read_estimate``: every IFM element the OFM blocks fetch, at off-chip bandwidth), and
* the IFM reads from off-chip take longer than the copy plus the same reads from SRAM, the copy counted as Vela's
  schedule-time cycle estimate counts an op: its NPU cycles alone, without its memory access (Regor's cycle cost
  of an op leaves the access cycles out). A copy of a deep NHWC map out of DRAM is bound by its reads (16 channels
  at a time: padnet seed 41's 31×56×64 input, NPU 82,295 vs DRAM 401,954 cycles on u65-512 High_End), and Vela
  still copies when the NPU cycles pay (seeds 41 and held-out 110; with the full cost this rule missed them).

Only the input's first NPU reader is considered, and only an op with weights (convolution, depthwise, fully
connected) that is in no cascade or is the first op of one (measured: the Pad → conv network seed 55 of
tests/ethos_u65/padnet.py, whose first conv starts a cascade, copied on u65-512 High_End and not on u65-256 High_End
or u65-512 Client_Server, as the rule says); the buffer must fit the SRAM staging area. With the explicit Pads Vela
takes into the convolution (padfuse.py) the rule agrees with all 332 decisions of the sweep above (was 319: the 13
copies before a padded conv were missed) and with 298 of 300 on the padded networks of ``bench/vela_fidelity.py
--padded 100`` (with the NPU-cycle copy estimate: 299 of 300, the sweep still 332 of 332). Left: Vela makes no
copy for some weight-heavy convolutions with a 7×7 kernel (mostly stride 2) that this rule copies: padnet seed 13
(48×48×64 input) and 22 of 105 generated probes of that family (bench/RESULTS-ethos-u65.md, round 10; every one of
the 53 copies Vela made there is predicted) — not explained by the SRAM limit (an arena of 192 KiB to 2 MB decides
the same), the estimate with the weights buffered, or the IFM-to-weight read ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, VECTOR, find_block_config
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.cycles import npu_cycles
from cnncc.backends.ethos_u65.datamove import copy_op
from cnncc.backends.ethos_u65.lower import CPU, FREE, FUSED, Lowered
from cnncc.backends.ethos_u65.memory import spatial_blocks
from cnncc.backends.ethos_u65.opcost import OpCost, cost_npu_op, npu_op
from cnncc.backends.ethos_u65.weightbuf import _read, ifm_read_estimate
from cnncc.ir.graph import Graph


@dataclass(frozen=True)
class InputCopy:
    """The copy of a graph input made before layer ``reader``: the (H, W, C) box copied, its format, and the SRAM
    bytes of the buffer (16-byte aligned)."""

    reader: int
    shape: tuple[int, int, int]
    fmt: str
    nbytes: int


def copy_cost(ic: InputCopy, arch: U65Config) -> tuple[OpCost, int]:
    """(OpCost, slack cycles) of the MemoryCopy off-chip -> SRAM (opcost.cost_npu_op of a 1×1 pooling pass)."""
    return cost_npu_op(copy_op(ic.shape, (OFFCHIP, SRAM), (ic.fmt, ic.fmt)), arch)


def input_copies(graph: Graph, lowered: list[Lowered], arch: U65Config, pl, cascades=()) -> dict[int, InputCopy]:
    """The graph inputs Vela copies into SRAM, by the index of the layer reading the copy (see module doc)."""
    if arch.arena_mem != OFFCHIP or not arch.cache_bytes:
        return {}
    inputs = {pl.root.get(t, t) for t in graph.inputs}
    in_cascade = {k for c in cascades for k in range(c.start, c.end + 1)}
    firsts = {c.start for c in cascades}
    seen: set[str] = set()
    out: dict[int, InputCopy] = {}
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if lw.kind in (FREE, FUSED):
            continue
        for r in {pl.root.get(t) for t in layer.inputs if not graph.is_weight(t)} & inputs - seen:
            seen.add(r)   # this input's first reader: the only one considered
            acts = [t for t in layer.inputs if not graph.is_weight(t)]
            if (lw.kind == CPU or lw.kind not in (CONV, DEPTHWISE, VECTOR) or not lw.weight_elems
                    or pl.root.get(acts[0]) != r or (k in in_cascade and k not in firsts)
                    or pl.memory.get(acts[0]) != OFFCHIP):
                continue
            fmt = pl.fmt[acts[0]]
            ic = InputCopy(k, lw.ifm, fmt, -(-math.prod(lw.ifm) // 16) * 16)
            if ic.nbytes <= arch.cache_bytes and _copies(lw, arch, ic, pl.fmt[layer.outputs[0]]):
                out[k] = ic
    return out


def _copies(lw: Lowered, arch: U65Config, ic: InputCopy, ofm_fmt: str) -> bool:
    """The rule of the module doc for one reader."""
    op = npu_op(lw, arch, (OFFCHIP, OFFCHIP, OFFCHIP), (ic.fmt, ofm_fmt))
    cfg = find_block_config(op, arch)
    run = npu_cycles(op, cfg, arch, arch.mem(arch.const_mem).read_latency).cycles
    weights = _read(arch, OFFCHIP, op.weight_bytes + op.scale_bytes) * spatial_blocks(op, cfg)
    elems = ifm_read_estimate(op, cfg, arch, [0, op.ofm[2]], 0)[0]
    ifm_off, ifm_sram = _read(arch, OFFCHIP, elems), _read(arch, SRAM, elems)
    # the copy as Vela's schedule-time estimate sees it: its NPU cycles alone (an op's cycle estimate leaves out its
    # memory access, which an NHWC copy of a deep map out of DRAM can be bound by)
    return run <= max(weights, ifm_off) and ifm_off > copy_cost(ic, arch)[0].npu_cycles + ifm_sram
