"""Open the HTML reports in headless Chromium: no console errors, the script ran, the charts rendered, the
table sorts on a header click; a screenshot of each page is saved under the test's tmp_path.

Skipped (with the reason) when no Chromium is on PATH; CI installs the Debian ``chromium`` package.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import html_reports as R
import pytest

from cnncc.html import render_html

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="headless Chromium not found on PATH "
                                "(install the Debian package `chromium`; CI does)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--window-size=1280,1800"]


def chromium(page: Path, tmp: Path, *args: str) -> tuple[str, str]:
    """Run Chromium on ``page``; returns (stdout, console lines from stderr)."""
    r = subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args, page.as_uri()],
                       capture_output=True, text=True, timeout=60)
    console = [ln for ln in r.stderr.splitlines() if ":CONSOLE" in ln]
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, console


def dump(html: str, tmp: Path, name: str) -> tuple[str, list[str]]:
    page = tmp / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    return chromium(page, tmp, "--dump-dom")


@pytest.mark.parametrize("name", ["ethos", "cgra", "offload", "compare"])
def test_page_renders_in_chromium(name, tmp_path):
    html = render_html(R.all_reports()[name])
    dom, console = dump(html, tmp_path, name)
    assert console == [], console
    assert not re.search(r"<html[^>]*data-js-error", dom), dom[:500]
    assert re.search(r'<body[^>]*data-ready="1"', dom), "the page script did not finish"
    n_svg = html.count("<svg")
    assert n_svg >= 1 and dom.count("<svg") == n_svg  # every chart made it into the live DOM
    assert dom.count("<circle") + dom.count("<rect") > 0
    shot = tmp_path / f"{name}.png"
    _, console = chromium(tmp_path / f"{name}.html", tmp_path, f"--screenshot={shot}")
    assert console == [], console
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 1800)
    assert len(png) > 20_000  # a blank page compresses to a few kB


def test_table_sorts_on_header_click(tmp_path):
    probe = ("<script>var t=document.querySelector('table.layers'),h=t.querySelector('th[data-k=cycles]');"
             "function names(){return Array.from(t.tBodies[0].rows,r=>r.cells[1].textContent).join(',');}"
             "h.click();var up=names();h.click();var down=names();"
             "document.body.setAttribute('data-up',up);document.body.setAttribute('data-down',down);"
             "document.body.setAttribute('data-aria',h.getAttribute('aria-sort'));</script></body>")
    html = render_html(R.ethos()).replace("</body>", probe)
    dom, console = dump(html, tmp_path, "sort")
    assert console == [], console
    assert 'data-up="softmax,fc,conv1,dw2,pw3"' in dom
    assert 'data-down="pw3,dw2,conv1,fc,softmax"' in dom and 'data-aria="descending"' in dom


def test_harness_catches_script_errors(tmp_path):
    """The checks above can fail: a page whose script throws is caught by the error hook and the console."""
    html = render_html(R.ethos()).replace("</body>", "<script>undefinedFunction();</script></body>")
    dom, console = dump(html, tmp_path, "broken")
    assert re.search(r'<html[^>]*data-js-error="[^"]*undefinedFunction', dom)
    assert any("undefinedFunction" in ln for ln in console)
