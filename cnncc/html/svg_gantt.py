"""The report's timeline chart (``svg.gantt``): lanes of timed events (DMA in / PU / DMA out, in cycles), an
overlap lane where two or more lanes are busy at once, and below, on the same time axis, the on-chip memory
occupancy (bytes) as a step area with the capacity as a dashed line."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cnncc.html.svg_core import PALETTE, LinearScale, _short, el, finite, num, si, svg

MAX_EVENTS = 4000  # Gantt events drawn at most (the caller is told how many were dropped via the caption)
_LANE_RANK = ({"in", "load", "ld", "read", "rd"}, {"pu", "compute", "mac", "exec", "core"},
              {"out", "store", "st", "write", "wr"})


def lane_order(lanes: Sequence[str]) -> list[str]:
    """Lanes in reading order: loads/DMA-in first, compute next, stores/DMA-out, then the rest (stable)."""
    def rank(lane: str) -> int:
        toks = set(re.split(r"[^a-z0-9]+", lane.lower()))
        return next((i for i, r in enumerate(_LANE_RANK) if toks & r), len(_LANE_RANK))
    uniq = list(dict.fromkeys(lanes))
    return sorted(uniq, key=lambda s: (rank(s), uniq.index(s)))


OVERLAP = "overlap"  # the Gantt lane showing when two or more lanes are busy at once


def _union(iv: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def overlap(events: Sequence[tuple[str, float, float]]) -> list[tuple[float, float]]:
    """The time intervals during which at least two different lanes are busy ((lane, start, end) events)."""
    per: dict[str, list[tuple[float, float]]] = {}
    for lane, a, b in events:
        if b > a:
            per.setdefault(lane, []).append((a, b))
    marks = sorted((t, d) for iv in per.values() for a, b in _union(iv) for t, d in ((a, 1), (b, -1)))
    out, busy, since = [], 0, 0.0
    for t, d in marks:
        if busy >= 2 and t > since:
            out.append((since, t))
        busy += d
        since = t
    return _union(out)


def gantt(events: Sequence[Mapping], samples: Sequence[tuple[float, float]] = (), capacity: float | None = None,
          unit: str = "cycles", width: float = 760) -> str:
    """Gantt chart of ``events`` ({lane, start, end, label}) and, when ``samples`` ((time, bytes) pairs, a step
    function holding each value until the next time) are given, an occupancy area below on the same time axis.
    At most :data:`MAX_EVENTS` events (by start time) are drawn. Returns '' if there is nothing to draw."""
    evs = [e for e in events if isinstance(e, Mapping) and finite(e.get("start")) and finite(e.get("end"))
           and e["end"] >= e["start"]]
    evs = sorted(evs, key=lambda e: (e["start"], e["end"]))[:MAX_EVENTS]
    smp = sorted((float(t), float(b)) for t, b in samples if finite(t) and finite(b))
    if not evs and not smp:
        return ""
    lanes = lane_order([str(e.get("lane", "")) for e in evs])
    both = overlap([(str(e.get("lane", "")), float(e["start"]), float(e["end"])) for e in evs])
    if both and len(lanes) > 1:
        lanes.append(OVERLAP)
    left, right, lane_h, top = 90.0, width - 20.0, 22.0, 10.0
    g_bottom = top + lane_h * len(lanes)
    m_top = g_bottom + (40.0 if evs else 0.0)
    m_bottom = m_top + (120.0 if smp else 0.0)
    height = m_bottom + 40
    times = [e["start"] for e in evs] + [e["end"] for e in evs] + [t for t, _ in smp]
    x = LinearScale(min(times), max(times), left, right)
    p = []
    for t in x.ticks(8):
        p.append(el("line", {"x1": x(t), "y1": top, "x2": x(t), "y2": m_bottom if smp else g_bottom,
                             "stroke": "#eee"}))
        p.append(el("text", {"x": x(t), "y": (m_bottom if smp else g_bottom) + 14, "text-anchor": "middle"},
                    si(t)))
    for i, lane in enumerate(lanes):
        p.append(el("text", {"x": left - 6, "y": top + i * lane_h + 15, "text-anchor": "end"}, _short(lane, 14)))
    if OVERLAP in lanes:
        i = lanes.index(OVERLAP)
        for a, b in both:
            p.append(el("rect", {"x": x(a), "y": top + i * lane_h + 3, "width": max(x(b) - x(a), 0.5),
                                 "height": lane_h - 6, "class": "ev overlap", "fill": "#59a14f",
                                 "fill-opacity": 0.45}, raw=el("title", text=f"overlap [{si(a)}, {si(b)})")))
    for e in evs:
        i = lanes.index(str(e.get("lane", "")))
        lab = str(e.get("label", ""))
        p.append(el("rect", {"x": x(e["start"]), "y": top + i * lane_h + 3,
                             "width": max(x(e["end"]) - x(e["start"]), 0.5), "height": lane_h - 6,
                             "class": "ev", "fill": PALETTE[i % len(PALETTE)]},
                    raw=el("title", text=f"{e.get('lane', '')} {lab} [{si(e['start'])}, {si(e['end'])})")))
    if smp:
        hi = max([b for _, b in smp] + ([capacity] if finite(capacity) else [])) or 1
        y = LinearScale(0, hi, m_bottom, m_top)
        d = f"M{num(x(smp[0][0]))},{num(m_bottom)}"
        for j, (t, b) in enumerate(smp):
            d += f"V{num(y(b))}"
            nxt = smp[j + 1][0] if j + 1 < len(smp) else t
            d += f"H{num(x(nxt))}"
        d += f"V{num(m_bottom)}Z"
        p.append(el("path", {"d": d, "class": "occupancy", "fill": "#76b7b2", "fill-opacity": 0.6,
                             "stroke": "#3a7"}))
        for t in y.ticks(3):
            p.append(el("text", {"x": left - 6, "y": y(t) + 4, "text-anchor": "end"}, si(t) + "B"))
        if finite(capacity):
            p.append(el("line", {"x1": left, "y1": y(capacity), "x2": right, "y2": y(capacity),
                                 "class": "capacity", "stroke": "#c00", "stroke-dasharray": "6 3"},
                        raw=el("title", text=f"capacity {si(capacity)} bytes")))
        p.append(el("text", {"x": left, "y": m_top - 6}, "on-chip memory occupancy (bytes)"))
    p.append(el("text", {"x": (left + right) / 2, "y": height - 6, "text-anchor": "middle"}, unit))
    return svg(width, height, p, "timeline: DMA and PU activity, memory occupancy", "chart gantt")
