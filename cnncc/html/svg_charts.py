"""Value charts of the report (``svg``): the roofline (MAC/byte vs MAC/cycle, log-log), horizontal bars, one
stacked 100 % share bar and the CGRA mapping candidates (MAC/cycle per layer). Each is a pure function of plain
data returning one ``<svg>`` string ('' when there is nothing to draw)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnncc.html.svg_core import (
    PALETTE,
    LinearScale,
    LogScale,
    _axes,
    _short,
    el,
    finite,
    place_labels,
    si,
    svg,
    text_width,
)

LABEL_POINTS = 24  # roofline points are labelled with their layer name up to this many points


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
