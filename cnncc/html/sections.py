"""Sections of the compile report: notes, charts (roofline, bars, memory, energy), CGRA mapping choices,
timelines and backend sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnncc.html import svg as S
from cnncc.html import views as V
from cnncc.html.common import _details, _e, _figure, _label, _list, _num, _sub, columns, fmt, table

_KNOWN = {"schema_version", "cnncc_version", "command", "inputs", "layers", "totals", "notes", "roofline",
          "timeline", "targets", "title"}
EXPANDED = 3  # per-layer timelines shown open (the rest collapsed, one click away)


def notes(ns: Any) -> str:
    if not isinstance(ns, list) or not ns:
        return ""
    return '<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in ns) + "</ul>"


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
