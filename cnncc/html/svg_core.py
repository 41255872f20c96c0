"""SVG primitives of the report's charts (``svg``): numbers printed with at most two decimals (:func:`num`, so the
same data gives the same bytes) and as 3-significant-digit labels (:func:`si`), escaped elements, linear and
logarithmic scales (data units -> pixels), axes, and greedy label placement (boxes in pixels, 11 px font)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TypeGuard

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
FONT = "font-family:system-ui,sans-serif;font-size:11px"


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

