"""Hostile budgets files for ``cnncc check``: every key with values of every type, table-driven and generated;
each gets the documented exit code and one ``cnncc: error:`` line (the entry's or the file's), never exit 70."""

from __future__ import annotations

import os

import pytest
from hostile_util import assert_manners, conv_net, run_inproc, run_subprocess, tree, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toml_gen import document, value, values

GOOD = {"model": "m.onnx", "target": "ethos-u65-256", "budget_ms": 1000.0}


def _file(tmp_path, text: str | bytes):
    p = tmp_path / "budgets.toml"
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


@pytest.fixture
def model_dir(tmp_path):
    write(tmp_path, conv_net())
    return tmp_path


# (id, budgets text, exit code, regex of the one stderr line)
FILES = [
    ("check-ints", "schema_version = 1\ncheck = [1, 2]\n", 2, r"\[\[check\]\] #1: must be a table"),
    ("input_shape-bad-string", document({"schema_version": 1}, {"check": [dict(GOOD, input_shape="x")]}), 2,
     r"input_shape must be \"name=1x3x224x224\""),
    ("input_shape-list", document({"schema_version": 1}, {"check": [dict(GOOD, input_shape=["x", 1])]}), 2,
     r"input_shape must be a string .* or a table, got an array"),
    ("input_shape-bad-dims", document({"schema_version": 1}, {"check": [dict(GOOD, input_shape={"x": "1xax3"})]}),
     2, r"input_shape.x: bad shape"),
    ("input_shape-bool", document({"schema_version": 1}, {"check": [dict(GOOD, input_shape={"x": True})]}), 2,
     r"input_shape.x must be a string"),
    ("pipeline-int", document({"schema_version": 1}, {"check": [dict(GOOD, pipeline=5)]}), 2,
     r"'pipeline' must be a string, got an integer"),
    ("name-table", document({"schema_version": 1}, {"check": [dict(GOOD, name={"a": 1})]}), 2,
     r"'name' must be a string, got a table"),
    ("model-empty", document({"schema_version": 1}, {"check": [dict(GOOD, model="")]}), 2, r"'model' must not be"),
    ("budget-nan", document({"schema_version": 1}, {"check": [dict(GOOD, budget_ms=float("nan"))]}), 2,
     r"budget_ms must be a finite number >= 0, got nan"),
    ("budget-inf", document({"schema_version": 1}, {"check": [dict(GOOD, budget_cycles=float("inf"))]}), 2,
     r"budget_cycles must be a finite"),
    ("budget-bool", document({"schema_version": 1}, {"check": [dict(GOOD, budget_ms=True)]}), 2, r"budget_ms"),
    ("schema-float", document({"schema_version": 1.0}, {"check": [GOOD]}), 2, r"schema_version must be the integer"),
    ("schema-bool", document({"schema_version": True}, {"check": [GOOD]}), 2, r"schema_version must be the integer"),
    ("set-array", document({"schema_version": 1}, {"check": [dict(GOOD, set=[1])]}), 2, r"'set' must be a table"),
    ("non-utf8", b"schema_version = 1\n# \xff\xfe\n", 2, r"not UTF-8"),
    ("not-toml", "schema_version = = 1\n", 2, r"invalid TOML"),
    ("empty", "", 2, r"schema_version must be"),
]


@pytest.mark.parametrize("case", FILES, ids=[c[0] for c in FILES])
def test_bad_budgets_file(model_dir, case):
    import re

    _, text, code, pattern = case
    path = _file(model_dir, text)
    before = tree(model_dir)
    res = run_inproc(["check", path])
    assert_manners(res, code, case[0])
    assert re.search(pattern, res.error), res.err
    assert tree(model_dir) == before


def test_folder_fifo_and_device_as_the_file(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path, pattern in ((tmp_path, "is a directory"), (fifo, "not a regular file"),
                          ("/dev/zero", "not a regular file")):
        res = run_subprocess(["check", path])   # bounded by the subprocess timeout, should it ever block
        assert_manners(res, 2, str(path))
        assert pattern in res.err


def test_entry_errors_are_on_stderr(model_dir):
    """An entry that cannot run (missing model: 2; unsupported: 3) prints its reason on stderr, one line each."""
    entries = [dict(GOOD, name="missing", model="nope.onnx"), dict(GOOD, name="ok")]
    path = _file(model_dir, document({"schema_version": 1}, {"check": entries}))
    res = run_inproc(["check", path, "-f", "json"])
    assert_manners(res, 2)
    assert res.err_lines == [f"cnncc: error: missing: {model_dir / 'nope.onnx'}: no such file"]


def test_input_shape_both_forms(model_dir):
    for form in ("x=1x3x8x8", {"x": "1x3x8x8"}, {"x": [1, 3, 8, 8]}):
        path = _file(model_dir, document({"schema_version": 1}, {"check": [dict(GOOD, input_shape=form)]}))
        res = run_inproc(["check", path, "-f", "json"])
        assert_manners(res, 0, value(form))


KEYS = ["name", "model", "target", "pipeline", "set", "input_shape", "budget_ms", "budget_cycles",
        "budget_energy_uj", "budget_sram_bytes", "bogus"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=4), st.sampled_from([1, 2, "1", None]))
def test_generated_entries(model_dir, overrides, schema):
    """GOOD with generated values for random keys: the documented code, one line, no internal error."""
    entry = {k: v for k, v in dict(GOOD, **overrides).items()}
    top = {} if schema is None else {"schema_version": schema}
    path = _file(model_dir, document(top, {"check": [entry]}))
    res = run_inproc(["check", path, "-f", "json"])
    assert_manners(res, None, document(top, {"check": [entry]}))
