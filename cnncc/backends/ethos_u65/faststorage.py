"""Which feature maps Vela 5.2.0 keeps in SRAM when the arena is off-chip (Dedicated_Sram): its fast-storage
allocator, in our own formulation of the rules of Regor's ``FastStorageAllocator::AllocateFeatureMaps`` and
``ElementwiseSanitizer`` (ethos-u-vela's ethosu/regor/compiler/faststorage_allocator.cpp, read in the public fork
hapv3/neural-compiler).

Time is Vela's: the time points of the live ranges the allocator is run on (liveranges.py, the same per-op
schedule as the SRAM peak: a multi-op layer has one point per op, a requantising Concat copy runs after its
source's writer), built with every candidate in SRAM (:func:`on_schedule`). Fixed SRAM use at each time (cascade
rolling buffers, weight buffers, graph-input copies) comes first; the candidates are the maps written by NPU ops
outside cascades that are read by NPU ops only and are no graph output, and the intermediate maps of multi-op
layers, each live from its writer to its last reader + 1; a map written over another in place shares its
range. A candidate live across an op that does not run on the
NPU is evicted (the host may overwrite SRAM). If every candidate fits the SRAM at every time, all stay. Else a
candidate that cannot fit even alone on top of the fixed use is evicted, one that fits even if every other
candidate stays is kept, and the rest compete: in groups of overlapping live ranges (at most 21 each) an exhaustive
search keeps the subset that fits and has the most element accesses (reads by its consumers, counting re-reads per
OFM block, plus the producer's writes). Afterwards, an op with an input left off-chip also has its other inputs
evicted when those are read by elementwise ops only.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_COMPONENT = 20
MAX_ACCESS = 2**31 - 1  # the score of a map a cascade reads past its first op (Regor's MAX_ACCESS_SIZE)


@dataclass(frozen=True)
class LiveRange:
    """A candidate map: name, first and last op index (inclusive), SRAM bytes, element accesses, and whether only
    elementwise ops read it."""

    name: str
    start: int
    end: int
    size: int
    access: int = 0
    elementwise_only: bool = False
    aliases: tuple[str, ...] = ()  # maps an in-place op writes over this one (one live range, kept together)


def allocate(cands: list[LiveRange], fixed: list[int], limit: int, host_ops: set[int]) -> set[str]:
    """Names of the candidates kept in SRAM (see module doc). ``fixed``: SRAM bytes in use at each time by other
    things; ``host_ops``: times of ops not on the NPU."""
    n = len(fixed)
    maxu = list(fixed)
    base = list(fixed)
    for lr in cands:
        for t in range(lr.start, lr.end + 1):
            maxu[t] += lr.size
    kept: set[str] = set()

    def evict(lr: LiveRange) -> None:
        for t in range(lr.start, lr.end + 1):
            maxu[t] -= lr.size

    def keep(lr: LiveRange) -> None:
        kept.add(lr.name)
        for t in range(lr.start, lr.end + 1):
            base[t] += lr.size

    live = []
    for lr in cands:
        if any(lr.start <= t <= lr.end for t in host_ops):
            evict(lr)
        else:
            live.append(lr)
    if max(maxu, default=0) <= limit:
        return {lr.name for lr in live}
    fit = []
    for lr in live:
        if max(base[lr.start:lr.end + 1]) + lr.size > limit:
            evict(lr)
        else:
            fit.append(lr)
    competing = []
    for lr in fit:
        if max(maxu[lr.start:lr.end + 1]) <= limit:
            keep(lr)
        else:
            competing.append(lr)
    start, end = 0, -1
    for i, lr in enumerate(competing):
        if i and lr.start <= end and i - start <= MAX_COMPONENT:
            end = max(end, lr.end)
            continue
        if i:
            _component(competing[start:i], base, maxu, limit, keep, evict)
        start, end = i, lr.end
    if competing:
        _component(competing[start:], base, maxu, limit, keep, evict)
    assert len(base) == n
    return kept


def _component(lrs: list[LiveRange], base: list[int], maxu: list[int], limit: int, keep, evict) -> None:
    """Exhaustive search over one group of overlapping candidates (the most element accesses that fit)."""
    best: dict = {"score": 0, "evicted": None}
    cur = [False] * len(lrs)

    def adjust(use: list[int], lr: LiveRange, d: int) -> None:
        for t in range(lr.start, lr.end + 1):
            use[t] += d

    def search(i: int, score: int) -> None:
        if i == len(lrs):
            if score > best["score"] or best["score"] == 0:
                best["score"], best["evicted"] = score, list(cur)
            return
        lr = lrs[i]
        can = max(base[lr.start:lr.end + 1]) + lr.size <= limit
        always = can
        if can:
            always = max(maxu[lr.start:lr.end + 1]) <= limit
            cur[i] = False
            adjust(base, lr, lr.size)
            search(i + 1, score + lr.access)
            adjust(base, lr, -lr.size)
        if not always:
            cur[i] = True
            adjust(maxu, lr, -lr.size)
            search(i + 1, score)
            adjust(maxu, lr, lr.size)

    search(0, 0)
    for lr, ev in zip(lrs, best["evicted"] or [True] * len(lrs)):
        if ev:
            evict(lr)
        else:
            keep(lr)


def on_schedule(graph, lowered: list, arch, cascades, costs: list, cands: list[LiveRange]
                ) -> tuple[list[LiveRange], list[int], set[int]]:
    """The candidates ``cands`` (one per map, op-index ranges, their element accesses; fastcands.candidates) at
    Vela's time points: Vela 5.2.0 runs its fast-storage allocator on the live ranges of its schedule with every
    candidate moved to fast storage (Regor's ``AllocateFeatureMaps`` calls ``ExtractLiveRangesFromCascades`` as the
    final allocation does). Returns the candidate ranges (a map written over another in place joins that one's
    range; its name is then an alias), the fixed SRAM bytes at each time point, and the host ops' time points.
    A multi-op layer's intermediate map is a candidate too, scored by its bytes times (1 + its readers); a map a
    cascade reads after the cascade's first op scores :data:`MAX_ACCESS` (its other input is a rolling buffer
    already on chip)."""
    from cnncc.backends.ethos_u65.liveranges import ranges_of_schedule, usage
    from cnncc.backends.ethos_u65.placement import place

    by_name = {lr.name: lr for lr in cands}
    pl = place(graph, lowered, arch, cascades, frozenset(by_name))
    sr = ranges_of_schedule(graph, lowered, pl, costs, cascades, arch=arch)
    inner_readers: set[str] = set()
    for c in cascades:
        for k in range(c.start + 1, c.end + 1):
            inner_readers.update(pl.root[t] for t in graph.layers[k].inputs if t in pl.root)
    members: dict[str, list[str]] = {}
    for o, head in sr.joined.items():
        members.setdefault(head, []).append(o)
    out: list[LiveRange] = []
    fixed_ranges = []
    for r in sr.ranges:
        group = [r.name] + sorted(members.get(r.name, ()))
        if not any(m in by_name or m in sr.inter for m in group):
            fixed_ranges.append(r)
            continue
        access = 0
        for m in group:
            if m in inner_readers:
                access = MAX_ACCESS
                break
            if m in by_name:
                access += by_name[m].access
            elif m in sr.inter:
                nbytes, _, nreads = sr.inter[m]
                access += nbytes * (1 + nreads)
        ew = all(by_name[m].elementwise_only for m in group if m in by_name)
        out.append(LiveRange(r.name, r.start, r.end, r.size, access, ew, tuple(group[1:])))
    n = max((r.end for r in sr.ranges), default=-1) + 1
    fixed = usage(fixed_ranges) if fixed_ranges else []
    fixed = fixed + [0] * (n - len(fixed))
    return out, fixed, set(sr.host_times)
