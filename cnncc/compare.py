"""``cnncc compare``: one model on several targets, side by side.

A target may be a configuration, ``NAME@key=value@key2=value2`` (:mod:`cnncc.sweep.configs`), so several
configurations of one target sit side by side:
``--targets ethos-u65-256,ethos-u65-256@system=Ethos_U65_High_End``. ``--set key=value`` applies to every target
whose params have that key; ``--set TARGET:key=value`` to the targets of that name (or that configuration
label) only; ``@`` keys win over ``--set``. The JSON (``command: "compare"``) has ``targets``: one entry per
target (its configuration label) with its totals, the bound that dominates (the per-layer bound carrying the
most cycles) and the top layers by cycles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnncc.errors import TargetError
from cnncc.report import Column, Report, model_input


def _for_target(name: str, params: dict, overrides: list[tuple[str, str]], label: str = ""
                ) -> list[tuple[str, str]]:
    out = []
    for k, v in overrides:
        if ":" in k:
            tname, key = k.split(":", 1)
            if tname in (name, label):
                out.append((key, v))
        elif k.split(".")[0] in params:
            out.append((k, v))
    return out


def dominant_bound(layers: list[dict]) -> str | None:
    """The per-layer ``bound`` that accounts for most cycles."""
    agg: dict[str, float] = {}
    for row in layers:
        b, c = row.get("bound"), row.get("cycles")
        if isinstance(b, str) and isinstance(c, (int, float)):
            agg[b] = agg.get(b, 0.0) + c
    return max(sorted(agg), key=lambda k: agg[k]) if agg else None


def top_layers(layers: list[dict], n: int = 3) -> list[dict]:
    agg: dict[str, float] = {}
    for row in layers:
        c = row.get("cycles")
        if isinstance(c, (int, float)):
            agg[row["name"]] = agg.get(row["name"], 0.0) + c
    total = sum(agg.values()) or 1.0
    ranked = sorted(agg.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": k, "cycles": v, "share": round(v / total, 4)} for k, v in ranked]


def compare_targets(model: str | Path, names: list[str], overrides: list[tuple[str, str]] | None = None,
                    input_shapes: dict | None = None) -> Report:
    """Compile ``model`` once per target configuration (the model is loaded once) and tabulate the totals."""
    from cnncc.driver import compile_model, load_model
    from cnncc.sweep.configs import parse_config
    from cnncc.target import load_target

    configs = [parse_config(n) for n in names]
    labels = [c.title for c in configs]
    for lab in labels:
        if labels.count(lab) > 1:
            raise TargetError(f"--targets lists {lab!r} twice")
    graph = load_model(model, input_shapes)
    overrides = overrides or []
    rows: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for cfg in configs:
        base = load_target(cfg.name)  # its keys decide which --set entries apply to it
        tgt = load_target(cfg.name, _for_target(cfg.name, dict(base.params), overrides, cfg.title)
                          + list(cfg.overrides))
        targets.append(tgt.to_dict())
        rep = compile_model(graph, tgt)
        t = rep.totals
        label = cfg.title if cfg.overrides else tgt.name
        entry: dict[str, Any] = {"target": label, "backend": tgt.backend, "pipeline": rep.inputs.get("pipeline"),
                                 "totals": t, "bound": dominant_bound(rep.layers),
                                 "top_layers": top_layers(rep.layers)}
        entries.append(entry)
        rows.append({"name": label, "latency_ms": t.get("latency_ms"), "cycles": t.get("cycles"),
                     "clock_hz": t.get("clock_hz"), "energy_uj": t.get("energy_uj"),
                     "inferences_per_s": t.get("inferences_per_s"), "bound": entry["bound"],
                     "top_layers": [x["name"] for x in entry["top_layers"]]})
    unknown = [k for k, _ in overrides if ":" not in k and not any(
        k.split(".")[0] in tg["params"] for tg in targets)]
    if unknown:
        raise TargetError(f"--set key(s) {unknown} match none of the targets {names}")
    cols = (Column("name", "target"), Column("latency_ms", "latency ms", ".4f"), Column("cycles", "cycles", ",.0f"),
            Column("energy_uj", "energy µJ", ".2f"), Column("inferences_per_s", "inf/s", ",.1f"),
            Column("bound", "bound"), Column("top_layers", "top layers"))
    fastest = min((r for r in rows if r["latency_ms"] is not None), key=lambda r: r["latency_ms"], default=None)
    totals = {"targets": len(rows), "fastest": fastest["name"] if fastest else None}
    return Report("compare", {"model": model_input(model), "targets": targets}, rows, totals, cols,
                  sections={"targets": entries}, title=f"{graph.name} on {len(rows)} targets")
