"""Unit tests of the SVG chart renderer: exact coordinates of tiny charts, scales, escaping, determinism."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from cnncc.html import svg as S


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML or raises


NS = "{http://www.w3.org/2000/svg}"


def test_num_and_si():
    assert [S.num(v) for v in (2.0, 3.14159, -0.001, 133.3333, 1e-9, -2.5)] == ["2", "3.14", "0", "133.33", "0",
                                                                                 "-2.5"]
    assert [S.si(v) for v in (1500, 0.25, 2e6, 1e9, 999, 12345.6, math.inf, None)] == [
        "1.5k", "0.25", "2M", "1G", "999", "12.3k", "-", "-"]


def test_linear_scale():
    x = S.LinearScale(0, 10, 100, 200)
    assert (x(0), x(5), x(10)) == (100, 150, 200)
    assert x.ticks(5) == [0, 2, 4, 6, 8, 10]
    assert S.LinearScale(0, 1.16, 0, 1).ticks(5) == [0, 0.5, 1]
    assert S.LinearScale(3, 3, 0, 10)(3) == 0  # degenerate domain does not divide by zero


def test_log_scale_widens_to_decades():
    y = S.LogScale(0.3, 50, 300, 0)  # inverted range, as for a y axis
    assert (y.d0, y.d1) == (0.1, 100)
    assert y.ticks() == [0.1, 1, 10, 100]
    assert [round(y(v), 9) for v in (0.1, 1, 10, 100)] == [300, 200, 100, 0]
    assert S.LogScale(1, 1, 0, 10).ticks() == [1, 10]  # a single value still spans one decade


def test_roofline_exact_coordinates():
    # x: AIs {1, ridge 10/1} -> domain 0.1..100 over 60..280 px; y: {1, peak 10} -> 0.1..100 over 200..20 px
    s = S.roofline([("a", 1.0, 1.0)], 10.0, {"m": 1.0}, width=300, height=240)
    parse(s)
    assert '<circle cx="133.33" cy="140" r="4" class="pt"' in s
    assert '<line x1="60" y1="200" x2="206.67" y2="80" class="roof-mem"' in s  # from (0.1, 0.1) to ridge (10, 10)
    assert '<line x1="60" y1="80" x2="280" y2="80" class="roof-compute"' in s
    assert "peak 10 MAC/cycle" in s and "m: 1 B/cycle × AI" in s
    for tick in ("0.1", "1", "10", "100"):
        assert f'text-anchor="middle">{tick}</text>' in s


def test_roofline_memory_roof_clipped_at_plot_bottom():
    # bandwidth 100 B/cycle: at AI 0.1 the roof would be 10 MAC/cycle, above y.d0 = 1; at the ridge AI = 10
    s = S.roofline([("a", 5.0, 50.0)], 1000.0, {"wide": 100.0}, width=300, height=240)
    root = parse(s)
    line = next(e for e in root.iter(NS + "line") if e.get("class") == "roof-mem")
    x = S.LogScale(5.0 / 2, 10.0 * 2, 60, 280)
    assert x.d0 == 1 and float(line.get("x1")) == pytest.approx(60.0)
    assert float(line.get("x2")) == pytest.approx(x(10.0), abs=0.01)


def test_roofline_drops_bad_points_and_degrades():
    s = S.roofline([("ok", 2, 3), ("zero", 0, 3), ("neg", 2, -1), ("nan", math.nan, 1), ("none", None, 1)], None)
    assert s.count('class="pt"') == 1 and "roof-compute" not in s and "roof-mem" not in s
    assert S.roofline([], None) == ""
    assert S.roofline([("zero", 0, 0)], None, {"m": 4}) == ""
    only_roofs = S.roofline([], 16.0, {"m": 4.0, "bad": -1, "nan": math.nan})
    assert only_roofs.count('class="roof-mem"') == 1 and 'class="pt"' not in only_roofs


def test_bar_chart_exact():
    s = S.bar_chart([("a", 10), ("b", 5), ("skip", None)], "cycles")
    parse(s)
    # x: 0..10 over 190..580 px, rows of 16 px from y=10
    assert '<rect x="190" y="12" width="390" height="12" class="bar"' in s
    assert '<rect x="190" y="28" width="195" height="12" class="bar"' in s
    assert s.count('class="bar"') == 2 and 'height="78"' in s  # 10 + 2*16 + 36
    assert S.bar_chart([]) == "" and S.bar_chart([("x", -1)]) == ""


def test_lane_order():
    assert S.lane_order(["PU", "DMA out", "DMA in", "PU", "misc"]) == ["DMA in", "PU", "DMA out", "misc"]
    assert S.lane_order(["store", "compute", "load"]) == ["load", "compute", "store"]


def test_gantt_exact():
    evs = [{"lane": "PU", "start": 0, "end": 100, "label": "c0"}, {"lane": "DMA in", "start": 100, "end": 200},
           {"lane": "PU", "start": 5, "end": 1}]  # end < start: dropped
    s = S.gantt(evs, [(0, 0), (100, 50), (200, 100)], capacity=100, width=290)
    parse(s)
    # x: 0..200 over 90..270 px; lanes DMA in (row 0, y 10..32), PU (row 1, y 32..54)
    assert '<rect x="180" y="13" width="90" height="16" class="ev"' in s
    assert '<rect x="90" y="35" width="90" height="16" class="ev"' in s
    assert s.count('class="ev"') == 2
    # occupancy: 94..214 px for 0..100 bytes, step function
    assert 'd="M90,214V214H180V154H270V94H270V214Z" class="occupancy"' in s
    assert '<line x1="90" y1="94" x2="270" y2="94" class="capacity"' in s
    assert S.gantt([], []) == ""
    assert 'class="occupancy"' not in S.gantt(evs[:1])
    assert 'class="ev"' not in S.gantt([], [(0, 1), (2, 3)])


def test_gantt_caps_events():
    evs = [{"lane": "PU", "start": i, "end": i + 1} for i in range(S.MAX_EVENTS + 10)]
    assert S.gantt(evs).count('class="ev"') == S.MAX_EVENTS


def test_mapping_chart():
    rows = [("L1", [("b", 0.5, False), ("a", 1.0, True)]), ("L2", [("a", 0.25, True), ("c", None, False)]),
            ("L3", [("x", None, False)])]
    s = S.mapping_chart(rows)
    root = parse(s)
    cands = [e for e in root.iter(NS + "circle") if "cand" in (e.get("class") or "")]
    assert len(cands) == 3 and sum("chosen" in e.get("class") for e in cands) == 2
    assert s.index(">a</text>") < s.index(">b</text>")  # legend sorted by name; L3 (no value) has no row
    assert ">L3</text>" not in s
    assert S.mapping_chart([]) == "" and S.mapping_chart([("L", [("m", None, True)])]) == ""


def test_escaping():
    evil = '<b>"x" & \'y\'</b>'
    charts = [S.roofline([(evil, 1, 1)], 2, {evil: 1}), S.bar_chart([(evil, 1)], evil, label=evil),
              S.gantt([{"lane": evil, "start": 0, "end": 1, "label": evil}]),
              S.mapping_chart([(evil, [(evil, 1, True)])])]
    for s in charts:
        assert "<b>" not in s and "&lt;b&gt;" in s
        parse(s)


def test_deterministic():
    a = S.roofline([("a", 1.5, 2.5), ("b", 30, 100)], 256, {"sram": 16, "flash": 8})
    assert a == S.roofline([("a", 1.5, 2.5), ("b", 30, 100)], 256, {"sram": 16, "flash": 8})
