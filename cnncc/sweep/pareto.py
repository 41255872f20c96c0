"""Pareto fronts (all objectives minimised; maximised ones are negated first) and the best point per budget.

A point is on the front when no other point is at least as good in every objective and better in one. Equal
points do not dominate each other, so duplicates of a front point are all on the front.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from cnncc.sweep.spec import Budget, Objective


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` dominates ``b`` (minimisation): no worse in every objective, strictly better in one."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(vectors: Sequence[Sequence[float]]) -> list[int]:
    """Indices (ascending) of the non-dominated vectors. Sweeps the vectors in lexicographic order: a vector
    can only be dominated by one before it, and then by one already on the front (dominance is transitive), so
    each is compared with the front so far only — O(n·front)."""
    order = sorted(range(len(vectors)), key=lambda i: (tuple(vectors[i]), i))
    front: list[int] = []
    for i in order:
        v = vectors[i]
        if not any(dominates(vectors[j], v) for j in front):
            front.append(i)
    return sorted(front)


def _value(totals: dict[str, Any], obj: Objective) -> float | None:
    v = totals.get(obj.field)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        return None
    return float(v) if obj.goal == "min" else -float(v)


def vector(totals: dict[str, Any], objectives: Sequence[Objective]) -> tuple[float, ...] | None:
    """The minimisation vector of a point, or None when an objective is missing or not a finite number."""
    vals = [_value(totals, o) for o in objectives]
    return None if any(v is None for v in vals) else tuple(v for v in vals if v is not None)


def fronts(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> dict[str, list[int]]:
    """Per model: the ``index`` of the rows on its Pareto front (ok rows with every objective)."""
    by_model: dict[str, list[tuple[int, tuple[float, ...]]]] = {}
    for r in rows:
        if r.get("status") != "ok":
            continue
        vec = vector(r.get("totals") or {}, objectives)
        if vec is not None:
            by_model.setdefault(r["model"], []).append((r["index"], vec))
    out = {}
    for model, items in sorted(by_model.items()):
        idx = pareto_front([v for _, v in items])
        out[model] = [items[i][0] for i in idx]
    return out


def best_per_budget(rows: Sequence[dict[str, Any]], budgets: Sequence[Budget]) -> dict[str, dict[str, Any]]:
    """Per model and budget: how many points pass it and the best of them by the budget's objective
    (ties: the lowest index)."""
    models = sorted({r["model"] for r in rows})
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        mine = [r for r in rows if r["model"] == model and r.get("status") == "ok"]
        per: dict[str, Any] = {}
        for b in budgets:
            passing = [r for r in mine if b.passes(r.get("totals") or {})]
            ranked = sorted((v, r["index"]) for r in passing
                            if (v := _value(r.get("totals") or {}, b.best)) is not None)
            per[b.name] = {"passing": len(passing), "by": b.best.label,
                           "best": ranked[0][1] if ranked else None}
        out[model] = per
    return out
