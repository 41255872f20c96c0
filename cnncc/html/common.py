"""Shared building blocks of the HTML report: escaping, number formats, tables, key/value lists, figures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnncc.html import svg as S
from cnncc.html import views as V

_FIRST_COLS = ("name", "part", "op", "device", "mapping", "macs", "cycles", "mac_per_cycle", "ai", "bound",
               "energy_uj")
_LABELS = {"vs_fastest": "latency vs fastest (×)", "mac_per_cycle": "MAC/cycle", "ai": "AI (MAC/B)"}
_UNITS = (("_ms", "ms"), ("_uj", "µJ"), ("_bytes", "B"), ("_hz", "Hz"), ("_s", "s"))


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def _num(v: Any) -> bool:
    return S.finite(v)


def fmt(v: Any) -> str:
    """A value as table text: ints with separators, floats to 4 significant digits, lists joined, dicts JSON."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
        return ", ".join(str(x) for x in v)
    if isinstance(v, Mapping) and all(not isinstance(x, list) or all(not isinstance(y, (dict, list)) for y in x)
                                      for x in v.values()):
        return V.record_text(v)  # a strategy or a split: ``order yxkc · tiles c=1 k=16``, not JSON
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True, separators=(",", ":"), default=str)
    return str(v)


def header(key: str) -> str:
    """Column header for a dict key: underscores to spaces, a unit suffix in brackets (``latency_ms``)."""
    if key in _LABELS:
        return _LABELS[key]
    if key.endswith("_per_s"):
        return key[:-6].replace("_", " ") + "/s"
    for suf, unit in _UNITS:
        if key.endswith(suf) and len(key) > len(suf):
            return f"{key[: -len(suf)].replace('_', ' ')} ({unit})"
    return key.replace("_", " ")


def _td(v: Any, col: str = "") -> str:
    if _num(v):
        return f'<td class="n" data-v="{_e(repr(float(v)))}">{_e(fmt(v))}</td>'
    text = fmt(v)
    if col == "bound" and isinstance(v, str):
        return f'<td class="b-{_e(V.bound_of({"bound": v}))}">{_e(text)}</td>'
    return f'<td class="long">{_e(text)}</td>' if len(text) > 40 else f"<td>{_e(text)}</td>"


def table(rows: Sequence[Mapping], cols: Sequence[str], foot: Mapping | None = None, cls: str = "",
          index: bool = True) -> str:
    """A sortable table of ``rows`` (dicts) over ``cols``; an optional footer row of totals."""
    if not rows:
        return '<p class="muted">no rows</p>'
    ths = ('<th data-k="#">#</th>' if index else "") + "".join(
        f'<th data-k="{_e(c)}">{_e(header(c))}</th>' for c in cols)
    body = "".join("<tr>" + (_td(i) if index else "") + "".join(_td(r.get(c), c) for c in cols) + "</tr>"
                   for i, r in enumerate(rows))
    tf = ""
    if foot and any(c in foot for c in cols):
        tf = "<tfoot><tr>" + ("<td>total</td>" if index else "") + "".join(
            _td(foot.get(c)) if c in foot else "<td></td>" for c in cols) + "</tr></tfoot>"
    return (f'<div class="scroll"><table class="sortable {_e(cls)}"><thead><tr>{ths}</tr></thead>'
            f"<tbody>{body}</tbody>{tf}</table></div>")


def columns(rows: Sequence[Mapping]) -> list[str]:
    """Layer columns: the usual ones first, then other keys in first-appearance order; keys holding only
    dicts-of-dicts / lists of dicts (``candidates``, ...) are left to their own sections."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    def tabular(k: str) -> bool:
        vals = [r[k] for r in rows if k in r and r[k] is not None]
        return not vals or not all(isinstance(v, list) and v and isinstance(v[0], dict) for v in vals)
    keys = [k for k in keys if tabular(k)]
    return [k for k in _FIRST_COLS if k in keys] + [k for k in keys if k not in _FIRST_COLS]


def _target_name(t: Any) -> str:
    if isinstance(t, Mapping):
        return str(t.get("name") or t.get("backend") or "target")
    return "" if t is None else str(t)


def _kv(items: Sequence[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _sub(d: Mapping, key: str) -> Mapping[str, Any]:
    """``d[key]`` when it is a mapping, else an empty one."""
    v = d.get(key)
    return v if isinstance(v, Mapping) else {}


def _details(summary: str, obj: Any) -> str:
    txt = json.dumps(obj, indent=2, sort_keys=True, default=str)
    return f"<details><summary>{_e(summary)}</summary><pre>{_e(txt)}</pre></details>"


def _figure(chart: str, caption: str, fid: str) -> str:
    return f'<figure id="{_e(fid)}">{chart}<figcaption>{_e(caption)}</figcaption></figure>' if chart else ""


def _label(r: Mapping, i: int) -> str:
    n = str(r.get("name", f"#{i}"))
    return f"{n} [{r['part']}]" if r.get("part") else n


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []
