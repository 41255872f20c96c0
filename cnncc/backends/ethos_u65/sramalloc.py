"""Address allocation of SRAM live ranges and its size, the figure Vela 5.2.0 reports as "Total SRAM used" (our own
implementation of the idea of Regor's hill-climb tensor allocator, ethos-u-vela's
ethosu/regor/compiler/hillclimb_allocator.cpp, read in the public fork hapv3/neural-compiler).

The size of an allocation is its highest end address, which is at least the most bytes live at one time (the lower
bound). Ranges are placed one by one, each at the lowest address where it overlaps no placed range live at the
same time; the order: most "urgent" first (the largest live total during the range), then the longest, the
earliest, the largest. When that leaves a gap above the lower bound, a bounded search swaps the range that ends
highest (or one of the ranges placed under it) with another placed before it and keeps the order when the size
does not grow; it stops at the lower bound. Deterministic: the search draws from a fixed-seed generator.
"""

from __future__ import annotations

import random

from cnncc.backends.ethos_u65.liveranges import Range, usage

ITERATIONS = 300  # search steps at most (Vela's allocator searches longer; our networks rarely need any)


def lower_bound(ranges: list[Range]) -> int:
    """The most bytes live at one time point."""
    return max(usage(ranges), default=0)


def _place(ranges: list[Range], order: list[int], nbrs: list[list[int]]) -> tuple[int, list[int], list[int]]:
    """Place in ``order``; returns (size, address of each range, the range each one was pushed above or -1)."""
    addr = [-1] * len(ranges)
    below = [-1] * len(ranges)
    top = 0
    for i in order:
        size = ranges[i].size
        placed = sorted((addr[j], j) for j in nbrs[i] if addr[j] >= 0)
        a = 0
        for start, j in placed:
            if start >= a + size:
                break
            end = start + ranges[j].size
            if end > a:
                a, below[i] = end, j
        addr[i] = a
        top = max(top, a + size)
    return top, addr, below


def allocate(ranges: list[Range]) -> tuple[int, list[int]]:
    """(allocation size in bytes, start address of each range) — see module doc."""
    n = len(ranges)
    if not n:
        return 0, []
    use = usage(ranges)
    urgency = [max(use[x.start:x.end + 1]) for x in ranges]
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if ranges[i].start <= ranges[j].end and ranges[j].start <= ranges[i].end:
                nbrs[i].append(j)
                nbrs[j].append(i)
    order = sorted(range(n), key=lambda i: (-urgency[i], -(ranges[i].end - ranges[i].start), ranges[i].start,
                                            -ranges[i].size, i))
    target = max(use)
    best, addr, below = _place(ranges, order, nbrs)
    rng = random.Random(0)
    for _ in range(ITERATIONS):
        if best <= target:
            break
        pos = {i: p for p, i in enumerate(order)}
        peak = max(range(n), key=lambda i: addr[i] + ranges[i].size)
        chain = [peak]
        while below[chain[-1]] >= 0 and len(chain) <= n:
            chain.append(below[chain[-1]])
        pick = rng.choice(chain + nbrs[peak])
        other = rng.choice(chain)
        p1, p2 = sorted((pos[pick], pos[other]))
        if p1 == p2:
            p1 = 0
        cand = list(order)
        cand[p1], cand[p2] = cand[p2], cand[p1]
        size, a2, b2 = _place(ranges, cand, nbrs)
        if size <= best:
            best, addr, below, order = size, a2, b2, cand
    return best, addr


def sram_peak(graph, lowered: list, pl, costs: list, cascades=(), arch=None) -> int:
    """Vela's "Total SRAM used" of a schedule (bytes): the allocation size of its SRAM live ranges
    (liveranges.live_ranges; ``arch`` the U65Config)."""
    from cnncc.backends.ethos_u65.liveranges import live_ranges

    return allocate(live_ranges(graph, lowered, pl, costs, cascades, arch=arch))[0]
