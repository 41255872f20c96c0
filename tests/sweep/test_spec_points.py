"""The sweep file is schema-checked (unknown keys refused with a did-you-mean), axes and sampling generate the
documented points, constraints evaluate no code, and a point that does not resolve fails alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cnncc
from cnncc.errors import CnnccError
from cnncc.sweep.axes import parse_axis
from cnncc.sweep.points import generate
from cnncc.sweep.spec import load_sweep


def write(tmp_path: Path, model: Path, body: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(f"schema_version = 1\nmodels = [{json.dumps(str(model))}]\n" + body)
    return p


@pytest.mark.parametrize("body, message", [
    ('targets = ["ethos-u65-256"]\nobjective = ["latency_ms"]\n', "did you mean 'objectives'"),
    ('targets = ["ethos-u65-256"]\n[axes]\narena_cache_size_byte = [1]\n', "did you mean 'arena_cache_size_bytes'"),
    ('targets = ["ethos-u65-256"]\n[axes]\ncores = { lgo_range = [1, 4], num = 2 }\n', "did you mean 'log_range'"),
    ('targets = ["ethos-u65-256"]\npipelines = ["fold-bn,abconv{groups={gg}}"]\n[axes]\ng = [2]\n',
     "no axis 'gg'"),
    ('targets = ["ethos-u65-256"]\nconstraints = ["__import__(\'os\').system(\'true\')"]\n', "not allowed"),
    ('targets = ["ethos-u65-256"]\nconstraints = ["cors > 1"]\n[axes]\ncores = [1, 2]\n', "did you mean 'cores'"),
    ('targets = [{ name = "ethos-u65-256", sett = {} }]\n', "did you mean 'set'"),
    ('targets = ["ethos-u65-256"]\nsampling = "random"\n', "needs samples"),
    ('targets = ["ethos-u65-256"]\n[budgets.b]\nlatency_ms = "fast"\n', "must be numbers"),
    ('targets = ["ethos-u65-256"]\n[execution]\njob = 2\n', "did you mean 'jobs'"),
])
def test_bad_sweep_files_are_refused(tmp_path, small_models, body, message):
    p = write(tmp_path, small_models["tiny_dw"], body)
    with pytest.raises(CnnccError) as e:
        generate(load_sweep(p))
    assert message in str(e.value) and e.value.exit_code == 2 and "\n" not in str(e.value)


def test_schema_version_is_required(tmp_path, small_models):
    p = tmp_path / "s.toml"
    p.write_text(f'models = ["{small_models["tiny_dw"]}"]\ntargets = ["ethos-u65-256"]\n')
    with pytest.raises(CnnccError, match="schema_version must be 1"):
        load_sweep(p)


def test_axis_forms():
    assert parse_axis("a", {"log_range": [16384, 262144], "factor": 4}).values == (16384, 65536, 262144)
    assert parse_axis("a", {"log_range": [1000, 100000], "num": 3}).values == (1000, 10000, 100000)
    assert parse_axis("a", {"range": [0.5, 1.0], "step": 0.25}).values == (0.5, 0.75, 1.0)
    assert parse_axis("a", {"range": [1, 4]}).values == (1, 2, 3, 4)
    assert parse_axis("a", {"range": [0, 10], "num": 3}).values == (0, 5, 10)
    assert parse_axis("a", [["conv-wp"], ["conv-wp", "conv-op"]]).values == (("conv-wp",), ("conv-wp", "conv-op"))


GRID = '''targets = ["ethos-u65-256", { name = "offload", set = { z3_certify = false } }]
pipelines = ["fold-bn,fuse-act", "fold-bn,fuse-act,abconv{groups={g}}"]
objectives = ["latency_ms"]
[axes]
system = ["Ethos_U65_High_End", "Ethos_U65_Client_Server"]
"systems.Ethos_U65_High_End.core_clock_hz" = [500_000_000, 1_000_000_000]
onchip_bytes = { log_range = [65536, 262144], factor = 2 }
g = [2, 4]
'''


def test_grid_varies_each_axis_only_where_it_applies(tmp_path, small_models):
    points, excluded = generate(load_sweep(write(tmp_path, small_models["tiny_dw"], GRID)))
    ethos = [p for p in points if p.backend == "ethos_u65"]
    off = [p for p in points if p.backend == "offload"]
    assert len(ethos) == 2 * 2 * (1 + 2) and len(off) == 3 * (1 + 2) and excluded == 0
    assert all(set(dict(p.axes)) <= {"system", "systems.Ethos_U65_High_End.core_clock_hz", "g"} for p in ethos)
    assert {dict(p.axes)["onchip_bytes"] for p in off} == {65536, 131072, 262144}
    assert len({p.key for p in points}) == len(points)
    fast = [p for p in ethos if dict(p.axes).get("systems.Ethos_U65_High_End.core_clock_hz") == 500_000_000]
    assert all(p.resolved.params["systems"]["Ethos_U65_High_End"]["core_clock_hz"] == 500_000_000 for p in fast)
    assert {p.pipeline for p in off} == {"fold-bn,fuse-act", "fold-bn,fuse-act,abconv{groups=2}",
                                         "fold-bn,fuse-act,abconv{groups=4}"}


def test_keys_depend_on_the_resolved_point_only(tmp_path, small_models):
    a, _ = generate(load_sweep(write(tmp_path, small_models["tiny_dw"], GRID, "a.toml")))
    renamed = GRID.replace('objectives = ["latency_ms"]', 'name = "other"\nobjectives = ["max:inferences_per_s"]')
    b, _ = generate(load_sweep(write(tmp_path, small_models["tiny_dw"], renamed, "b.toml")))
    assert [p.key for p in a] == [p.key for p in b]  # editing objectives keeps finished points


def test_random_sampling_is_seeded_and_the_same_for_every_model(tmp_path, small_models):
    body = GRID.replace('objectives = ["latency_ms"]', 'sampling = "random"\nsamples = 2\nseed = SEED')
    two = (f'models = [{json.dumps(str(small_models["tiny_dw"]))}, {json.dumps(str(small_models["tiny_res"]))}]\n'
           + body)

    def configs(seed):
        p = tmp_path / f"r{seed}.toml"
        p.write_text("schema_version = 1\n" + two.replace("SEED", str(seed)))
        pts, _ = generate(load_sweep(p))
        by = {}
        for pt in pts:
            by.setdefault(pt.model_path.stem, []).append((pt.target.title, pt.pipeline, pt.axes))
        return by

    a, b = configs(1), configs(1)
    assert a == b and a["tiny_dw"] == a["tiny_res"] and len(a["tiny_dw"]) == 2 * 2 * 2
    assert any(configs(s) != a for s in (2, 3, 4))


def test_constraints_filter_and_failing_points_do_not_stop_the_sweep(tmp_path, small_models):
    body = '''targets = ["ethos-u65-256"]
objectives = ["latency_ms", "peak_sram_bytes"]
constraints = ["cores + 0 <= 2"]
[axes]
cores = [0, 1, 2, 3]
arena_cache_size_bytes = [65536, 262144]
'''
    p = write(tmp_path, small_models["tiny_dw"], body)
    rep = cnncc.sweep(p, jobs=1, out_dir=tmp_path / "out")
    assert rep.totals["points"] == 6 and rep.totals["excluded_by_constraints"] == 2
    bad = [r for r in rep.layers if r["axes"]["cores"] == 0]
    assert len(bad) == 2 and all(r["status"] == "failed" and r["exit_code"] == 2 and r["error"] for r in bad)
    assert rep.totals["ok"] == 4
    html = (tmp_path / "out" / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained
    assert html.count('class="pt pareto"') == sum(r["pareto"] for r in rep.layers)
    assert "cores = 2" in html and "arena_cache_size_bytes = 262144" in html  # axis values on hover
    assert 'class="pc' in html and "Failed points (2)" in html
