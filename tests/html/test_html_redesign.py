"""The redesigned report answers "does it fit, how fast, what bounds it"; the resolved target is collapsed; the
roofline has every layer with MACs, labels that do not overlap and every roof; bars are coloured by bound; memory
is drawn against the capacity; compare charts are log-scale; the offload timeline shows overlap with the first
layers expanded; energy splits are charts; records (strategies) are readable text."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import html_reports as R
import pytest

from cnncc.html import render_html
from cnncc.html import svg as S
from cnncc.html import views as V

NS = "{http://www.w3.org/2000/svg}"


def _svgs(page: str) -> dict[str, ET.Element]:
    """figure id -> its main chart (the last <svg> of the figure: a share bar may come first)."""
    out = {}
    for m in re.finditer(r"<figure id=\"([^\"]+)\">(.*?)<figcaption>", page, re.S):
        charts = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", m.group(2), re.S)]
        charts = [c for c in charts if "meter" not in (c.get("class") or "")]
        if charts:
            out[m.group(1)] = charts[-1]
    return out


def test_summary_answers_fit_speed_bound():
    d = R.ethos()
    d["totals"]["sram_capacity_bytes"], d["totals"]["fits"] = 393216, True
    page = render_html(d)
    assert 'id="fit"' in page and ">fits<" in page and "49,152 B of 393,216 B (12 %)" in page
    assert 'id="speed"' in page and "0.013112 ms" in page
    assert 'id="bound"' in page and "slowest layer pw3" in page
    d["totals"]["fits"] = False
    assert "does NOT fit" in render_html(d)


def test_resolved_target_is_collapsed_key_value_table():
    page = render_html(R.ethos())
    m = re.search(r'<details class="target"><summary>resolved target ethos-u65-256: 4 keys</summary>(.*?)</details>',
                  page, re.S)
    assert m and "<pre>" not in m.group(1) and "<th>macs_per_cycle</th><td>256</td>" in m.group(1)


def test_roofline_plots_every_layer_with_macs_coloured_by_bound():
    d = R.ethos()
    for r in d["layers"]:
        r.pop("mac_per_cycle", None)  # derived from macs / cycles when absent
    roof = _svgs(render_html(d))["roofline"]
    pts = [c for c in roof.iter(f"{NS}circle") if c.get("class") == "pt"]
    with_macs = [r for r in d["layers"] if r["macs"] > 0 and r.get("ai")]
    assert len(pts) == len(with_macs) == 4
    assert {p.get("fill") for p in pts} == {V.BOUND_COLOURS[V.bound_of(r)] for r in with_macs}


def test_roofline_draws_every_roof_including_flat_ceilings():
    d = R.ethos()
    d["roofline"]["ceilings_macs_per_cycle"] = {"weight-feed": 64.0}
    roof = _svgs(render_html(d))["roofline"]
    assert len([e for e in roof.iter(f"{NS}line") if e.get("class") == "roof-mem"]) == 2
    assert [e for e in roof.iter(f"{NS}line") if e.get("class") == "roof-ceiling"]
    assert "weight-feed: 64 MAC/cycle" in ET.tostring(roof, encoding="unicode")


@pytest.mark.parametrize("seed", range(5))
def test_roofline_labels_never_overlap(seed):
    rng = random.Random(seed)
    pts = [(f"layer_{i}_{'x' * rng.randint(0, 8)}", 10 ** rng.uniform(-1, 3), 10 ** rng.uniform(-1, 2.4))
           for i in range(rng.randint(5, 40))]
    svg = ET.fromstring(S.roofline(pts, 256.0, {"dram": 8.0}))
    boxes = []
    for t in svg.iter(f"{NS}text"):
        if t.get("class") != "pt-label":
            continue
        x, y, w = float(t.get("x")), float(t.get("y")), S.text_width(t.text or "")
        x0 = x - (w if t.get("text-anchor") == "end" else w / 2 if t.get("text-anchor") == "middle" else 0)
        boxes.append((x0, y - 10, x0 + w, y + 2))
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not S._overlap(a, b), (a, b)


def test_cycles_bars_coloured_by_bound_with_share():
    page = render_html(R.ethos())
    bars = _svgs(page)["cycles"]
    rects = [r for r in bars.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert [r.get("fill") for r in rects] == [V.BOUND_COLOURS[V.bound_of(r)] for r in R.ethos()["layers"]]
    assert "cycles by bound" in page and "memory (sram)" in page  # hover: bound with its detail


def test_memory_against_capacity():
    d = R.ethos()
    d["totals"]["sram_capacity_bytes"] = 65536
    mem = _svgs(render_html(d))["memory"]
    cap = [e for e in mem.iter(f"{NS}line") if e.get("class") == "capacity"]
    assert len(cap) == 1 and len([r for r in mem.iter(f"{NS}rect") if r.get("class") == "bar"]) == 5


def test_compare_charts_are_log_scale_and_every_target_visible():
    d = R.compare()
    d["targets"][1]["totals"] = dict(d["targets"][1]["totals"], latency_ms=2000.0)  # 5 orders slower
    chart = _svgs(render_html(d))["cmp-latency_ms"]
    widths = [float(r.get("width")) for r in chart.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert len(widths) == 2 and min(widths) > 30  # the fast target is not squashed to nothing
    assert "(log scale)" in ET.tostring(chart, encoding="unicode")
    page = render_html(d)
    assert 'id="verdict"' in page and "fastest: ethos-u65-256" in page


def test_offload_timeline_overlap_and_first_layers_expanded():
    d = R.offload()
    per = {"layers": [dict(d["timeline"], layer=f"l{i}") for i in range(5)], "unit": "cycles"}
    d["timeline"] = per
    page = render_html(d)
    assert page.count("<details open><summary>l") == 3 and "<details><summary>l3</summary>" in page
    assert 'id="timeline-network"' in page and "two or more busy at once" in page
    assert 'class="ev overlap"' in page


def test_overlap_intervals():
    assert S.overlap([("a", 0, 10), ("b", 5, 15), ("a", 12, 20)]) == [(5, 10), (12, 15)]
    assert S.overlap([("a", 0, 10), ("b", 10, 15)]) == []


def test_energy_split_is_a_chart():
    d = R.cgra()
    d["totals"]["energy_split_uj"] = {"cgra": 5.7, "cpu": 0.14, "memory": 12.6}
    page = render_html(d)
    split = _svgs(page)["energy-split"]
    assert len([r for r in split.iter(f"{NS}rect") if r.get("class") == "share"]) == 3
    assert "energy-layers" in _svgs(page)
