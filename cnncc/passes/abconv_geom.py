"""Geometry of cnncc's ABConv (shared/reference/abconv.md): where the g channel groups sit on the enlarged
map, the shared conv's pads, and the shapes on both sides. Pure functions of small integers."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Axis:
    """One spatial axis of the rewrite. m groups along it; each group segment is ``seg`` long after its own
    padding (seg_p0 before, seg_p1 after); the big map is cropped to ``length`` and convolved with pads
    (p0, p1) to ``m·os`` outputs, of which the first ``o`` of each group segment are kept."""

    m: int
    seg_p0: int
    seg_p1: int
    seg: int
    length: int
    p0: int
    p1: int
    os: int
    o: int

    @property
    def cropped(self) -> bool:
        return self.length < self.m * self.seg


def axis(n: int, o: int, k: int, s: int, d: int, p0: int, p1: int, m: int, gap: bool) -> Axis:
    """Lay out m groups of an axis of length n (original conv: kernel k, stride s, dilation d, pads p0/p1,
    o outputs). ``gap``: each group keeps its own zero padding (groups never mix, every group is convolved
    exactly like the original); otherwise groups abut and the original pads surround the whole map."""
    ext = d * (k - 1) + 1
    if gap:
        e = -(n + p0 + p1) % s
        seg_p0, seg_p1 = p0, p1 + e
        seg = n + p0 + p1 + e
        os, big_p0 = seg // s, 0
    else:
        seg_p0 = seg_p1 = 0
        seg, os, big_p0 = n, o, p0
    big_p1 = (m * os - 1) * s + ext - m * seg - big_p0
    length = m * seg + min(0, big_p1)
    return Axis(m, seg_p0, seg_p1, seg, length, big_p0, max(0, big_p1), os, o)


def split(g: int, layout: str) -> tuple[int, int] | None:
    """(groups along H, groups along W) for a layout, or None when g does not fit it (grid needs a square)."""
    if layout == "w":
        return 1, g
    if layout == "h":
        return g, 1
    r = math.isqrt(g)
    return (r, r) if r * r == g else None


def candidate_groups(c: int, k: int, layout: str) -> list[int]:
    """Every g >= 2 dividing both channel counts that the layout accepts."""
    d = math.gcd(c, k)
    return [g for g in range(2, d + 1) if d % g == 0 and split(g, layout) is not None]
