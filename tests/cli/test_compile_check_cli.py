"""`cnncc compile` and `cnncc check`: every exit code, budgets, JUnit XML, schema, determinism, atomic outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

TARGET = "ethos-u65-256"


def schema():
    return json.loads(resources.files("cnncc").joinpath("schema/report.schema.json").read_text())


@pytest.fixture(scope="module")
def unsupported_model(tmp_path_factory):
    """A conv followed by an op cnncc does not know: loading fails with exit 3."""
    p = tmp_path_factory.mktemp("m") / "unsupported.onnx"
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3]),
             helper.make_node("Einsum", ["y"], ["z"], name="weird", equation="nchw->nchw")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    return p


def test_compile_ok_json_validates_and_is_deterministic(cli, sample_models):
    m = sample_models["small_residual_concat"]
    a = cli("compile", m, "--target", TARGET, "--format", "json")
    assert a.code == 0, a.err
    d = json.loads(a.out)
    jsonschema.validate(d, schema())
    assert d["inputs"]["target"]["name"] == TARGET and d["inputs"]["pipeline"] == "fold-bn,fuse-act"
    assert d["totals"]["macs"] == sum(layer["macs"] for layer in d["layers"])
    b = cli("compile", m, "--target", TARGET, "--format", "json")
    assert a.out == b.out


def test_inspect_json_validates(cli, sample_models):
    r = cli("inspect", sample_models["mobilenetv1_cifar100"], "-f", "json")
    jsonschema.validate(json.loads(r.out), schema())


def test_compile_budget_exit_1_names_budget_and_layers(cli, sample_models):
    m = sample_models["small_residual_concat"]
    ok = json.loads(cli("compile", m, "--target", TARGET, "-f", "json").out)
    ms = ok["totals"]["latency_ms"]
    r = cli("compile", m, "--target", TARGET, "--budget-ms", ms * 0.5, "-q")
    assert r.code == 1
    assert "budget ms" in r.err and "EXCEEDED" in r.err and "top layers" in r.err
    top = max(ok["layers"], key=lambda layer: layer["cycles"])["name"]
    assert top in r.err
    r = cli("compile", m, "--target", TARGET, "--budget-ms", ms * 2, "--budget-cycles", ok["totals"]["cycles"], "-q")
    assert r.code == 0, r.err


def test_compile_usage_errors_exit_2(cli, sample_models, tmp_path):
    m = sample_models["cgra_baseline"]
    assert cli("compile", m, "--target", "no-such-target").code == 2
    r = cli("compile", m, "--target", TARGET, "--set", "no_such_key=1")
    assert r.code == 2 and "unknown key" in r.err
    r = cli("compile", m, "--target", TARGET, "-p", "fold-bn,no-such-pass")
    assert r.code == 2 and "no-such-pass" in r.err
    bad = tmp_path / "t.toml"
    bad.write_text('schema_version = 1\nbackend = "ethos_u65"\nbogus = 3\n')
    r = cli("compile", m, "--target", bad)
    assert r.code == 2 and "bogus" in r.err
    assert cli("compile", tmp_path / "missing.onnx", "--target", TARGET).code == 2


def test_compile_unsupported_exit_3(cli, sample_models, unsupported_model):
    r = cli("compile", unsupported_model, "--target", TARGET)
    assert r.code == 3 and "Einsum" in r.err and "weird" in r.err
    # Ethos-U65 has no energy model: an energy budget cannot be checked there
    r = cli("compile", sample_models["cgra_baseline"], "--target", TARGET, "--budget-energy-uj", 1, "-q")
    assert r.code == 3 and "energy" in r.err


def test_compile_out_dir_writes_reports(cli, sample_models, tmp_path):
    out = tmp_path / "out"
    r = cli("compile", sample_models["cgra_baseline"], "--target", TARGET, "-o", out, "-q")
    assert r.code == 0, r.err
    d = json.loads((out / "report.json").read_text())
    jsonschema.validate(d, schema())
    assert (out / "report.csv").read_text().splitlines()[0].startswith("name,")
    assert "<svg" in (out / "report.html").read_text()
    from cnncc.output import MARKER

    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != MARKER]  # no temp files left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder beside it either


def _budgets(tmp_path, models, entries: str):
    p = tmp_path / "budgets.toml"
    p.write_text("schema_version = 1\n" + entries)
    return p


def test_check_pass_fail_and_junit(cli, sample_models, tmp_path):
    m = sample_models["small_residual_concat"]
    ms = json.loads(cli("compile", m, "--target", TARGET, "-f", "json").out)["totals"]["latency_ms"]
    p = _budgets(tmp_path, sample_models, f'''
[[check]]
name = "fits"
model = "{m}"
target = "{TARGET}"
budget_ms = {ms * 2}

[[check]]
name = "too tight"
model = "{m}"
target = "{TARGET}"
budget_ms = {ms / 2}
''')
    junit = tmp_path / "junit.xml"
    r = cli("check", p, "--junit-xml", junit, "-f", "json")
    assert r.code == 1
    d = json.loads(r.out)
    jsonschema.validate(d, schema())
    assert [row["status"] for row in d["layers"]] == ["pass", "FAIL"]
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["fits", "too tight"]
    assert cases[0].find("failure") is None and cases[1].find("failure") is not None
    p2 = _budgets(tmp_path, sample_models, f'[[check]]\nmodel = "{m}"\ntarget = "{TARGET}"\nbudget_ms = {ms * 2}\n')
    assert cli("check", p2).code == 0


def test_check_invalid_file_exit_2(cli, tmp_path):
    p = _budgets(tmp_path, None, '[[check]]\nmodel = "x.onnx"\n')
    r = cli("check", p)
    assert r.code == 2 and "target" in r.err
    p.write_text("this is = not toml [")
    assert cli("check", p).code == 2
    assert cli("check", tmp_path / "none.toml").code == 2


def test_check_unsupported_entry_exit_3(cli, unsupported_model, tmp_path):
    p = _budgets(tmp_path, None, f'[[check]]\nmodel = "{unsupported_model}"\ntarget = "{TARGET}"\nbudget_ms = 1\n')
    junit = tmp_path / "j.xml"
    r = cli("check", p, "--junit-xml", junit)
    assert r.code == 3
    assert ET.parse(junit).getroot().find(".//testcase/error") is not None


def test_python_api_has_no_cli_imports(tmp_path, sample_models):
    import subprocess
    import sys

    code = f"""
import sys, cnncc
r = cnncc.compile({str(sample_models['cgra_baseline'])!r}, target={TARGET!r})
assert r.total["cycles"] > 0 and r.layers[0]["name"] == "conv"
assert all(g.passed for g in r.gate(ms=1e9))
assert not [m for m in ("typer", "rich") if m in sys.modules], [m for m in ("typer", "rich") if m in sys.modules]
json = r.to_json()
g = cnncc.load({str(sample_models['cgra_baseline'])!r})
assert cnncc.compile(g, target={TARGET!r}).total["cycles"] == r.total["cycles"]
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_compare_json_and_scoped_overrides(cli, sample_models):
    m = sample_models["cgra_baseline"]
    r = cli("compare", m, "--targets", "ethos-u65-256,offload", "--set", "ethos-u65-256:system=Ethos_U65_High_End",
            "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    jsonschema.validate(d, schema())
    assert [t["target"] for t in d["targets"]] == ["ethos-u65-256", "offload"]
    assert d["inputs"]["targets"][0]["overrides"] == {"system": "Ethos_U65_High_End"}
    assert d["inputs"]["targets"][1]["overrides"] == {}
    assert d["totals"]["fastest"] in ("ethos-u65-256", "offload")
    r = cli("compare", m, "--targets", "ethos-u65-256", "--set", "no_such_key=1")
    assert r.code == 2 and "no_such_key" in r.err


def test_compare_out_folder_is_written_whole_and_refused_like_compile(cli, sample_models, tmp_path):
    m = sample_models["cgra_baseline"]
    out = tmp_path / "cmp"
    r = cli("compare", m, "--targets", "ethos-u65-256,ethos-u55-128", "-o", out, "-f", "json")
    assert r.code == 0, r.err
    assert sorted(p.name for p in out.iterdir()) == [".cnncc-output", "compare.html", "compare.json"]
    assert json.loads((out / "compare.json").read_text()) == json.loads(r.out)
    assert "<svg" in (out / "compare.html").read_text()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    r = cli("compare", m, "--targets", "ethos-u65-256", "-o", other)
    assert r.code == 2 and "not a cnncc output" in r.err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("target", ["cgra", "offload-64k"])
def test_compile_json_deterministic_and_valid_on_every_backend(cli, sample_models, target):
    m = sample_models["cgra_baseline"]
    a = cli("compile", m, "--target", target, "-f", "json")
    assert a.code == 0, a.err
    b = cli("compile", m, "--target", target, "-f", "json")
    assert a.out == b.out  # byte-identical (measured times only with --timings)
    d = json.loads(a.out)
    jsonschema.validate(d, schema())
    assert d["totals"]["macs"] == 451584 and d["totals"]["cycles"] > 0

    assert "_time_s" not in a.out
    if target.startswith("offload"):  # the solver's measured times appear only on request
        t = cli("compile", m, "--target", target, "-f", "json", "--timings").out
        assert "solve_time_s" in t and json.loads(t)["totals"]["cycles"] == d["totals"]["cycles"]
