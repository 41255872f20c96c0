"""Target overrides are typed: the API and budgets files pass values as they are; only the CLI parses strings."""

from __future__ import annotations

import pytest

import cnncc
from cnncc.errors import TargetError
from cnncc.target import load_target


def test_api_list_override(sample_models):
    r = cnncc.compile(sample_models["cgra_baseline"], target="cgra", mappings=["conv-wp"])
    assert r.inputs["target"]["params"]["mappings"] == ["conv-wp"]
    assert {row.get("mapping") for row in r.layers if row.get("mapping")} == {"conv-wp"}


def test_cli_strings_parsed_as_the_key_type():
    t = load_target("cgra", [("mappings", "conv-wp,conv-op"), ("clock_hz", "2e8")])
    assert t.params["mappings"] == ["conv-wp", "conv-op"] and t.params["clock_hz"] == 200_000_000
    with pytest.raises(TargetError, match="expected a int"):
        load_target("cgra", [("clock_hz", "fast")])


def test_nested_key_did_you_mean():
    with pytest.raises(TargetError, match="did you mean 'system'"):
        load_target("ethos-u65-256", [("sytem", "Ethos_U65_High_End")])


def test_unknown_target_did_you_mean():
    with pytest.raises(TargetError, match="did you mean 'ethos-u65-256'"):
        load_target("etho-u65-256")


def test_budgets_file_typed_set(tmp_path, sample_models):
    from cnncc.check import parse_budgets_file, run_entry

    f = tmp_path / "b.toml"
    f.write_text(f'schema_version = 1\n[[check]]\nmodel = "{sample_models["cgra_baseline"]}"\ntarget = "cgra"\n'
                 f'set = {{ mappings = ["conv-wp"] }}\nbudget_cycles = 1e12\n')
    (entry,) = parse_budgets_file(f)
    res = run_entry(entry)
    assert res.error is None and res.passed, res.error


def test_target_is_hashable_and_equal_by_value():
    a, b = load_target("offload-64k"), load_target("offload-64k")
    assert a == b and hash(a) == hash(b)
    assert load_target("offload-64k", {"clock_hz": 123}) != a
