"""Cascades: chains of NPU ops that Vela 5.2.0 runs stripe by stripe so that maps too large for SRAM never
leave it (our own formulation after Regor's ``CascadeBuilder::BuildCascades``, ``Scheduler::OptimizeSubSchedule``
and ``ProposeScheduleStriping`` in ethos-u-vela's ethosu/regor/compiler, read in the public fork
hapv3/neural-compiler e4b56335; numbers checked against Vela 5.2.0's ``--verbose-schedule``). With the feature
maps off-chip (Dedicated_Sram) SRAM is a staging area and Regor builds the cascades in two steps.

Which ops (the minimal schedule): every op gets its smallest stripe, as many OFM rows as the next op's stride
(1 for the last op), and a chain grows from an op along links producer -> next op in order (the producer's OFM
has that op as its only consumer and is its primary IFM of the same shape; the op's stripe below its OFM height).
An op joins while it does not fit SRAM alone (primary IFM + OFM, channels rounded to 16; an elementwise op writes
in place, so the larger of the two) and the chain's rolling buffers still fit; the op that fits alone, or that
overflows the buffers, is where the chain ends (and may start the next one). Chains of one op are no cascade.

Stripes (one search per chain): the chain's weights are buffered as Regor buffers them on the minimal schedule
(``staged``: bytes per op, by default each op's ``weight_bytes``; the network asks weightbuf.propose), then final
stripe heights h are proposed from the last op's minimal stripe + 1 up to half its OFM height. For each, going
backwards an op writes h rows and reads (h - 1)·stride + dilated kernel rows, its producer writing h·stride; the
chain is rebuilt by the rule above with these stripes and the staged weights in its buffers (an op whose stripe
is no longer below its OFM height ends it), and the proposal's SRAM is the largest of each cascade's buffers +
weights and each op left alone's weights + IFM + OFM, plus ``reserved`` bytes live beside the chain (Vela's copy of
the graph input the chain starts from, inputcopy.py). The last proposal that fits, with no more cascades than
the first, wins (measured: padnet seed 55, two 3×3 convs after the input copy: 19-row stripes where the buffers
alone allowed 28). Every link holds a rolling buffer of one producer OFM stripe on top of one consumer IFM stripe,
rounded up to whole consumer IFM stripes (W × C rounded to 16 channels, NHCWB16); a link whose producer is marked
``shares_next`` holds none (measured with Vela 5.2.0: the MUL -> ADD link of an exported BatchNormalization inside a
conv -> BN -> conv cascade adds no bytes to the cascade's size, network.cascades_of).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ChainOp:
    """What the cascade rules need of one op: OFM/IFM (H, W, C), kernel height (dilated), stride in H, whether it
    is elementwise, the weight buffer bytes counted in the cascade's memory, and whether the next op in order may
    join it (a valid link)."""

    ifm: tuple[int, int, int]
    ofm: tuple[int, int, int]
    kernel_h: int = 1
    stride_h: int = 1
    elementwise: bool = False
    weight_bytes: int = 0
    links_next: bool = False
    ifm_nhwc: bool = False   # the map is stored NHWC (a graph input or output): channels not rounded to 16
    ofm_nhwc: bool = False
    shares_next: bool = False  # the next op writes over this op's IFM ring: their link holds no buffer of its own


@dataclass(frozen=True)
class Cascade:
    """Ops ``start``..``end`` (inclusive indices into the op list), per op (OFM stripe rows, IFM stripe rows), and
    the SRAM bytes of its rolling buffers + the ops' ``weight_bytes``."""

    start: int
    end: int
    stripes: tuple[tuple[int, int], ...]
    buffer_bytes: int


#: staged(lo, hi, stripes, free) -> the weight buffer bytes Regor gives each op lo..hi of a chain on the minimal
#: schedule, where ``stripes`` are the ops' (OFM rows, IFM rows) there and ``free`` the SRAM bytes left for buffers
Staged = Callable[[int, int, list[tuple[int, int]], int], list[int]]


def _ru16(c: int) -> int:
    return -(-c // 16) * 16


def _map(shape: tuple[int, int, int], nhwc: bool = False) -> int:
    return shape[0] * shape[1] * (shape[2] if nhwc else _ru16(shape[2]))


def _need(op: ChainOp) -> int:
    i, o = _map(op.ifm, op.ifm_nhwc), _map(op.ofm, op.ofm_nhwc)
    return max(i, o) if op.elementwise else i + o


def _ifm_rows(op: ChainOp, oh: int) -> int:
    return min((oh - 1) * op.stride_h + op.kernel_h, op.ifm[0])


def stripes_for(ops: list[ChainOp], final_h: int) -> list[tuple[int, int]]:
    """(OFM stripe rows, IFM stripe rows) of each op of a chain whose last op writes ``final_h`` rows a stripe,
    as Regor proposes them (a producer writes h·stride rows, not cut to its OFM height)."""
    out: list[tuple[int, int]] = []
    h = final_h
    for op in reversed(ops):
        out.append((h, _ifm_rows(op, h)))
        h = h * op.stride_h
    return out[::-1]


def ring_rows(producer_rows: int, consumer_rows: int) -> int:
    """Rows of the rolling buffer between two ops of a cascade: room for one producer OFM stripe on top of one
    consumer IFM stripe, rounded up to whole consumer IFM stripes (two of them unless the producer writes more
    rows a stripe than the consumer reads: a 1×1 stride-2 consumer needs three)."""
    return -(-(producer_rows + consumer_rows) // consumer_rows) * consumer_rows


def _ring(op: ChainOp, producer_rows: int, consumer_rows: int) -> int:
    return ring_rows(producer_rows, consumer_rows) * op.ifm[1] * _ru16(op.ifm[2])


def _link(prev: ChainOp, op: ChainOp, producer_rows: int, consumer_rows: int) -> int:
    """Bytes of the rolling buffer of the link prev -> op (none when ``prev.shares_next``)."""
    return 0 if prev.shares_next else _ring(op, producer_rows, consumer_rows)


def buffer_bytes(ops: list[ChainOp], stripes: list[tuple[int, int]]) -> int:
    """Rolling buffers (ring_rows × IFM width × channels rounded to 16, per link) + all weights of a chain, bytes."""
    rings = sum(_link(ops[k - 1], op, stripes[k - 1][0], stripes[k][1]) for k, op in enumerate(ops) if k)
    return rings + sum(op.weight_bytes for op in ops)


def _build(ops: list[ChainOp], lo: int, hi: int, stripes: list[tuple[int, int]], weights: list[int],
           budget: int, reserved: dict[int, int]) -> list[tuple[int, int, int]]:
    """Regor's cascade building over ops lo..hi (inclusive) at the given stripes (indexed from lo) and weight
    buffers, with ``reserved`` bytes live beside a cascade starting at an op: (start, end, SRAM bytes: buffers,
    weights and reserved) of each cascade of two ops or more."""
    out = []
    i = lo
    while i <= hi:
        if stripes[i - lo][0] >= ops[i].ofm[0]:
            i += 1
            continue
        size = best = weights[i - lo] + reserved.get(i, 0)
        j = i
        while j < hi and ops[j].links_next:
            nxt = j + 1
            if stripes[nxt - lo][0] >= ops[nxt].ofm[0]:
                break
            size += weights[nxt - lo] + _link(ops[j], ops[nxt], stripes[j - lo][0], stripes[nxt - lo][1])
            if _need(ops[nxt]) < budget or size > budget:
                break
            j, best = nxt, size
        if j > i:
            out.append((i, j, best))
        i = j + 1
    return out


def _min_stripes(ops: list[ChainOp]) -> list[tuple[int, int]]:
    """Each op's stripe in Regor's minimal schedule: as many OFM rows as the next op's stride."""
    out = []
    for k, op in enumerate(ops):
        h = ops[k + 1].stride_h if k + 1 < len(ops) else 1
        out.append((h, _ifm_rows(op, h)))
    return out


def _memory(ops: list[ChainOp], lo: int, hi: int, cascades: list[tuple[int, int, int]], weights: list[int],
            reserved: int) -> int:
    """SRAM of a proposal over ops lo..hi: each cascade's, each op left alone's weights + maps + ``reserved``."""
    inside = {k for s, e, _ in cascades for k in range(s, e + 1)}
    alone = [weights[k - lo] + _need(ops[k]) + reserved for k in range(lo, hi + 1) if k not in inside]
    return max([size for _, _, size in cascades] + alone, default=0)


def _search(ops: list[ChainOp], lo: int, hi: int, budget: int, staged: Staged | None, reserved: int,
            base: list[tuple[int, int]]) -> list[Cascade]:
    """Regor's stripe search for the minimal-schedule cascade lo..hi (see module doc)."""
    chain = ops[lo:hi + 1]
    used = reserved + sum(_link(chain[k - 1], chain[k], base[lo + k - 1][0], base[lo + k][1])
                          for k in range(1, len(chain)))
    weights = (staged(lo, hi, base[lo:hi + 1], max(budget - used, 0)) if staged is not None
               else [op.weight_bytes for op in chain])
    best: list[Cascade] | None = None
    most = 0
    for h in range(base[hi][0] + 1, (ops[hi].ofm[0] + 1) // 2 + 1):
        stripes = stripes_for(chain, h)
        found = _build(ops, lo, hi, stripes, weights, budget, dict.fromkeys(range(lo, hi + 1), reserved))
        most = most or len(found)
        if _memory(ops, lo, hi, found, weights, reserved) > budget or len(found) > most:
            break
        best = [Cascade(s, e, tuple((min(oh, ops[s + n].ofm[0]), ih) for n, (oh, ih) in
                                    enumerate(stripes[s - lo:e - lo + 1])),
                        buffer_bytes(ops[s:e + 1], stripes[s - lo:e - lo + 1])) for s, e, _ in found]
        if not found:
            break
    if best is None:  # no proposal fits: the chain keeps its minimal-schedule stripes
        stripes = base[lo:hi + 1]
        best = [Cascade(lo, hi, tuple(stripes), buffer_bytes(chain, stripes))]
    return best


def find_cascades(ops: list[ChainOp], budget: int, staged: Staged | None = None,
                  reserved: dict[int, int] | None = None) -> list[Cascade]:
    """The cascades of an op sequence (see module doc); ``budget``: SRAM bytes for feature maps; ``staged``: the
    weight buffers of the stripe search (default: each op's ``weight_bytes``); ``reserved``: SRAM bytes live beside
    a cascade, by the index of the op it starts from."""
    base = _min_stripes(ops)
    out: list[Cascade] = []
    reserved = reserved or {}
    for lo, hi, _ in _build(ops, 0, len(ops) - 1, base, [0] * len(ops), budget, reserved):
        out += _search(ops, lo, hi, budget, staged, reserved.get(lo, 0), base)
    return out
