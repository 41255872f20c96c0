"""Pareto fronts against a brute-force dominance check on random point sets (ties and duplicates included)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.sweep.pareto import best_per_budget, fronts, pareto_front
from cnncc.sweep.spec import Budget, Objective


def brute(vectors):
    def dom(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [i for i, v in enumerate(vectors) if not any(dom(w, v) for j, w in enumerate(vectors) if j != i)]


@st.composite
def point_sets(draw):
    dims = draw(st.integers(1, 4))
    n = draw(st.integers(0, 40))
    value = st.one_of(st.integers(0, 6), st.floats(-1e3, 1e3, allow_nan=False))
    return [tuple(draw(value) for _ in range(dims)) for _ in range(n)]


@settings(max_examples=80, deadline=None)
@given(point_sets())
def test_front_equals_brute_force(vectors):
    assert pareto_front(vectors) == brute(vectors)


@settings(max_examples=40, deadline=None)
@given(point_sets(), st.lists(st.sampled_from(["min", "max"]), min_size=4, max_size=4))
def test_fronts_per_model_with_maximised_objectives(vectors, goals):
    dims = len(vectors[0]) if vectors else 1
    objs = [Objective(f"f{i}", goals[i]) for i in range(dims)]
    rows = [{"index": i, "model": "ab"[i % 2], "status": "ok" if i % 5 else "failed",
             "totals": {f"f{k}": v for k, v in enumerate(vec)}} for i, vec in enumerate(vectors)]
    got = fronts(rows, objs)
    for model in "ab":
        mine = [r for r in rows if r["model"] == model and r["status"] == "ok"]
        signed = [tuple(v if g == "min" else -v for v, g in zip(
            (r["totals"][f"f{k}"] for k in range(dims)), goals)) for r in mine]
        want = [mine[i]["index"] for i in brute(signed)]
        assert got.get(model, []) == want


def test_best_per_budget_ranks_passing_points():
    rows = [{"index": i, "model": "m", "status": "ok", "totals": {"latency_ms": lat, "peak_sram_bytes": sram}}
            for i, (lat, sram) in enumerate([(1.0, 500), (0.4, 900), (0.5, 700), (0.45, 700), (2.0, 100)])]
    rows.append({"index": 5, "model": "m", "status": "failed", "totals": {}})
    b = Budget("fast", (("latency_ms", None, 0.5),), Objective("peak_sram_bytes"))
    none = Budget("never", (("latency_ms", None, 0.1),), Objective("latency_ms"))
    got = best_per_budget(rows, [b, none])["m"]
    assert got["fast"] == {"passing": 3, "by": "peak_sram_bytes", "best": 2}  # tie 700: the lower index
    assert got["never"] == {"passing": 0, "by": "latency_ms", "best": None}
