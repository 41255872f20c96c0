"""The HTML report of real `cnncc compile` runs — one per target — and of `cnncc compare` renders in headless
Chromium with no console errors, the page script finishes and every chart reaches the live DOM."""

from __future__ import annotations

import re

import pytest
from test_html_browser import chromium, dump
from test_html_browser import pytestmark as _browser_mark

from cnncc.compare import compare_targets
from cnncc.driver import compile_model
from cnncc.html import render_html

pytestmark = _browser_mark  # skip with the reason when headless Chromium is missing

CASES = [("ethos-u65-256", "small_residual_concat"), ("cgra", "cgra_baseline"), ("offload", "small_residual_concat")]


def _check(html: str, tmp_path, name: str) -> str:
    dom, console = dump(html, tmp_path, name)
    assert console == [], console
    assert not re.search(r"<html[^>]*data-js-error", dom)
    assert re.search(r'<body[^>]*data-ready="1"', dom)
    assert html.count("<svg") >= 2 and dom.count("<svg") == html.count("<svg")
    shot = tmp_path / f"{name}.png"  # a screenshot per target, checked for non-blankness (a blank page is a few kB)
    _, console = chromium(tmp_path / f"{name}.html", tmp_path, f"--screenshot={shot}")
    assert console == [] and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 40_000
    return dom


@pytest.mark.parametrize("target,model", CASES)
def test_compile_report_renders(target, model, sample_models, tmp_path):
    report = compile_model(sample_models[model], target)
    dom = _check(render_html(report.to_dict(stable=True)), tmp_path, target)
    assert report.layers[0]["name"] in dom
    assert dom.count("<circle") >= 1  # the roofline has at least one layer point
    assert 'id="speed"' in dom and 'id="bound"' in dom and "<details class=\"target\">" in dom
    with_macs = [r for r in report.layers if r.get("macs") and r.get("ai") and r.get("cycles")]
    assert dom.count('class="pt"') == len(with_macs)  # every layer with MACs is on the roofline


def test_compare_report_renders(sample_models, tmp_path):
    rep = compare_targets(sample_models["cgra_baseline"], ["ethos-u65-256", "cgra", "offload"])
    dom = _check(render_html(rep.to_dict(stable=True)), tmp_path, "compare")
    for t in ("ethos-u65-256", "cgra", "offload"):
        assert t in dom
