"""Structural checks of the HTML page for every backend's report shape and for compare reports."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import html_reports as R
import pytest

from cnncc.html import render_html
from cnncc.report import Report

VOID = {"meta", "br", "img", "input", "link", "hr", "wbr"}


class Tree(HTMLParser):
    """Checks tags nest properly (outside SVG, whose self-closed tags are skipped) and collects tags/ids."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.ids, self.text = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if "id" in dict(attrs):
            self.ids.add(dict(attrs)["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def page(d: dict) -> tuple[str, Tree]:
    s = render_html(d)
    t = Tree()
    t.feed(s)
    t.close()
    assert not t.stack, f"unclosed tags {t.stack}"
    return s, t


def svgs(s: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", s, flags=re.S)]


def rows_of(s: str, cls: str) -> list[str]:
    m = re.search(rf'<table class="sortable {cls}">.*?<tbody>(.*?)</tbody>', s, flags=re.S)
    assert m, cls
    return re.findall(r"<tr>(.*?)</tr>", m.group(1))


@pytest.mark.parametrize("name", ["ethos", "cgra", "offload", "compare"])
def test_self_contained_and_deterministic(name):
    d = R.all_reports()[name]
    s, t = page(d)
    assert s.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in s
    assert not re.search(r"\b(src|href)\s*=|<link|@import|url\(", s)  # nothing to fetch
    assert [tag for tag, _ in t.tags].count("script") == 2  # error hook + sort; nothing else
    assert s == render_html(copy.deepcopy(d)) == render_html(d)
    for root in svgs(s):
        assert root.get("viewBox") and root.find("{http://www.w3.org/2000/svg}title") is not None


def test_ethos_page():
    d = R.ethos()
    s, t = page(d)
    assert {"summary", "roofline", "cycles", "layers"} <= t.ids
    text = " ".join(t.text)
    for want in ("samples/mobilenet_tiny.onnx", R.SHA, "ethos-u65-256", "fold-constants,fold-bn", "13,112",
                 "softmax runs on the host CPU", "0.1.0"):
        assert want in text
    rows = rows_of(s, "layers")
    assert len(rows) == 5 and 'data-v="4420.0">4,420<' in rows[2]
    assert re.search(r"<tfoot><tr><td>total</td>.*1,648,640", s)
    roof = next(r for r in svgs(s) if "roofline" in r.get("class"))
    pts = [e for e in roof.iter("{http://www.w3.org/2000/svg}circle") if e.get("class") == "pt"]
    assert len(pts) == 4  # softmax has no AI / MAC/cycle
    assert "4 of the 4 layers with MACs plotted" in text
    assert "CGRA mapping choices" not in s and "Offload timeline" not in s
    assert '<th data-k="candidates"' not in s


def test_cgra_page_mappings():
    s, t = page(R.cgra())
    assert "mappings" in t.ids and "CGRA mapping choices" in s
    chart = next(r for r in svgs(s) if "mappings" in r.get("class"))
    cands = [e for e in chart.iter("{http://www.w3.org/2000/svg}circle") if "cand" in (e.get("class") or "")]
    assert len(cands) == 7 and sum("chosen" in e.get("class") for e in cands) == 2
    rows = rows_of(s, "candidates")
    assert len(rows) == 8  # all candidates tried, including the one that did not fit
    chosen = [r for r in rows if "<td>yes</td>" in r]
    assert len(chosen) == 2 and "cnncc-sp" in chosen[0] and "conv-wp" in chosen[1]
    assert "does not fit the 32 KiB data memory" in s
    assert '<th data-k="candidates"' not in s  # nested list not dumped into the layer table


def test_offload_page_timeline():
    s, t = page(R.offload())
    assert "timeline-0" in t.ids and "Offload timeline" in s
    g = next(r for r in svgs(s) if "gantt" in r.get("class"))
    classes = [e.get("class") for e in g.iter()]
    assert classes.count("ev") == 9 and classes.count("occupancy") == 1 and classes.count("capacity") == 1
    assert "9 events" in s and "order k,c,oy,ox · tiles K=16 C=16 OY=8 OX=8 · resident weights" in s  # readable
    assert "&quot;resident&quot;" not in s  # the strategy is not raw JSON


def test_timeline_shapes():
    tl = R.offload()["timeline"]
    pairs = {**tl, "memory": [[m["t"], m["bytes"]] for m in tl["memory"]]}
    for variant in ({"layers": {"conv1": tl, "conv2": pairs}}, [{**tl, "layer": "conv1"}, pairs], {"conv1": tl}):
        s, t = page({**R.offload(), "timeline": variant})
        assert "timeline-0" in t.ids and "<summary>conv1</summary>" in s
    s1, _ = page({**R.offload(), "timeline": pairs})
    s2, _ = page(R.offload())
    assert re.findall(r'class="occupancy"[^>]*', s1) and s1 == s2  # pairs and dicts draw the same chart


def test_compare_page():
    s, t = page(R.compare())
    assert {"summary", "targets", "cmp-latency_ms", "cmp-energy_uj"} <= t.ids
    rows = rows_of(s, "targets")
    assert len(rows) == 3
    assert 'data-v="1.0"' in rows[0]  # ethos is the fastest
    ratio = 2.0038 / 0.013112
    assert f'data-v="{ratio!r}"' in rows[1]
    assert "conv1 needs at least 70000 bytes on chip" in rows[2]
    assert "pw3, 4,420 cycles (33.7 %)" in s and "<li>conv1</li>" in s
    per = rows_of(s, "per-layer")
    assert len(per) == 7 and "139,264" in per[0] and "2,310" in per[0]


def test_report_model_round_trip():
    d = R.cgra()
    rep = Report(command="compile", inputs=d["inputs"], layers=d["layers"], totals=d["totals"], notes=d["notes"],
                 sections={"roofline": d["roofline"]})
    s, _ = page(rep.to_dict())
    assert "CGRA mapping choices" in s and 'class="chart roofline"' in s
    assert render_html(rep) == s


def test_escaping():
    evil = '<script>alert("x")</script>'
    d = R.ethos()
    d["layers"][0]["name"] = evil
    d["notes"].append("</script><i>zz")
    d["inputs"]["model"]["path"] = f'a"b/{evil}.onnx'
    d["layers"][0]["note"] = {"k": evil}
    d["weird"] = {"x": evil}
    s, t = page(d)
    assert "alert" in s and "<script>alert" not in s and "<i>zz" not in s
    assert [tag for tag, _ in t.tags].count("script") == 2
    assert evil in " ".join(t.text)  # shown as text


def _drop_variants(d: dict):
    """Every report with one key removed: top level, inputs, totals, sections, each layer key (all layers)."""
    for k in list(d):
        yield {x: v for x, v in d.items() if x != k}
    for sec in ("inputs", "totals", "roofline", "timeline"):
        if isinstance(d.get(sec), dict):
            for k in list(d[sec]):
                yield {**d, sec: {x: v for x, v in d[sec].items() if x != k}}
    for k in {k for r in d.get("layers", []) for k in r}:
        yield {**d, "layers": [{x: v for x, v in r.items() if x != k} for r in d["layers"]]}
    for i, tg in enumerate(d.get("targets", [])):
        for k in list(tg):
            tg2 = [dict(x) for x in d["targets"]]
            del tg2[i][k]
            yield {**d, "targets": tg2}


@pytest.mark.parametrize("name", ["ethos", "cgra", "offload", "compare"])
def test_missing_fields_never_crash(name):
    for v in _drop_variants(R.all_reports()[name]):
        page(v)


@pytest.mark.parametrize("d", [
    {}, {"command": "compile"}, {"command": "compare"}, {"command": "compare", "targets": []},
    {"layers": "not a list", "totals": [1], "inputs": "x", "roofline": "oops", "timeline": 5, "notes": "n"},
    {"layers": [None, 3, {"name": None, "cycles": float("nan"), "ai": -1, "mac_per_cycle": float("inf")}]},
    {"layers": [{"name": "x", "candidates": [None, {"mapping": "m"}, {"mac_per_cycle": "fast"}]}]},
    {"roofline": {"peak_macs_per_cycle": "big", "bandwidths_bytes_per_cycle": [1, 2]}, "layers": [{"ai": 1}]},
    {"timeline": {"events": [{"lane": "PU"}, {"start": 0, "end": 1}, 7], "memory": [[1], {"t": "a"}, 5]}},
    {"command": "compare", "targets": [None, {"target": None, "totals": None, "top_layers": 3, "layers": 1}]},
])
def test_odd_inputs_degrade(d):
    s, _ = page(d)
    assert s.endswith("</html>\n")
