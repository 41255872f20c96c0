"""The sweep's ``report.html``: one self-contained page (inline CSS and SVG, no external script or font).

Per model: a scatter plot for every pair of objectives (one point per design point, coloured by target, the
Pareto front ringed and joined; hovering a point shows its target, pipeline, axis values and objectives), and
parallel coordinates over the axes and objectives (one line per point, Pareto points drawn on top). Then the
Pareto points and the best point per budget as tables, and the failed points with their errors. The input
is ``Report.to_dict()`` of a sweep; the same dict gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnncc.html import CSP, CSS, SORT_JS, table
from cnncc.html import svg as S

MAX_DRAWN = 5000  # points drawn per plot at most (the caption says when some were left out)
W, H = 460.0, 330.0
LEFT, TOP, RIGHT, BOTTOM = 64.0, 16.0, 16.0, 44.0
EXTRA_CSS = (".sweep-plots{display:flex;flex-wrap:wrap;gap:8px 24px}.legend span{margin-right:12px;"
             "font-size:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;"
             "margin-right:4px;vertical-align:middle}")


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def _scale(vals: Sequence[float], r0: float, r1: float) -> Any:
    lo, hi = min(vals), max(vals)
    if lo > 0 and hi / lo >= 30:
        return S.LogScale(lo, hi, r0, r1)
    if lo == hi:
        lo, hi = lo - (abs(lo) or 1) * 0.5, hi + (abs(hi) or 1) * 0.5
    pad = (hi - lo) * 0.05
    return S.LinearScale(lo - pad, hi + pad, r0, r1)


def _ticks(sc: Any) -> list[float]:
    return sc.ticks() if isinstance(sc, S.LogScale) else sc.ticks(5)


def _hover(row: Mapping[str, Any], objectives: Sequence[str]) -> str:
    parts = [f"#{row['index']} {row['target']}", f"pipeline: {row.get('pipeline') or '(none)'}"]
    parts += [f"{k} = {_fmt(v)}" for k, v in (row.get("axes") or {}).items()]
    parts += [f"{k}: {_fmt((row.get('totals') or {}).get(k))}" for k in objectives]
    if row.get("pareto"):
        parts.append("on the Pareto front")
    return "\n".join(parts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ",".join(_fmt(x) for x in v)
    return "-" if v is None else str(v)


def _num(v: Any) -> bool:
    return S.finite(v)


def scatter(rows: Sequence[Mapping], fx: str, fy: str, colours: Mapping[str, str],
            objectives: Sequence[str]) -> str:
    """``fy`` against ``fx`` for the ok rows; Pareto rows ringed and joined in ``fx`` order."""
    pts = [r for r in rows if _num(r["totals"].get(fx)) and _num(r["totals"].get(fy))][:MAX_DRAWN]
    if not pts:
        return ""
    x = _scale([r["totals"][fx] for r in pts], LEFT, W - RIGHT)
    y = _scale([r["totals"][fy] for r in pts], H - BOTTOM, TOP)
    p: list[str] = []
    for t in _ticks(x):
        X = x(t)
        p.append(S.el("line", {"x1": X, "y1": TOP, "x2": X, "y2": H - BOTTOM, "stroke": "#eee"}))
        p.append(S.el("text", {"x": X, "y": H - BOTTOM + 14, "text-anchor": "middle"}, S.si(t)))
    for t in _ticks(y):
        Y = y(t)
        p.append(S.el("line", {"x1": LEFT, "y1": Y, "x2": W - RIGHT, "y2": Y, "stroke": "#eee"}))
        p.append(S.el("text", {"x": LEFT - 4, "y": Y + 4, "text-anchor": "end"}, S.si(t)))
    p.append(S.el("path", {"d": f"M{S.num(LEFT)},{S.num(TOP)}V{S.num(H - BOTTOM)}H{S.num(W - RIGHT)}",
                           "fill": "none", "stroke": "#333"}))
    p.append(S.el("text", {"x": (LEFT + W - RIGHT) / 2, "y": H - 8, "text-anchor": "middle"}, fx))
    p.append(S.el("text", {"x": 12, "y": (TOP + H - BOTTOM) / 2, "text-anchor": "middle",
                           "transform": f"rotate(-90 12 {S.num((TOP + H - BOTTOM) / 2)})"}, fy))
    front = sorted((r for r in pts if r.get("pareto")), key=lambda r: (r["totals"][fx], r["totals"][fy]))
    if len(front) > 1:
        d = "M" + "L".join(f"{S.num(x(r['totals'][fx]))},{S.num(y(r['totals'][fy]))}" for r in front)
        p.append(S.el("path", {"d": d, "fill": "none", "stroke": "#222", "stroke-width": 1.2,
                               "stroke-dasharray": "4 3", "class": "front-line"}))
    for r in sorted(pts, key=lambda r: (bool(r.get("pareto")), r["index"])):
        on = bool(r.get("pareto"))
        p.append(S.el("circle", {"cx": x(r["totals"][fx]), "cy": y(r["totals"][fy]), "r": 5.5 if on else 3.5,
                                 "fill": colours.get(r["target"], "#888"), "fill-opacity": 1 if on else 0.55,
                                 "stroke": "#111" if on else "none", "stroke-width": 1.5 if on else None,
                                 "class": "pt pareto" if on else "pt", "data-index": str(r["index"])},
                      raw=S.el("title", text=_hover(r, objectives))))
    return S.svg(W, H, p, f"{fy} vs {fx}")


def _short(text: str, n: int = 18) -> str:
    """``text`` cut in the middle to at most ``n`` characters (both ends tell values apart)."""
    return text if len(text) <= n else text[: (n - 1) // 2] + "…" + text[-(n // 2):]


def _axis_scale(vals: list[Any], y0: float, y1: float, discrete: bool) -> tuple[Any, list[tuple[float, str]]]:
    """A value -> y mapping for one parallel axis (numeric: linear or log; otherwise: categories) and its
    tick labels; a ``discrete`` numeric axis (a sweep axis) is ticked at its values when they are few."""
    if vals and all(_num(v) for v in vals):
        sc = _scale([float(v) for v in vals], y0, y1)
        distinct = sorted({float(v) for v in vals})
        ticks = distinct if discrete and len(distinct) <= 8 else _ticks(sc)
        return sc, [(sc(t), S.si(t)) for t in ticks]
    cats = sorted({_fmt(v) for v in vals})
    step = (y0 - y1) / max(len(cats) - 1, 1)
    pos = {c: (y0 + y1) / 2 if len(cats) == 1 else y0 - i * step for i, c in enumerate(cats)}
    return (lambda v: pos[_fmt(v)]), [(pos[c], _short(c)) for c in cats]


def parallel(rows: Sequence[Mapping], axes: Sequence[str], objectives: Sequence[str],
             colours: Mapping[str, str]) -> str:
    """Parallel coordinates: one vertical axis per sweep axis and objective, one polyline per ok row."""
    dims = [("axis", a) for a in axes if any(a in (r.get("axes") or {}) for r in rows)] + \
           [("obj", o) for o in objectives if any(_num(r["totals"].get(o)) for r in rows)]
    if len(dims) < 2 or not rows:
        return ""
    pts = rows[:MAX_DRAWN]
    width = max(560.0, 150.0 * len(dims))
    height, top, bottom = 320.0, 48.0, 300.0
    xs = [30 + i * (width - 150) / (len(dims) - 1) for i in range(len(dims))]

    def value(r: Mapping, kind: str, name: str) -> Any:
        return (r.get("axes") or {}).get(name) if kind == "axis" else r["totals"].get(name)

    scales = []
    p: list[str] = []
    labels: list[str] = []  # tick labels, drawn over the lines
    for X, (kind, name) in zip(xs, dims):
        vals = [v for r in pts if (v := value(r, kind, name)) is not None and (kind == "axis" or _num(v))]
        sc, ticks = _axis_scale(vals, bottom, top, kind == "axis")
        scales.append(sc)
        p.append(S.el("line", {"x1": X, "y1": top, "x2": X, "y2": bottom, "stroke": "#555"}))
        p.append(S.el("text", {"x": X, "y": 16 if len(scales) % 2 else 32, "font-weight": "bold",
                               "fill": "#000" if kind == "axis" else "#8a3b00"},
                      _short(name, 28), raw=S.el("title", text=name)))
        for Y, label in ticks:
            labels.append(S.el("text", {"x": X + 4, "y": Y + 3, "fill": "#333", "paint-order": "stroke",
                                   "stroke": "#fff", "stroke-width": 3}, label))
    for r in sorted(pts, key=lambda r: (bool(r.get("pareto")), r["index"])):
        coords: list[tuple[float, float] | None] = []
        for X, sc, (kind, name) in zip(xs, scales, dims):
            v = value(r, kind, name)
            if v is None or (kind == "obj" and not _num(v)):
                coords.append(None)
            else:
                coords.append((X, sc(float(v)) if isinstance(sc, (S.LinearScale, S.LogScale)) else sc(v)))
        segs: list[list[tuple[float, float]]] = []
        cur: list[tuple[float, float]] = []
        for c in coords:
            if c is None:
                if len(cur) > 1:
                    segs.append(cur)
                cur = []
            else:
                cur.append(c)
        if len(cur) > 1:
            segs.append(cur)
        if not segs:
            continue
        d = "".join("M" + "L".join(f"{S.num(a)},{S.num(b)}" for a, b in s) for s in segs)
        on = bool(r.get("pareto"))
        p.append(S.el("path", {"d": d, "fill": "none", "stroke": colours.get(r["target"], "#888") if on else "#bbb",
                               "stroke-width": 2.2 if on else 1, "stroke-opacity": 1 if on else 0.5,
                               "class": "pc pareto" if on else "pc"},
                      raw=S.el("title", text=_hover(r, objectives))))
    return S.svg(width, height, p + labels, "parallel coordinates over the axes and objectives")


def _legend(colours: Mapping[str, str]) -> str:
    return '<p class="legend">' + "".join(f'<span><i style="background:{c}"></i>{_e(t)}</span>'
                                          for t, c in colours.items()) + \
        "<span>ringed, joined: Pareto front</span></p>"


def _flat(r: Mapping, objectives: Sequence[str], axes: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"#": r["index"], "target": r["target"], "pipeline": r.get("pipeline")}
    for a in axes:
        out[a] = (r.get("axes") or {}).get(a)
    for o in objectives:
        out[o] = (r.get("totals") or {}).get(o)
    return out


def render_sweep_html(d: Mapping[str, Any]) -> str:
    """The page for a sweep report dict (``Report.to_dict()``)."""
    inputs = d.get("inputs") or {}
    rows = list(d.get("layers") or [])
    objectives = [o.split(":", 1)[-1] for o in inputs.get("objectives") or []]
    axes = [a["name"] for a in inputs.get("axes") or []]
    targets = list(inputs.get("targets") or [])
    colours = {t: S.PALETTE[i % len(S.PALETTE)] for i, t in enumerate(targets)}
    totals = d.get("totals") or {}
    title = (inputs.get("sweep") or {}).get("name", "sweep")
    body = ['<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(totals.get(k, "-"))}</b><span>{_e(label)}</span></div>'
        for k, label in (("points", "points"), ("ok", "ok"), ("failed", "failed"),
                         ("excluded_by_constraints", "excluded by constraints"),
                         ("pareto_points", "on a Pareto front"))) + "</div>"]
    body.append('<dl class="kv">' + "".join(
        f"<dt>{_e(k)}</dt><dd><code>{_e(v)}</code></dd>" for k, v in (
            ("sweep file", (inputs.get("sweep") or {}).get("path")), ("targets", ", ".join(targets)),
            ("pipelines", " | ".join(inputs.get("pipelines") or [])),
            ("objectives", ", ".join(inputs.get("objectives") or [])),
            ("constraints", "; ".join(inputs.get("constraints") or []) or "-"),
            ("sampling", f"{inputs.get('sampling')} (seed {inputs.get('seed')})"),
            ("cnncc", d.get("cnncc_version")))) + "</dl>")
    for n in d.get("notes") or []:
        body.append(f'<p class="muted">note: {_e(n)}</p>')
    best = d.get("best") or {}
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model and r.get("status") == "ok"]
        body.append(f"<h2>{_e(model)}</h2>")
        if not mine:
            body.append('<p class="err">no point of this model compiled</p>')
            continue
        plots = [scatter(mine, objectives[i], objectives[j], colours, objectives)
                 for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
        if len(objectives) == 1:  # one objective: plot it against every numeric axis
            merged = [{**r, "totals": {**(r.get("axes") or {}), **r["totals"]}} for r in mine]
            plots = [scatter(merged, a, objectives[0], colours, objectives) for a in axes
                     if any(_num((r.get("axes") or {}).get(a)) for r in mine)]
        body.append(_legend(colours) + '<div class="sweep-plots">' + "".join(
            f"<figure>{p}</figure>" for p in plots if p) + "</div>")
        if len(mine) > MAX_DRAWN:
            body.append(f'<p class="muted">plots show the first {MAX_DRAWN} of {len(mine)} points</p>')
        pc = parallel(mine, axes, objectives, colours)
        if pc:
            body.append(f'<figure class="scroll">{pc}<figcaption>parallel coordinates: one line per point; '
                        f"coloured lines are on the Pareto front</figcaption></figure>")
        front = [r for r in mine if r.get("pareto")]
        cols = ["#", "target", "pipeline", *axes, *objectives]
        body.append(f"<h3>Pareto front ({len(front)} of {len(mine)} points)</h3>"
                    + table([_flat(r, objectives, axes) for r in front], cols, cls="pareto", index=False))
        per = best.get(model) or {}
        if per:
            by_index = {r["index"]: r for r in mine}
            brows = []
            for name, b in per.items():
                r = by_index.get(b.get("best"))
                brows.append({"budget": name, "passing": b.get("passing"), "ranked by": b.get("by"),
                              **(_flat(r, objectives, axes) if r else {"#": None})})
            body.append("<h3>Best point per budget</h3>"
                        + table(brows, ["budget", "passing", "ranked by", *cols], cls="budgets", index=False))
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        body.append(f"<h2>Failed points ({len(failed)})</h2>" + table(
            [{"#": r["index"], "model": r["model"], "target": r["target"], "exit": r.get("exit_code"),
              "error": r.get("error")} for r in failed], ["#", "model", "target", "exit", "error"],
            cls="failed", index=False))
    page_title = f"sweep {title}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(page_title)}</title><style>{CSS}{EXTRA_CSS}</style></head>\n"
            f"<body><h1>{_e(page_title)}</h1>\n{''.join(body)}\n<script>{SORT_JS}</script></body></html>\n")
