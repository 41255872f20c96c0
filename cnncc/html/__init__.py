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

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnncc.html import svg as S
from cnncc.html import views as V

_KNOWN = {"schema_version", "cnncc_version", "command", "inputs", "layers", "totals", "notes", "roofline",
          "timeline", "targets", "title"}
_FIRST_COLS = ("name", "part", "op", "device", "mapping", "macs", "cycles", "mac_per_cycle", "ai", "bound",
               "energy_uj")
_LABELS = {"vs_fastest": "latency vs fastest (×)", "mac_per_cycle": "MAC/cycle", "ai": "AI (MAC/B)"}
_UNITS = (("_ms", "ms"), ("_uj", "µJ"), ("_bytes", "B"), ("_hz", "Hz"), ("_s", "s"))

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


def notes(ns: Any) -> str:
    if not isinstance(ns, list) or not ns:
        return ""
    return '<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in ns) + "</ul>"


def _figure(chart: str, caption: str, fid: str) -> str:
    return f'<figure id="{_e(fid)}">{chart}<figcaption>{_e(caption)}</figcaption></figure>' if chart else ""


def _label(r: Mapping, i: int) -> str:
    n = str(r.get("name", f"#{i}"))
    return f"{n} [{r['part']}]" if r.get("part") else n


def charts(d: Mapping, layers: Sequence[Mapping]) -> str:
    """Roofline (every layer with MACs, coloured by bound, every roof the target reports), cycles per layer and
    cycles by bound (coloured by bound), on-chip memory per layer against the capacity, energy splits."""
    roof = _sub(d, "roofline")
    pts, missing = [], []
    with_macs = [(i, r) for i, r in enumerate(layers) if _num(r.get("macs")) and r["macs"] > 0]
    for i, r in with_macs:
        mpc: Any = r.get("mac_per_cycle")
        if not _num(mpc) and _num(r.get("cycles")) and r["cycles"] > 0:
            mpc = r["macs"] / r["cycles"]
        if _num(r.get("ai")) and _num(mpc) and r["ai"] > 0 and mpc > 0:
            pts.append((_label(r, i), r["ai"], mpc, V.BOUND_COLOURS[V.bound_of(r)]))
        else:
            missing.append(_label(r, i))
    bws = roof.get("bandwidths_bytes_per_cycle")
    ceil = roof.get("ceilings_macs_per_cycle")
    rl = S.roofline(pts, roof.get("peak_macs_per_cycle"), bws if isinstance(bws, Mapping) else None,
                    ceilings=ceil if isinstance(ceil, Mapping) else None)
    out = []
    if rl:
        zero = [r for r in layers if not (_num(r.get("macs")) and r["macs"] > 0)]
        cyc = sum(float(r["cycles"]) for r in layers if _num(r.get("cycles")))
        zc = sum(float(r["cycles"]) for r in zero if _num(r.get("cycles")))
        cap = f"{len(pts)} of the {len(with_macs)} layers with MACs plotted, coloured by bound"
        cap += f" (no AI or cycles: {', '.join(missing)})." if missing else "."
        if zero:
            cap += (f" {len(zero)} layers without MACs (data movement, elementwise) take "
                    f"{100 * zc / cyc if cyc else 0:.0f} % of the cycles: see the cycles chart.")
        if not roof:
            cap += " The target reported no roofs."
        out.append(_figure(rl + V.bound_legend(), cap, "roofline"))
    bars = S.bar_chart([(_label(r, i), r.get("cycles"), V.BOUND_COLOURS[V.bound_of(r)],
                         f"{_label(r, i)}: {fmt(r.get('cycles'))} cycles, {V.bound_text(r)}")
                        for i, r in enumerate(layers)], "cycles", label="cycles per layer")
    share = V.bound_share(layers)
    out.append(_figure(share + bars, "cycles per layer in network order, coloured by what bounds each", "cycles"))
    mem = V.memory_chart(d, layers, _label)
    out.append(_figure(mem, "peak on-chip memory per layer" + (" against the capacity (dashed)" if 'class="capacity"'
                                                               in mem else " (the target reports no capacity)"),
                       "memory"))
    for chart, caption, fid in V.energy_charts(d, layers, _label):
        out.append(_figure(chart, caption, fid))
    return '<h2>Charts</h2><div class="charts">' + "".join(out) + "</div>" if any(out) else ""


def _cand_name(c: Mapping) -> str:
    return str(c.get("mapping") or c.get("name") or "?")


def mappings(layers: Sequence[Mapping]) -> str:
    """CGRA mapping choices: chart of every candidate's MAC/cycle per layer and a table of candidates."""
    with_c = [(i, r) for i, r in enumerate(layers) if isinstance(r.get("candidates"), list) and r["candidates"]]
    if not with_c:
        return ""
    rows: list[dict[str, Any]] = []
    chart_rows: list[Any] = []  # (label, [(mapping, MAC/cycle or None, chosen)]): the chart skips missing values
    for i, r in with_c:
        cands = [c for c in r["candidates"] if isinstance(c, Mapping)]
        chart_rows.append((_label(r, i), [(_cand_name(c), c.get("mac_per_cycle"),
                                           bool(c.get("chosen")) or _cand_name(c) == r.get("mapping"))
                                          for c in cands]))
        for c in cands:
            row = {"layer": _label(r, i), **c, "mapping": _cand_name(c)}
            row["chosen"] = bool(c.get("chosen")) or row["mapping"] == r.get("mapping")
            rows.append(row)
    cols = ["layer", "mapping", "chosen"] + [k for k in columns(rows) if k not in ("layer", "mapping", "chosen",
                                                                                     "name")]
    return ("<h2>CGRA mapping choices</h2>"
            + _figure(S.mapping_chart(chart_rows), "MAC/cycle of each mapping tried; ringed: chosen", "mappings")
            + table(rows, cols, cls="candidates", index=False))


def _samples(tl: Mapping) -> list[tuple[Any, Any]]:
    raw: Any = next((tl[k] for k in ("memory", "occupancy", "memory_occupancy", "samples") if k in tl), [])
    out = []
    for s in raw if isinstance(raw, list) else []:
        if isinstance(s, Mapping):
            out.append((s.get("t", s.get("time")), s.get("bytes", s.get("used", s.get("occupancy")))))
        elif isinstance(s, (list, tuple)) and len(s) >= 2:
            out.append((s[0], s[1]))
    return out


def _timelines(t: Any) -> list[tuple[str, Mapping]]:
    def is_tl(v: Any) -> bool:
        return isinstance(v, Mapping) and any(k in v for k in ("events", "memory", "occupancy", "samples"))
    if is_tl(t):
        return [("", t)]
    if isinstance(t, Mapping):
        inner = t.get("layers")
        if inner is not None:
            return _timelines(inner)
        return [(str(k), v) for k, v in t.items() if is_tl(v)]
    if isinstance(t, list):
        return [(str(v.get("layer") or v.get("name") or f"#{i}"), v) for i, v in enumerate(t) if is_tl(v)]
    return []


EXPANDED = 3  # per-layer timelines shown open (the rest collapsed, one click away)


def _busy(evs: Sequence[Mapping]) -> str:
    """``dma-load busy 62 %, pu 80 %; overlap 41 %`` of the span of the events."""
    good = [e for e in evs if isinstance(e, Mapping) and _num(e.get("start")) and _num(e.get("end"))]
    if not good:
        return ""
    t0, t1 = min(e["start"] for e in good), max(e["end"] for e in good)
    span = (t1 - t0) or 1.0
    parts = []
    for lane in S.lane_order([str(e.get("lane", "")) for e in good]):
        iv = S._union([(float(e["start"]), float(e["end"])) for e in good if str(e.get("lane", "")) == lane])
        parts.append(f"{lane} busy {100 * sum(b - a for a, b in iv) / span:.0f} %")
    both = S.overlap([(str(e.get("lane", "")), float(e["start"]), float(e["end"])) for e in good])
    return ", ".join(parts) + f"; two or more busy at once {100 * sum(b - a for a, b in both) / span:.0f} %"


def timeline(d: Mapping) -> str:
    """Offload timeline: the whole network on one time axis, then the first layers expanded (tiles, overlap of
    DMA and compute, memory occupancy against the capacity) and the others one click away."""
    tls = [(name, tl) for name, tl in _timelines(d.get("timeline"))]
    if not tls:
        return ""
    tot = _sub(d, "totals")
    out = []
    if len(tls) > 1:
        evs = [e for _, tl in tls for e in _list(tl.get("events"))]
        smp = [s for _, tl in tls for s in _samples(tl)]
        cap = tot.get("sram_capacity_bytes")
        chart = S.gantt(evs, smp, cap if _num(cap) else None, str(tls[0][1].get("unit", "cycles")), width=1000)
        if chart:
            out.append(_figure(chart, f"whole network, {len(tls)} layers: {_busy(evs)}", "timeline-network"))
    for n, (name, tl) in enumerate(tls):
        evs = _list(tl.get("events"))
        cap = next((tl[k] for k in ("capacity_bytes", "onchip_bytes", "capacity") if k in tl),
                   tot.get("sram_capacity_bytes"))
        chart = S.gantt(evs, _samples(tl), cap if _num(cap) else None, str(tl.get("unit", "cycles")))
        if not chart:
            continue
        extra = f" (first {S.MAX_EVENTS} of {len(evs)} events drawn)" if len(evs) > S.MAX_EVENTS else ""
        fig = _figure(chart, f"{len(evs)} events{extra}: {_busy(evs)}", f"timeline-{n}")
        out.append(f"<details{' open' if n < EXPANDED else ''}><summary>{_e(name or 'network')}</summary>{fig}"
                   "</details>" if name else fig)
    return "<h2>Offload timeline</h2>" + "".join(out) if out else ""


def extra_sections(d: Mapping) -> str:
    """Every other section: a key/value table when it is a mapping (memory placement, pass counters), else JSON."""
    rest = [k for k in d if k not in _KNOWN]
    out = []
    for k in rest:
        v = d[k]
        if isinstance(v, Mapping) and v:
            rows = "".join(f"<tr><th>{_e(a)}</th><td>{_e(fmt(b))}</td></tr>" for a, b in V.flat(v))
            out.append(f'<details><summary>{_e(k)}</summary><table class="kv">{rows}</table></details>')
        else:
            out.append(_details(k, v))
    return "<h2>Other sections</h2>" + "".join(out) if out else ""


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []


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
