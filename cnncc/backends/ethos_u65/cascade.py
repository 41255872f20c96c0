"""Cascades: chains of NPU ops that Vela 5.2.0 runs stripe by stripe so that maps too large for SRAM never
leave it (our own formulation after Regor's ``CascadeBuilder::BuildCascades`` and ``OptimizeSubSchedule`` in
ethos-u-vela's ethosu/regor/compiler/cascade_builder.cpp and scheduler.cpp, read in the public fork
hapv3/neural-compiler; numbers checked against Vela 5.2.0's ``--verbose-schedule`` on MobileNetV2-224).

Which ops: a chain grows from an op along links producer -> next op in order, where the producer's OFM has that
op as its only consumer and is its primary (first) IFM of the same shape. An op joins while its uncascaded SRAM
need (primary IFM + OFM; an elementwise op writes in place, so the larger of the two) exceeds the SRAM budget;
the first op that would fit joins too when its IFM is over half the budget (the rolling buffer saves more than
it costs; measured: MobileNetV2 block2.project joins, block4.project does not), then the chain ends. That last op
stays only if, at the stripes chosen for the chain, it pays for its buffer as Regor's cascade builder weighs it
(the cascade with it needs less SRAM than without it, or than the op alone: :func:`_tail_pays`); else the chain
ends before it and its stripes are chosen again (Regor re-builds the cascades for every stripe it proposes;
measured: rand103's 1×9 conv and 2×2 pool cascade with 16-row stripes and the 7×7 conv after them runs alone,
Vela 5.2.0 u65-512 High_End). Chains of one op are no cascade.

Stripes: the last op's OFM stripe height h is the largest whose buffers fit the budget; going backwards an op
reads (h - 1)·stride + dilated kernel rows and its producer writes h·stride rows per stripe. Every link holds a
rolling buffer of one producer OFM stripe on top of one consumer IFM stripe, rounded up to whole consumer IFM
stripes (W × C rounded to 16 channels, NHCWB16: three stripes when a 1×1 stride-2 consumer reads fewer rows than
its producer writes); the weight bytes passed in are
added (the network passes 0: Regor builds cascades on the unbuffered schedule, so weight buffers are no part of
the cascade's memory), and a chain whose buffers do not fit even with 1-row stripes is no cascade.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChainOp:
    """What the cascade rules need of one op: OFM/IFM (H, W, C), kernel height (dilated), stride in H, whether it
    is elementwise, encoded weight bytes, and whether the next op in order may join it (a valid link)."""

    ifm: tuple[int, int, int]
    ofm: tuple[int, int, int]
    kernel_h: int = 1
    stride_h: int = 1
    elementwise: bool = False
    weight_bytes: int = 0
    links_next: bool = False


@dataclass(frozen=True)
class Cascade:
    """Ops ``start``..``end`` (inclusive indices into the op list), per op (OFM stripe rows, IFM stripe rows), and
    the SRAM bytes of its rolling buffers + weights."""

    start: int
    end: int
    stripes: tuple[tuple[int, int], ...]
    buffer_bytes: int


def _ru16(c: int) -> int:
    return -(-c // 16) * 16


def _need(op: ChainOp) -> int:
    i, o = op.ifm[0] * op.ifm[1] * _ru16(op.ifm[2]), op.ofm[0] * op.ofm[1] * _ru16(op.ofm[2])
    return max(i, o) if op.elementwise else i + o


def stripes_for(ops: list[ChainOp], final_h: int) -> list[tuple[int, int]]:
    """(OFM stripe rows, IFM stripe rows) of each op of a chain whose last op writes ``final_h`` rows a stripe."""
    out: list[tuple[int, int]] = []
    h = final_h
    for op in reversed(ops):
        h = min(h, op.ofm[0])
        ih = min((h - 1) * op.stride_h + op.kernel_h, op.ifm[0])
        out.append((h, ih))
        h = h * op.stride_h
    return out[::-1]


def ring_rows(producer_rows: int, consumer_rows: int) -> int:
    """Rows of the rolling buffer between two ops of a cascade: room for one producer OFM stripe on top of one
    consumer IFM stripe, rounded up to whole consumer IFM stripes (two of them unless the producer writes more
    rows a stripe than the consumer reads: a 1×1 stride-2 consumer needs three)."""
    return -(-(producer_rows + consumer_rows) // consumer_rows) * consumer_rows


def buffer_bytes(ops: list[ChainOp], stripes: list[tuple[int, int]]) -> int:
    """Rolling buffers (ring_rows × IFM width × channels rounded to 16, per link) + all weights of a chain, bytes."""
    rings = sum(ring_rows(stripes[k - 1][0], stripes[k][1]) * op.ifm[1] * _ru16(op.ifm[2])
                for k, op in enumerate(ops) if k)
    return rings + sum(op.weight_bytes for op in ops)


def best_stripe(ops: list[ChainOp], budget: int) -> tuple[list[tuple[int, int]], int]:
    """The largest final stripe (1 … half the last OFM height) whose buffers fit ``budget``; 1 row if none fits."""
    best = stripes_for(ops, 1)
    for h in range(2, (ops[-1].ofm[0] + 1) // 2 + 1):
        s = stripes_for(ops, h)
        if buffer_bytes(ops, s) > budget:
            break
        best = s
    return best, buffer_bytes(ops, best)


def _tail_pays(chain: list[ChainOp], stripes: list[tuple[int, int]]) -> bool:
    """Whether the last op of ``chain`` (one that fits SRAM alone) keeps its place at these stripes: the cascade
    with it needs less SRAM than without it (its rolling buffer and whole OFM below its producer's whole OFM), or
    less than the op run alone (the chain's first IFM and buffers below the op's whole IFM)."""
    *_, prev, tail = chain
    ring = ring_rows(stripes[-2][0], stripes[-1][1]) * tail.ifm[1] * _ru16(tail.ifm[2])
    full_ifm = tail.ifm[0] * tail.ifm[1] * _ru16(tail.ifm[2])
    full_ofm = tail.ofm[0] * tail.ofm[1] * _ru16(tail.ofm[2])
    first = chain[0].ifm[0] * chain[0].ifm[1] * _ru16(chain[0].ifm[2])
    return ring + full_ofm < full_ifm or first + buffer_bytes(chain, stripes) < full_ifm


def find_cascades(ops: list[ChainOp], budget: int) -> list[Cascade]:
    """The cascades of an op sequence (see module doc); ``budget``: SRAM bytes for feature maps."""
    out: list[Cascade] = []
    i = 0
    while i < len(ops):
        j = i
        while ops[j].links_next and j + 1 < len(ops):
            nxt = ops[j + 1]
            if _need(nxt) > budget:
                j += 1
                continue
            if j > i and nxt.ifm[0] * nxt.ifm[1] * _ru16(nxt.ifm[2]) * 2 > budget:
                j += 1
            break
        if j > i:
            chain = ops[i:j + 1]
            stripes, size = best_stripe(chain, budget)
            if j > i + 1 and _need(ops[j]) <= budget and not _tail_pays(chain, stripes):
                j -= 1  # the last op fits SRAM alone and costs the cascade more than it saves: it runs alone
                chain = ops[i:j + 1]
                stripes, size = best_stripe(chain, budget)
            if size <= budget:  # a chain whose buffers do not fit even with 1-row stripes is no cascade
                out.append(Cascade(i, j, tuple(stripes), size))
            i = j + 1
        else:
            i += 1
    return out
