"""The report's answers, drawn: the verdict (does it fit, how fast, what bounds it), cycles by bound, memory use
against capacity, energy splits, the resolved target as a key/value table and backend records made readable.

Every function takes plain report dicts (``Report.to_dict()``) and returns HTML (escaped) or ``''`` when the data
is absent. Bound words follow :data:`cnncc.backends.base.BOUNDS` (``compute``, ``memory``, ``overhead``, ``host``,
``none``); older reports' ``"memory: sram"`` style words are read by their first word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnncc.html import svg as S

#: one colour per shared bound word (bars, roofline points, table cells)
BOUND_COLOURS = {"compute": "#4e79a7", "memory": "#f28e2b", "overhead": "#e15759", "host": "#b07aa1",
                 "none": "#bab0ac", "other": "#76b7b2"}
BOUND_MEANING = {"compute": "the MAC/ALU array is busy", "memory": "a memory, DMA or bandwidth is the limit",
                 "overhead": "fixed per-op costs (weight feed, configuration, launches)",
                 "host": "runs on the host CPU", "none": "costs nothing (views, reshapes)"}
_ENERGY_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#9c755f")


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def bound_of(row: Mapping) -> str:
    """The shared bound word of a layer row (``other`` for an unknown word, ``none`` when absent)."""
    b = row.get("bound")
    if not isinstance(b, str) or not b:
        return "none"
    word = b.split(":")[0].strip()
    return word if word in BOUND_COLOURS else "other"


def bound_text(row: Mapping) -> str:
    """``memory (dram)``: the bound word with the backend's detail."""
    b, d = bound_of(row), row.get("bound_detail")
    raw = row.get("bound")
    if isinstance(raw, str) and ":" in raw and not d:
        d = raw.split(":", 1)[1].strip()
    return f"{b} ({d})" if d else b


def cycles_by_bound(layers: Sequence[Mapping]) -> dict[str, float]:
    agg: dict[str, float] = {}
    for r in layers:
        c = r.get("cycles")
        if isinstance(c, (int, float)) and S.finite(c):
            agg[bound_of(r)] = agg.get(bound_of(r), 0.0) + float(c)
    return agg


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.0f} %" if b else "–"


def _n(v: Any, unit: str = "") -> str:
    if isinstance(v, bool) or v is None:
        return "–"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}{unit}"
    if isinstance(v, float):
        return f"{v:.4g}{unit}"
    return f"{v}{unit}"


def verdict(d: Mapping, layers: Sequence[Mapping]) -> str:
    """Three answer cards: does it fit, how fast, what bounds it (plus energy when reported)."""
    tot: Mapping[str, Any] = d["totals"] if isinstance(d.get("totals"), Mapping) else {}
    if not tot:
        return ""
    cards = []
    peak, cap, fits = tot.get("peak_sram_bytes"), tot.get("sram_capacity_bytes"), tot.get("fits")
    if S.finite(peak):
        if S.finite(cap) and cap > 0:
            ok = fits if isinstance(fits, bool) else peak <= cap
            head = "fits" if ok else "does NOT fit"
            body = f"peak on-chip {_n(peak)} B of {_n(cap)} B ({_pct(peak, cap)})"
        else:
            ok, head, body = None, "fit not checked", f"peak on-chip {_n(peak)} B; the target reports no capacity"
        cls = "good" if ok else "bad" if ok is False else "meh"
        cards.append(f'<div class="answer {cls}" id="fit"><span>does it fit?</span><b>{_e(head)}</b>'
                     f"<small>{_e(body)}</small>{_meter(peak, cap)}</div>")
    lat = tot.get("latency_ms")
    if S.finite(lat):
        ips = tot.get("inferences_per_s")
        clock = tot.get("clock_hz")
        sub = f"{_n(tot.get('cycles'))} cycles" + (f" at {S.si(clock)}Hz" if S.finite(clock) else "")
        if S.finite(ips):
            sub += f"; {_n(round(ips, 1))} inferences/s"
        cards.append(f'<div class="answer" id="speed"><span>how fast?</span><b>{lat:.6g} ms</b>'
                     f"<small>{_e(sub)}</small></div>")
    agg = cycles_by_bound(layers)
    total = sum(agg.values())
    if agg and total > 0:
        top = max(sorted(agg), key=lambda k: agg[k])
        worst = max((r for r in layers if S.finite(r.get("cycles"))), key=lambda r: r["cycles"])
        sub = (f"{_pct(agg[top], total)} of cycles are {top}-bound ({BOUND_MEANING.get(top, '')}); slowest layer "
               f"{worst.get('name', '?')}: {_pct(float(worst['cycles']), total)}, {bound_text(worst)}")
        cards.append(f'<div class="answer" id="bound"><span>what bounds it?</span>'
                     f'<b style="color:{BOUND_COLOURS[top]}">{_e(top)}</b><small>{_e(sub)}</small></div>')
    if S.finite(tot.get("energy_uj")):
        cards.append(f'<div class="answer" id="energy"><span>energy</span><b>{_e(_n(tot["energy_uj"]))} µJ</b>'
                     f"<small>per inference</small></div>")
    return '<div class="answers">' + "".join(cards) + "</div>"


def _meter(used: Any, cap: Any) -> str:
    if not (S.finite(used) and S.finite(cap) and cap > 0):
        return ""
    frac = min(float(used) / float(cap), 1.0)
    colour = "#59a14f" if used <= cap else "#e15759"
    return (f'<svg class="meter" width="220" height="10" viewBox="0 0 220 10" role="img" '
            f'aria-label="on-chip memory use against capacity"><rect width="220" height="10" fill="#eee"/>'
            f'<rect width="{S.num(220 * frac)}" height="10" fill="{colour}"/></svg>')


def bound_legend() -> str:
    return '<p class="legend">' + " ".join(
        f'<span class="sw" style="background:{c}"></span>{_e(k)}' for k, c in BOUND_COLOURS.items()
        if k != "other") + "</p>"


def bound_share(layers: Sequence[Mapping]) -> str:
    agg = cycles_by_bound(layers)
    order = [k for k in BOUND_COLOURS if k in agg]
    return S.stacked_bar([(k, agg[k], BOUND_COLOURS[k]) for k in order], "cycles", "cycles by bound")


def _onchip(r: Mapping) -> Any:
    for k in ("onchip_bytes", "peak_onchip_bytes", "sram_bytes", "peak_sram_bytes"):
        if S.finite(r.get(k)):
            return r[k]
    return None


def memory_chart(d: Mapping, layers: Sequence[Mapping], label: Any) -> str:
    """Per-layer on-chip use (bytes) against the capacity (dashed line)."""
    tot: Mapping[str, Any] = d["totals"] if isinstance(d.get("totals"), Mapping) else {}
    items = [(label(r, i), _onchip(r), "#76b7b2") for i, r in enumerate(layers)]
    if not any(v is not None for _, v, _ in items):
        return ""
    cap = tot.get("sram_capacity_bytes")
    mem: Mapping[str, Any] = d["memory"] if isinstance(d.get("memory"), Mapping) else {}
    if not S.finite(cap):
        cap = mem.get("capacity_bytes")
    limit = ("capacity", float(cap)) if S.finite(cap) and cap > 0 else None
    return S.bar_chart([(n, v if v is not None else 0, c) for n, v, c in items], "bytes",
                       label="on-chip memory per layer", limit=limit)


def energy_charts(d: Mapping, layers: Sequence[Mapping], label: Any) -> list[tuple[str, str, str]]:
    """(svg, caption, id) for the network energy split and the per-layer split, where reported."""
    out = []
    tot: Mapping[str, Any] = d["totals"] if isinstance(d.get("totals"), Mapping) else {}
    split = tot.get("energy_split_uj")
    if isinstance(split, Mapping) and split:
        names = sorted(split)
        chart = S.stacked_bar([(k, split[k], _ENERGY_COLOURS[i % len(_ENERGY_COLOURS)]) for i, k in
                               enumerate(names)], "µJ", "energy split")
        out.append((chart, "energy per inference by component", "energy-split"))
    rows = [(label(r, i), r["energy_uj"], "#59a14f") for i, r in enumerate(layers) if S.finite(r.get("energy_uj"))]
    if len(rows) > 1:
        out.append((S.bar_chart(rows, "µJ", label="energy per layer"), "energy per layer (µJ)", "energy-layers"))
    return out


def flat(v: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A nested mapping as (dotted key, leaf value) pairs, sorted."""
    if isinstance(v, Mapping):
        out: list[tuple[str, Any]] = []
        for k in sorted(v, key=str):
            out += flat(v[k], f"{prefix}{k}.")
        return out
    return [(prefix[:-1], v)]


def resolved_target(t: Any, fmt: Any) -> str:
    """The resolved target (name, backend, source, overrides, every param) collapsed into a key/value table."""
    if not isinstance(t, Mapping):
        return ""
    params = flat(t.get("params", {})) if isinstance(t.get("params"), Mapping) else []
    over: Mapping[str, Any] = t["overrides"] if isinstance(t.get("overrides"), Mapping) else {}
    head = [(k, t[k]) for k in ("name", "backend", "source", "default_pipeline") if k in t]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(fmt(v))}</td></tr>" for k, v in head)
    rows += "".join(f'<tr class="{"over" if k in over else ""}"><th>{_e(k)}</th><td>{_e(fmt(v))}</td></tr>'
                    for k, v in params)
    n = len(params)
    extra = f", {len(over)} overridden" if over else ""
    return (f'<details class="target"><summary>resolved target {_e(t.get("name", ""))}: {n} keys{extra}</summary>'
            f'<table class="kv">{rows}</table></details>')


def record_text(v: Mapping) -> str:
    """A small record as readable text: ``order yxkc · tiles c=1 k=16 · resident – · reuse yes``."""
    parts = []
    for k in v:
        x = v[k]
        if isinstance(x, Mapping):
            text = " ".join(f"{a}={_leaf(b)}" for a, b in x.items())
        elif isinstance(x, (list, tuple)):
            text = ",".join(_leaf(b) for b in x) or "–"
        else:
            text = _leaf(x)
        parts.append(f"{k} {text}")
    return " · ".join(parts)


def _leaf(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (Mapping, list, tuple)):
        return record_text(v) if isinstance(v, Mapping) else ",".join(_leaf(b) for b in v)
    return str(v)
