"""`cnncc compile A B ...` (one table/CSV with a model column) and `cnncc compare` across configurations of one
target (`NAME@key=value`)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cnncc.cli import main
from cnncc.compare import compare_targets
from cnncc.driver import compile_model
from cnncc.sweep.configs import parse_config, split_configs
from cnncc.target import load_target


def run(capsys, *args):
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_compile_many_models_csv_has_a_model_column(small_models, capsys):
    a, b = small_models["tiny_dw"], small_models["tiny_res"]
    code, out, err = run(capsys, "compile", a, b, "-t", "ethos-u65-256", "-f", "csv", "-q")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    want = {m: compile_model(p, "ethos-u65-256").layers for m, p in (("tiny_dw", a), ("tiny_res", b))}
    assert [r["model"] for r in rows] == ["tiny_dw"] * len(want["tiny_dw"]) + ["tiny_res"] * len(want["tiny_res"])
    assert [float(r["cycles"]) for r in rows] == [float(x["cycles"]) for m in want for x in want[m]]


def test_compile_many_models_table_json_and_budgets(small_models, capsys, tmp_path):
    a, b = small_models["tiny_dw"], small_models["cgra_baseline"]
    code, out, err = run(capsys, "compile", a, b, "-t", "ethos-u65-256", "-f", "json", "-o", tmp_path / "o")
    docs = json.loads(out)
    assert code == 0 and [d["inputs"]["model"]["path"] for d in docs] == [str(a), str(b)]
    assert (tmp_path / "o" / "tiny_dw" / "report.json").is_file() and (tmp_path / "o" / "cgra_baseline").is_dir()
    lat = {d["inputs"]["model"]["path"]: d["totals"]["latency_ms"] for d in docs}
    limit = (lat[str(a)] + lat[str(b)]) / 2  # one model passes, the other fails
    code, out, err = run(capsys, "compile", a, b, "-t", "ethos-u65-256", "--budget-ms", limit)
    assert code == 1 and "tiny_dw" in out and "cgra_baseline" in out
    assert err.count("FAIL ") == 1 and err.count("ok   ") == 1


def test_split_configs_keeps_list_values():
    assert split_configs("ethos-u65-256,cgra@mappings=conv-wp,conv-op,offload") == [
        "ethos-u65-256", "cgra@mappings=conv-wp,conv-op", "offload"]
    cfg = parse_config("ethos-u65-256@system=Ethos_U65_High_End@cores=2")
    assert cfg.name == "ethos-u65-256" and cfg.overrides == (("system", "Ethos_U65_High_End"), ("cores", "2"))


def test_compare_configurations_of_one_target(small_models, capsys):
    m = small_models["small_residual_concat"]
    names = ["ethos-u65-256", "ethos-u65-256@system=Ethos_U65_High_End",
             "ethos-u65-256@system=Ethos_U65_High_End@cores=2"]
    rep = compare_targets(m, names)
    assert [r["name"] for r in rep.layers] == names
    for r, ov in zip(rep.layers, [{}, {"system": "Ethos_U65_High_End"}, {"system": "Ethos_U65_High_End",
                                                                          "cores": 2}]):
        assert r["latency_ms"] == compile_model(m, load_target("ethos-u65-256", ov)).totals["latency_ms"]
    code, out, err = run(capsys, "compare", m, "--targets", ",".join(names), "-f", "json")
    assert code == 0, err
    assert [t["target"] for t in json.loads(out)["targets"]] == names


@pytest.mark.parametrize("bad, why", [("ethos-u65-256@system", "expected @key=value"),
                                      ("ethos-u65-256@sytem=x", "did you mean 'system'"),
                                      ("ethos-u65-256,ethos-u65-256", "twice")])
def test_compare_bad_configurations_are_one_line_errors(small_models, capsys, bad, why):
    code, out, err = run(capsys, "compare", small_models["tiny_dw"], "--targets", bad)
    assert code == 2 and why in err and err.count("\n") == 1
