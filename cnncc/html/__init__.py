"""The self-contained HTML report: ``render_html(report_dict) -> str`` (one file, inline CSS/JS/SVG, no network).

Input is ``Report.to_dict()`` of any command. A **compile** report (any backend) is drawn as: summary (model,
SHA-256, target, pipeline, versions, totals, notes), charts (roofline from the layers' ``ai`` and
``mac_per_cycle`` under ``roofline`` ceilings; per-layer cycles), the CGRA mapping choices (layers carrying
``candidates``), the offload timeline (a ``timeline`` section), a sortable per-layer table, and any other
section as JSON. Every field is optional: what is absent is left out, never guessed.

A **compare** report is expected in this shape (``command == "compare"``)::

    {"command": "compare", "schema_version": 1, "cnncc_version": "...",
     "inputs": {"model": {"path": str, "sha256": str}, "pipeline": str},      # pipeline when shared
     "targets": [{"target": str | {"name": str, ...},   # shipped name or resolved target
                  "backend": str, "pipeline": str,       # optional
                  "totals": {"latency_ms", "cycles", "clock_hz", "macs", "energy_uj", "peak_sram_bytes", ...},
                  "bound": str,                           # dominant bound, optional
                  "top_layers": [{"name": str, "cycles": int, "share": float (0..1)} | str, ...],  # optional
                  "layers": [compile layer dicts],       # optional: enables the per-layer cycles table
                  "notes": [str], "error": str}],        # error: this target failed (rest of row empty)
     "notes": [str]}

and drawn as a side-by-side table (with latency relative to the fastest target), latency and energy bar charts,
per-target top layers and, when targets carry ``layers``, a per-layer cycles table. Timeline dicts are
``{"events": [{lane, start, end, label}], "memory": [{"t", "bytes"} | [t, bytes]], "capacity_bytes", "unit"}``
(also accepted: ``occupancy``/``samples``, ``time``/``used``; a list of such dicts or a {layer: dict} mapping
draws one timeline per entry). Deterministic: the same dict gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnncc.html import svg as S
from cnncc.html import views as V
from cnncc.html.common import (  # noqa: F401
    _FIRST_COLS,
    _LABELS,
    _UNITS,
    _details,
    _e,
    _figure,
    _kv,
    _label,
    _list,
    _num,
    _sub,
    _target_name,
    _td,
    columns,
    fmt,
    header,
    table,
)
from cnncc.html.sections import (  # noqa: F401
    _KNOWN,
    EXPANDED,
    _busy,
    _cand_name,
    _samples,
    _timelines,
    charts,
    extra_sections,
    mappings,
    notes,
    timeline,
)

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 40px;color:#222}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.kv dt{color:#666}dl.kv dd{margin:0}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;border-radius:6px;padding:6px 10px}
.card b{display:block;font-size:16px}.card span{color:#666;font-size:12px}code{font-size:12px}
table{border-collapse:collapse;font-size:12px}th,td{padding:2px 6px;border-bottom:1px solid #eee}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4;text-align:left}
table.sortable th{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}.scroll{overflow-x:auto}tfoot td{font-weight:bold}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.muted{color:#777}figure{margin:8px 0}
figcaption{color:#666;font-size:12px}svg.chart{max-width:100%;height:auto}.err{color:#b00}
td{white-space:nowrap}td.long{white-space:normal;min-width:200px;max-width:360px;overflow-wrap:anywhere}
.charts{display:flex;flex-wrap:wrap;gap:8px 32px;align-items:flex-start}
.answers{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.answer{border:1px solid #ccc;border-radius:8px;
padding:10px 14px;min-width:220px;max-width:360px;background:#fafafa}.answer span{display:block;color:#666;
font-size:12px;text-transform:uppercase;letter-spacing:.04em}.answer b{display:block;font-size:22px;margin:2px 0}
.answer small{display:block;color:#444}.answer.good b{color:#2a7d2a}.answer.bad b{color:#b00}.answer.meh b{color:#a60}
svg.meter{display:block;margin-top:6px}.legend .sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
table.kv th{background:none;font-weight:normal;color:#555}tr.over td{font-weight:bold}details.target{margin:6px 0}
td.b-compute{color:#4e79a7}td.b-memory{color:#c66a00}td.b-overhead{color:#c0392b}td.b-host{color:#8e5a9e}
td.b-none{color:#999}"""

ERROR_JS = ("window.onerror=function(m){var d=document.documentElement;"
            "d.setAttribute('data-js-error',(d.getAttribute('data-js-error')||'')+String(m)+';');};")
SORT_JS = """(function(){function key(td){var v=td.getAttribute('data-v');return v===null?td.textContent:+v;}
function sortBy(t,i,th){var asc=th.getAttribute('aria-sort')!=='ascending';
for(var h of th.parentNode.cells)h.removeAttribute('aria-sort');
th.setAttribute('aria-sort',asc?'ascending':'descending');
var b=t.tBodies[0],rows=Array.from(b.rows);rows.sort(function(a,c){var x=key(a.cells[i]),y=key(c.cells[i]),r;
if(typeof x==='number'&&typeof y==='number')r=x-y;else if(typeof x==='number')r=-1;else if(typeof y==='number')r=1;
else r=x.localeCompare(y);return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});}
document.querySelectorAll('table.sortable').forEach(function(t){Array.from(t.tHead.rows[0].cells).forEach(
function(th,i){th.addEventListener('click',function(){sortBy(t,i,th);});});});
document.body.setAttribute('data-ready','1');})();"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def summary(d: Mapping) -> str:
    """Inputs (model, SHA-256, target, pipeline, versions), total cards and notes."""
    inp = _sub(d, "inputs")
    model = inp.get("model")
    items = []
    if isinstance(model, Mapping):
        items += [("model", f"<code>{_e(model.get('path', '–'))}</code>"),
                  ("sha256", f"<code>{_e(model.get('sha256', '–'))}</code>")]
    elif model is not None:
        items.append(("model", f"<code>{_e(model)}</code>"))
    if "target" in inp:
        items.append(("target", _e(_target_name(inp["target"]))))
    if isinstance(inp.get("targets"), list):
        items.append(("targets", _e(", ".join(_target_name(t) for t in inp["targets"]))))
    if "pipeline" in inp:
        p = inp["pipeline"]
        items.append(("pipeline", f"<code>{_e(fmt(p))}</code>"))
    for k, v in inp.items():
        if k not in ("model", "target", "pipeline", "targets"):
            items.append((k, _e(fmt(v))))
    items += [(k.replace("_", " "), _e(d[k])) for k in ("command", "cnncc_version", "schema_version") if k in d]
    layers = [r for r in _list(d.get("layers")) if isinstance(r, Mapping)]
    out = [V.verdict(d, layers) if d.get("command") != "compare" else "", _kv(items)]
    if isinstance(inp.get("target"), Mapping):
        out.append(V.resolved_target(inp["target"], fmt))
    for t in _list(inp.get("targets")):
        out.append(V.resolved_target(t, fmt))
    tot = _sub(d, "totals")
    if tot:
        out.append('<h2>Totals</h2><div class="cards">' + "".join(
            f'<div class="card" data-k="{_e(k)}"><b>{_e(fmt(v))}</b><span>{_e(header(k))}</span></div>'
            for k, v in tot.items() if not isinstance(v, (Mapping, list))) + "</div>")
    out.append(notes(d.get("notes")))
    return "".join(out)


def compile_body(d: Mapping) -> tuple[str, str]:
    layers = [r for r in _list(d.get("layers")) if isinstance(r, Mapping)]
    inp = _sub(d, "inputs")
    model = inp.get("model", {})
    mname = str(model.get("path", "model") if isinstance(model, Mapping) else model).rsplit("/", 1)[-1]
    tname = _target_name(inp.get("target"))
    title = f"cnncc {d.get('command', 'report')}: {mname}" + (f" on {tname}" if tname else "")
    tot = _sub(d, "totals")
    body = [f'<section id="summary">{summary(d)}</section>', charts(d, layers), mappings(layers), timeline(d),
            f'<h2>Layers</h2><section id="layers">{table(layers, columns(layers), tot, "layers")}</section>',
            extra_sections(d)]
    return title, "".join(body)


_CMP_COLS = ("latency_ms", "cycles", "clock_hz", "energy_uj", "macs", "peak_sram_bytes", "inferences_per_s")


def compare_body(d: Mapping) -> tuple[str, str]:
    """Side-by-side table of the targets, bar charts of latency and energy, top layers, per-layer cycles."""
    tgts = [t for t in _list(d.get("targets")) if isinstance(t, Mapping)]
    rows = []
    for t in tgts:
        tot = _sub(t, "totals")
        rows.append({"target": _target_name(t.get("target")), "backend": t.get("backend"), **tot,
                     "bound": t.get("bound"), "error": t.get("error")})
    lat = [r["latency_ms"] for r in rows if _num(r.get("latency_ms")) and r["latency_ms"] > 0]
    for r in rows:
        if lat and _num(r.get("latency_ms")):
            r["vs_fastest"] = r["latency_ms"] / min(lat)
    keys = list(dict.fromkeys(k for r in rows for k in r if r.get(k) is not None))
    cols = ["target"] + [k for k in ("backend", "latency_ms", "vs_fastest", *_CMP_COLS, "bound") if k in keys]
    cols += [k for k in keys if k not in cols and k != "error"] + (["error"] if "error" in keys else [])
    ok = [r for r in rows if _num(r.get("latency_ms")) and r["latency_ms"] > 0]
    answer = ""
    if ok:
        best = min(ok, key=lambda r: r["latency_ms"])
        nofit = [r["target"] for r in rows if r.get("fits") is False]
        failed = [r["target"] for r in rows if r.get("error")]
        answer = (f'<p class="verdict" id="verdict"><b>fastest: {_e(best["target"])}</b> '
                  f'({_e(fmt(best["latency_ms"]))} ms, {_e(best.get("bound") or "bound not reported")}-bound); '
                  + (f"does not fit: {_e(', '.join(nofit))}" if nofit else "every target that reports a capacity "
                     "fits") + (f"; failed: {_e(', '.join(failed))}" if failed else "") + "</p>")
    body = [answer, f'<section id="summary">{summary({k: v for k, v in d.items() if k != "totals"})}</section>',
            '<h2>Targets</h2><section id="targets">' + table(rows, list(dict.fromkeys(cols)), cls="targets",
                                                              index=False) + "</section>"]
    figs = [_figure(S.bar_chart([(r["target"], r.get(k), V.BOUND_COLOURS[V.bound_of(r)],
                                  f"{r['target']}: {fmt(r.get(k))} {unit}, {r.get('bound') or 'bound not reported'}")
                                 for r in rows], unit, label=f"{k} per target", log=True),
                    f"{header(k)} per target (log scale: every target stays readable), coloured by the bound "
                    f"that dominates it", f"cmp-{k}") for k, unit in (("latency_ms", "ms"), ("energy_uj", "µJ"))]
    shares = []
    for t, r in zip(tgts, rows):
        ls = [x for x in _list(t.get("layers")) if isinstance(x, Mapping)]
        chart = V.bound_share(ls) if ls else ""
        if chart:
            shares.append(f"<h3>{_e(r['target'])}</h3>{chart}")
    if any(figs) or shares:
        body.append('<h2>Charts</h2><div class="charts">' + "".join(figs) + "</div>" + V.bound_legend())
    if shares:
        body.append("<h2>Cycles by bound, per target</h2>" + "".join(shares))
    top = []
    for t, r in zip(tgts, rows):
        items = []
        for x in _list(t.get("top_layers")):
            if isinstance(x, Mapping):
                share = f" ({x['share'] * 100:.1f} %)" if _num(x.get("share")) else ""
                cyc = f", {fmt(x['cycles'])} cycles" if _num(x.get("cycles")) else ""
                items.append(f"<li>{_e(x.get('name', '?'))}{_e(cyc)}{_e(share)}</li>")
            else:
                items.append(f"<li>{_e(x)}</li>")
        nts = "".join(f'<li class="muted">note: {_e(n)}</li>' for n in _list(t.get("notes")))
        if items or nts:
            top.append(f"<h3>{_e(r['target'])}</h3><ul>{''.join(items)}{nts}</ul>")
    if top:
        body.append("<h2>Top layers</h2>" + "".join(top))
    body.append(_per_layer(tgts, rows))
    body.append(extra_sections(d))
    inp = _sub(d, "inputs")
    model = inp.get("model", {})
    mname = str(model.get("path", "model") if isinstance(model, Mapping) else model).rsplit("/", 1)[-1]
    return f"cnncc compare: {mname} on {len(tgts)} targets", "".join(body)


def _per_layer(tgts: Sequence[Mapping], rows: Sequence[Mapping]) -> str:
    """Cycles of each layer (summed over parts) on each target carrying ``layers``."""
    per: dict[str, dict[str, Any]] = {}
    names = []
    for t, r in zip(tgts, rows):
        ls = [x for x in _list(t.get("layers")) if isinstance(x, Mapping) and _num(x.get("cycles"))]
        if ls:
            names.append(r["target"])
        for x in ls:
            row = per.setdefault(str(x.get("name", "?")), {"layer": str(x.get("name", "?"))})
            row[r["target"]] = row.get(r["target"], 0) + x["cycles"]
    if not names:
        return ""
    return ("<h2>Cycles per layer</h2>" + table(list(per.values()), ["layer", *dict.fromkeys(names)],
                                                cls="per-layer"))


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page (str) for a report dict (``Report.to_dict()``, compile or compare); a
    :class:`cnncc.report.Report` is accepted too and rendered from its ``to_dict()``."""
    if not isinstance(report, Mapping) and hasattr(report, "to_dict"):
        report = report.to_dict()
    if not isinstance(report, Mapping):
        report = {}
    if report.get("command") == "compare" or isinstance(report.get("targets"), list):
        title, body = compare_body(report)
    else:
        title, body = compile_body(report)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><script>{ERROR_JS}</script><style>{CSS}</style></head>\n"
            f"<body><h1>{_e(title)}</h1>\n{body}\n<script>{SORT_JS}</script></body></html>\n")
