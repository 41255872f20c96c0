"""A small, deterministic SVG chart renderer for the HTML report (no dependencies, no scripts, no network).

Four charts, each a pure function of plain data returning one ``<svg>`` string:

* :func:`roofline` — arithmetic intensity (MAC/byte, log x) vs attained MAC/cycle (log y) per layer, under the
  compute roof (peak MAC/cycle) and one memory roof per memory (bandwidth B/cycle × AI, up to the ridge point);
* :func:`bar_chart` — horizontal bars (per-layer cycles, per-target latency, ...);
* :func:`gantt` — lanes of timed events (DMA in / PU / DMA out) and, below on the same time axis, a step area of
  on-chip memory occupancy (bytes) with the capacity as a dashed line;
* :func:`mapping_chart` — per layer, the MAC/cycle of every mapping candidate tried, the chosen one ringed.

Coordinates are printed with at most two decimals (:func:`num`), so the same data gives the same bytes. Every
text and attribute value is escaped. Non-finite or non-positive values are dropped where a log scale needs > 0.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeGuard

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
FONT = "font-family:system-ui,sans-serif;font-size:11px"
LABEL_POINTS = 24  # roofline points are labelled with their layer name up to this many points
MAX_EVENTS = 4000  # Gantt events drawn at most (the caller is told how many were dropped via the caption)


def num(v: float) -> str:
    """A coordinate as text: rounded to 2 decimals, trailing zeros stripped, never ``-0``."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def si(v: float) -> str:
    """A tick/value label: 3 significant digits with k/M/G suffixes (``1500 -> '1.5k'``, ``0.25 -> '0.25'``)."""
    if v is None or not math.isfinite(v):
        return "-"
    a = abs(v)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suf}"
    return f"{v:.3g}"


def finite(v: object) -> TypeGuard[float]:
    """True for an int/float (not bool) that is finite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def el(tag: str, attrs: Mapping[str, object] | None = None, text: str | None = None, raw: str = "") -> str:
    """One element; attribute values and ``text`` are escaped, ``raw`` (child markup) is not."""
    a = "".join(f' {k}="{html.escape(v if isinstance(v, str) else num(float(v)), quote=True)}"'  # type: ignore[arg-type]
                for k, v in (attrs or {}).items() if v is not None)
    body = (html.escape(text, quote=False) if text is not None else "") + raw
    return f"<{tag}{a}>{body}</{tag}>" if body or tag in ("text", "title", "g", "svg") else f"<{tag}{a}/>"


def svg(width: float, height: float, parts: Sequence[str], label: str, cls: str = "chart") -> str:
    """The outer ``<svg>`` with a viewBox, an accessible label and a ``<title>``."""
    return el("svg", {"xmlns": "http://www.w3.org/2000/svg", "class": cls, "width": width, "height": height,
                      "viewBox": f"0 0 {num(width)} {num(height)}", "role": "img", "aria-label": label,
                      "style": FONT}, raw=el("title", text=label) + "".join(parts))


class LinearScale:
    """Maps the domain [d0, d1] linearly onto the range [r0, r1] (pixels)."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float):
        self.d0, self.d1, self.r0, self.r1 = d0, (d1 if d1 != d0 else d0 + 1), r0, r1

    def __call__(self, v: float) -> float:
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)

    def ticks(self, n: int = 5) -> list[float]:
        """About ``n`` round ticks (1, 2, 5 × 10^k steps) inside the domain."""
        span = self.d1 - self.d0
        raw = span / max(n, 1)
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
        first = math.ceil(self.d0 / step - 1e-9)
        return [round(i * step, 12) for i in range(first, int(math.floor(self.d1 / step + 1e-9)) + 1)]


class LogScale:
    """Maps [d0, d1] (both > 0) onto [r0, r1] logarithmically; the domain is widened to whole decades."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float):
        self.e0 = math.floor(math.log10(d0) + 1e-9)
        self.e1 = max(math.ceil(math.log10(d1) - 1e-9), self.e0 + 1)
        self.d0, self.d1, self.r0, self.r1 = 10.0 ** self.e0, 10.0 ** self.e1, r0, r1

    def __call__(self, v: float) -> float:
        return self.r0 + (math.log10(v) - self.e0) * (self.r1 - self.r0) / (self.e1 - self.e0)

    def ticks(self) -> list[float]:
        """One tick per decade of the (widened) domain."""
        return [10.0 ** e for e in range(self.e0, self.e1 + 1)]


def _axes(x, y, left, top, right, bottom, xlabel, ylabel, xticks, yticks) -> list[str]:
    """Grid lines, tick labels, axis lines and axis titles."""
    p = []
    for t in xticks:
        X = x(t)
        p.append(el("line", {"x1": X, "y1": top, "x2": X, "y2": bottom, "class": "grid", "stroke": "#ddd"}))
        p.append(el("text", {"x": X, "y": bottom + 14, "text-anchor": "middle"}, si(t)))
    for t in yticks:
        Y = y(t)
        p.append(el("line", {"x1": left, "y1": Y, "x2": right, "y2": Y, "class": "grid", "stroke": "#ddd"}))
        p.append(el("text", {"x": left - 4, "y": Y + 4, "text-anchor": "end"}, si(t)))
    p.append(el("path", {"d": f"M{num(left)},{num(top)}V{num(bottom)}H{num(right)}", "fill": "none",
                         "stroke": "#333"}))
    p.append(el("text", {"x": (left + right) / 2, "y": bottom + 30, "text-anchor": "middle"}, xlabel))
    p.append(el("text", {"x": 12, "y": (top + bottom) / 2, "text-anchor": "middle",
                         "transform": f"rotate(-90 12 {num((top + bottom) / 2)})"}, ylabel))
    return p


def roofline(points: Sequence[tuple], peak: float | None,
             bandwidths: Mapping[str, float] | None = None, width: float = 640, height: float = 400,
             ceilings: Mapping[str, float] | None = None) -> str:
    """Roofline chart. ``points``: (label, AI in MAC/byte, attained MAC/cycle[, colour]); ``peak``: compute roof
    in MAC/cycle (None: not drawn); ``bandwidths``: {memory: bytes/cycle}, each drawn as the roof MAC/cycle =
    bandwidth × AI, clipped at the peak; ``ceilings``: further flat roofs {name: MAC/cycle} (e.g. a weight-feed
    or configuration limit). Labels are placed where they overlap no other label (:func:`place_labels`); points
    with a non-positive value are dropped. Returns '' if nothing."""
    pts = [(str(q[0]), float(q[1]), float(q[2]), str(q[3]) if len(q) > 3 else PALETTE[0]) for q in points
           if finite(q[1]) and finite(q[2]) and q[1] > 0 and q[2] > 0]
    ceil = {str(k): float(v) for k, v in (ceilings or {}).items() if finite(v) and v > 0}
    peak = float(peak) if finite(peak) and peak > 0 else None
    bws = {str(k): float(v) for k, v in (bandwidths or {}).items() if finite(v) and v > 0}
    if not pts and peak is None:
        return ""
    xs = [q[1] for q in pts] + ([peak / b for b in bws.values()] if peak else [])
    ys = [q[2] for q in pts] + ([peak] if peak else []) + list(ceil.values())
    if not xs:
        xs = [1.0]
    left, top, right, bottom = 60.0, 20.0, width - 20.0, height - 40.0
    x = LogScale(min(xs) / 2, max(xs) * 2, left, right)
    y = LogScale(min(ys) / 2, max(ys) * 2, bottom, top)
    p = _axes(x, y, left, top, right, bottom, "arithmetic intensity (MAC/byte)", "attained MAC/cycle",
              x.ticks(), y.ticks())
    legend: list[tuple[str, str | None, str]] = []  # (colour, dash, text), drawn top-left
    for i, (mem, bw) in enumerate(bws.items()):
        x_lo = max(x.d0, y.d0 / bw)  # where the memory roof enters the plot
        x_hi = min(x.d1, peak / bw if peak else x.d1, y.d1 / bw)
        if x_hi <= x_lo:
            continue
        color = PALETTE[(i + 1) % len(PALETTE)]
        p.append(el("line", {"x1": x(x_lo), "y1": y(bw * x_lo), "x2": x(x_hi), "y2": y(bw * x_hi),
                             "class": "roof-mem", "stroke": color, "stroke-width": 2},
                    raw=el("title", text=f"{mem}: {si(bw)} B/cycle")))
        legend.append((color, None, f"{mem}: {si(bw)} B/cycle × AI"))
    if peak:
        p.append(el("line", {"x1": left, "y1": y(peak), "x2": right, "y2": y(peak), "class": "roof-compute",
                             "stroke": "#c00", "stroke-width": 2, "stroke-dasharray": "6 3"},
                    raw=el("title", text=f"peak {si(peak)} MAC/cycle")))
        legend.insert(0, ("#c00", "6 3", f"peak {si(peak)} MAC/cycle"))
    for i, (name, c) in enumerate(ceil.items()):
        color = PALETTE[(i + 4) % len(PALETTE)]
        p.append(el("line", {"x1": left, "y1": y(c), "x2": right, "y2": y(c), "class": "roof-ceiling",
                             "stroke": color, "stroke-width": 2, "stroke-dasharray": "2 3"},
                    raw=el("title", text=f"{name}: {si(c)} MAC/cycle")))
        legend.append((color, "2 3", f"{name}: {si(c)} MAC/cycle"))
    for j, (color, dash, text) in enumerate(legend):
        Y = top + 12 + 14 * j
        p.append(el("line", {"x1": left + 8, "y1": Y - 4, "x2": left + 28, "y2": Y - 4, "stroke": color,
                             "stroke-width": 2, "stroke-dasharray": dash}))
        p.append(el("text", {"x": left + 32, "y": Y, "class": "legend"}, text))
    for n, a, m, color in pts:
        p.append(el("circle", {"cx": x(a), "cy": y(m), "r": 4, "class": "pt", "fill": color,
                               "fill-opacity": 0.8, "stroke": "#123"},
                    raw=el("title", text=f"{n}: AI {si(a)} MAC/B, {si(m)} MAC/cycle")))
    taken = [(left + 4, top + 2, left + 250, top + 16 + 14 * len(legend))]  # the legend's box
    spots = place_labels([(x(q[1]), y(q[2]), _short(q[0], 20)) for q in pts], taken, (left, top, right, bottom))
    for (n, *_), pos in zip(pts, spots):
        if pos is not None:
            p.append(el("text", {"x": pos[0], "y": pos[1], "class": "pt-label", "fill": "#345", "stroke": "#fff",
                                 "stroke-width": 3, "paint-order": "stroke", "text-anchor": pos[2]},
                        _short(n, 20)))
    return svg(width, height, p, "roofline: arithmetic intensity vs attained MAC/cycle", "chart roofline")


def text_width(text: str) -> float:
    """Approximate width (px) of ``text`` in the 11 px chart font."""
    return 6.2 * len(text)


def place_labels(points: Sequence[tuple[float, float, str]], taken: list[tuple[float, float, float, float]],
                 frame: tuple[float, float, float, float]) -> list[tuple[float, float, str] | None]:
    """Greedy label placement: for each (x, y, text) try eight spots around the point and keep the first whose box
    overlaps no placed label, no other point and stays inside ``frame`` (left, top, right, bottom); None when no
    spot is free (that point keeps only its hover title). Returns (x, y, text-anchor) per point."""
    boxes = list(taken) + [(px - 4, py - 4, px + 4, py + 4) for px, py, _ in points]
    out: list[tuple[float, float, str] | None] = []
    for px, py, text in points:
        w, h = text_width(text), 12.0
        own = (px - 4, py - 4, px + 4, py + 4)
        spot = None
        for dx, dy, anchor in ((7, 4, "start"), (-7, 4, "end"), (0, -8, "middle"), (0, 15, "middle"),
                               (7, -6, "start"), (-7, -6, "end"), (7, 13, "start"), (-7, 13, "end")):
            x0 = px + dx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
            box = (x0, py + dy - 10, x0 + w, py + dy - 10 + h)
            inside = box[0] >= frame[0] and box[2] <= frame[2] + 15 and box[1] >= frame[1] - 5 and box[3] <= frame[3]
            if inside and not any(_overlap(box, b) for b in boxes if b != own):
                spot = (px + dx, py + dy, anchor)
                boxes.append(box)
                break
        out.append(spot)
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _short(s: str, n: int = 28) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def bar_chart(items: Sequence[tuple], unit: str = "cycles", width: float = 640,
              label: str = "bar chart", row: float = 16, log: bool = False,
              limit: tuple[str, float] | None = None) -> str:
    """Horizontal bars, one per (label, value ≥ 0[, colour[, hover text]]) item, in the given order; ``log``: a
    log-scale axis (values ≤ 0 drawn as empty rows), so one slow item does not hide the others; ``limit``:
    (name, value) drawn as a dashed vertical line (a capacity). Returns '' if no item."""
    items = [(str(q[0]), float(q[1]), str(q[2]) if len(q) > 2 and q[2] else PALETTE[0],
              str(q[3]) if len(q) > 3 and q[3] else "") for q in items if finite(q[1]) and q[1] >= 0]
    if not items:
        return ""
    left, top, right = 190.0, 10.0, width - 60.0
    bottom = top + row * len(items)
    height = bottom + 36
    hi = max([v for _, v, _, _ in items] + ([limit[1]] if limit and finite(limit[1]) else [])) or 1
    positive = [v for _, v, _, _ in items if v > 0]
    x: LinearScale | LogScale
    if log and positive:
        x = LogScale(min(positive) / 10, hi, left, right)  # the smallest bar still spans a decade
        ticks, base = x.ticks(), left
    else:
        x = LinearScale(0, hi, left, right)
        ticks, base = x.ticks(5), left
    p = []
    for t in ticks:
        p.append(el("line", {"x1": x(t), "y1": top, "x2": x(t), "y2": bottom, "stroke": "#eee"}))
        p.append(el("text", {"x": x(t), "y": bottom + 14, "text-anchor": "middle"}, si(t)))
    for i, (n, v, color, hover) in enumerate(items):
        Y = top + i * row
        end = x(v) if v > 0 or not log else base
        p.append(el("text", {"x": left - 4, "y": Y + row * 0.72, "text-anchor": "end"}, _short(n)))
        p.append(el("rect", {"x": base, "y": Y + 2, "width": max(end - base, 0), "height": row - 4, "class": "bar",
                             "fill": color}, raw=el("title", text=hover or f"{n}: {si(v)} {unit}")))
        p.append(el("text", {"x": end + 3, "y": Y + row * 0.72}, si(v)))
    if limit and finite(limit[1]) and limit[1] > 0:
        X = x(limit[1])
        p.append(el("line", {"x1": X, "y1": top - 4, "x2": X, "y2": bottom, "class": "capacity", "stroke": "#c00",
                             "stroke-dasharray": "6 3", "stroke-width": 2},
                    raw=el("title", text=f"{limit[0]}: {si(limit[1])} {unit}")))
        p.append(el("text", {"x": X - 3, "y": bottom + 28, "text-anchor": "end", "fill": "#c00"},
                    f"{limit[0]} {si(limit[1])}"))
    p.append(el("text", {"x": (left + right) / 2, "y": bottom + 30, "text-anchor": "middle"},
                unit + (" (log scale)" if log and positive else "")))
    return svg(width, height, p, label, "chart bars")


def stacked_bar(parts: Sequence[tuple[str, float, str]], unit: str, label: str, width: float = 640) -> str:
    """One 100 % bar split into (name, value ≥ 0, colour) parts, each with its share, and a legend below."""
    parts = [(str(n), float(v), c) for n, v, c in parts if finite(v) and v > 0]
    total = sum(v for _, v, _ in parts)
    if not parts or total <= 0:
        return ""
    left, right, top, h = 10.0, width - 10.0, 6.0, 26.0
    p, X = [], left
    for n, v, c in parts:
        w = (right - left) * v / total
        p.append(el("rect", {"x": X, "y": top, "width": w, "height": h, "fill": c, "class": "share"},
                    raw=el("title", text=f"{n}: {si(v)} {unit} ({100 * v / total:.1f} %)")))
        if w > 44:
            p.append(el("text", {"x": X + w / 2, "y": top + 17, "text-anchor": "middle", "fill": "#fff"},
                        f"{100 * v / total:.0f} %"))
        X += w
    lx, ly = left, top + h + 18
    for n, v, c in parts:
        text = f"{n} {si(v)} {unit} ({100 * v / total:.1f} %)"
        if lx + 16 + text_width(text) > right:
            lx, ly = left, ly + 16
        p.append(el("rect", {"x": lx, "y": ly - 9, "width": 10, "height": 10, "fill": c}))
        p.append(el("text", {"x": lx + 14, "y": ly}, text))
        lx += 30 + text_width(text)
    return svg(width, ly + 8, p, label, "chart stacked")


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


def mapping_chart(rows: Sequence[tuple[str, Sequence[tuple[str, float, bool]]]], width: float = 640) -> str:
    """Per layer (one row each) a dot per mapping candidate at its MAC/cycle, coloured by mapping name (legend
    on top), the chosen one ringed in black. ``rows``: (layer, [(mapping, MAC/cycle, chosen)]). '' if empty."""
    rows = [(str(n), [(str(m), float(v), bool(c)) for m, v, c in cands if finite(v) and v >= 0])
            for n, cands in rows]
    rows = [r for r in rows if r[1]]
    if not rows:
        return ""
    names = sorted({m for _, cands in rows for m, _, _ in cands})
    color = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(names)}
    left, right, row, top = 190.0, width - 20.0, 22.0, 30.0
    bottom = top + row * len(rows)
    height = bottom + 36
    x = LinearScale(0, max(v for _, c in rows for _, v, _ in c) * 1.1 or 1, left, right)
    p = []
    lx = left
    for m in names:
        p.append(el("circle", {"cx": lx + 5, "cy": 12, "r": 5, "fill": color[m]}))
        p.append(el("text", {"x": lx + 13, "y": 16}, m))
        lx += 20 + 7 * len(m)
    for t in x.ticks(5):
        p.append(el("line", {"x1": x(t), "y1": top, "x2": x(t), "y2": bottom, "stroke": "#eee"}))
        p.append(el("text", {"x": x(t), "y": bottom + 14, "text-anchor": "middle"}, si(t)))
    for i, (n, cands) in enumerate(rows):
        Y = top + i * row + row / 2
        p.append(el("text", {"x": left - 4, "y": Y + 4, "text-anchor": "end"}, _short(n)))
        p.append(el("line", {"x1": left, "y1": Y, "x2": right, "y2": Y, "stroke": "#f4f4f4"}))
        for m, v, chosen in sorted(cands, key=lambda c: c[2]):  # chosen drawn last, on top
            p.append(el("circle", {"cx": x(v), "cy": Y, "r": 6 if chosen else 4, "fill": color[m],
                                   "stroke": "#000" if chosen else "none", "stroke-width": 2 if chosen else None,
                                   "class": "cand chosen" if chosen else "cand"},
                        raw=el("title", text=f"{n} {m}: {si(v)} MAC/cycle" + (" (chosen)" if chosen else ""))))
    p.append(el("text", {"x": (left + right) / 2, "y": bottom + 30, "text-anchor": "middle"}, "MAC/cycle"))
    return svg(width, height, p, "CGRA mapping candidates: MAC/cycle per layer", "chart mappings")
