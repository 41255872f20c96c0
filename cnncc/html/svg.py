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

The parts: :mod:`svg_core` (formatting, elements, scales, axes, label placement), :mod:`svg_charts` (roofline,
bars, mapping candidates) and :mod:`svg_gantt` (timeline); every name stays importable from here.
"""

from __future__ import annotations

from cnncc.html.svg_charts import LABEL_POINTS, bar_chart, mapping_chart, roofline, stacked_bar
from cnncc.html.svg_core import (
    FONT,
    PALETTE,
    LinearScale,
    LogScale,
    _axes,
    _overlap,
    _short,
    el,
    finite,
    num,
    place_labels,
    si,
    svg,
    text_width,
)
from cnncc.html.svg_gantt import _LANE_RANK, MAX_EVENTS, OVERLAP, _union, gantt, lane_order, overlap

__all__ = ["FONT", "LABEL_POINTS", "MAX_EVENTS", "OVERLAP", "PALETTE", "LinearScale", "LogScale", "_LANE_RANK",
           "_axes", "_overlap", "_short", "_union", "bar_chart", "el", "finite", "gantt", "lane_order",
           "mapping_chart", "num", "overlap", "place_labels", "roofline", "si", "stacked_bar", "svg", "text_width"]
