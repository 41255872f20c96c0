"""The engineer's view on the command line: tables fit the terminal (COLUMNS) without cutting a number, -q keeps the
data, --target is required, did-you-mean everywhere, success lines for --verify/--check, the shape note."""

from __future__ import annotations

import json
import re

import pytest
from rich.cells import cell_len

from cnncc.report import Column, Report

MODEL = "small_residual_concat"
ETHOS = "ethos-u65-256"


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d[\d,]*(?:\.\d+)?", text))


@pytest.fixture(scope="module")
def ethos_json(sample_models):
    from cnncc.driver import compile_model

    return json.loads(compile_model(sample_models[MODEL], ETHOS).to_json(stable=True))


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_table_fits_columns_and_cuts_no_number(cli, sample_models, monkeypatch, width, ethos_json):
    monkeypatch.setenv("COLUMNS", str(width))
    r = cli("compile", sample_models[MODEL], "--target", ETHOS)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert all(cell_len(ln) <= width for ln in lines), max(lines, key=cell_len)
    assert "…" not in "".join(ln for ln in lines if "│" in ln and re.search(r"\d…", ln))  # no number cut
    table = "\n".join(ln for ln in lines if ln.startswith("│"))
    shown = _numbers(table)
    for row in ethos_json["layers"]:  # every layer's cycles appear whole in the table
        assert f"{row['cycles']:,}" in shown, (row["name"], row["cycles"])
    full = cli("compile", sample_models[MODEL], "--target", ETHOS, "--wide")
    headers = full.out.split("┃")
    hidden = [ln for ln in lines if ln.startswith("hidden to fit")]
    if any(cell_len(ln) > width for ln in full.out.splitlines()):
        assert len(hidden) == 1, r.out  # what was left out is said, once
        for name in hidden[0].split(":", 1)[1].split("(")[0].split(","):
            assert name.strip() in "┃".join(headers)


def test_wide_shows_every_column(cli, sample_models, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    r = cli("compile", sample_models[MODEL], "--target", ETHOS, "--wide")
    assert r.code == 0 and "hidden to fit" not in r.out
    assert max(cell_len(ln) for ln in r.out.splitlines()) > 60


def test_very_narrow_terminal_folds_rows_instead_of_cutting(cli, sample_models, monkeypatch, ethos_json):
    monkeypatch.setenv("COLUMNS", "24")
    r = cli("compile", sample_models[MODEL], "--target", ETHOS)
    assert r.code == 0, r.err
    assert "rows folded" in r.out or "hidden to fit" in r.out
    nums = _numbers(r.out)
    assert all(f"{row['cycles']:,}" in nums for row in ethos_json["layers"])


def test_renderer_keeps_names_and_numbers_whole():
    from rich.console import Console

    rows = [{"name": f"layer_with_a_long_name_{i}", "op": "GlobalAveragePool", "cycles": 7_374_780 + i,
             "detail_a": "x" * 12, "detail_b": 123456789} for i in range(3)]
    cols = (Column("name", "layer"), Column("op", "op"), Column("cycles", "cycles", ","),
            Column("detail_a", "detail a"), Column("detail_b", "detail b", ","))
    con = Console(width=50, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    Report("compile", {}, rows, {"cycles": 22124343.0}, cols).render_table(con)
    text = con.export_text()
    for i in range(3):
        assert f"{7_374_780 + i:,}" in text
    assert "cycles=22,124,343" in text and "e+" not in text
    assert all(cell_len(ln) <= 50 for ln in text.splitlines())


def test_totals_line_has_no_e_notation():
    from cnncc.term import total_value

    assert total_value(7374780.0) == "7,374,780"
    assert total_value(29807.1) == "29,807.1"
    assert total_value(0.0298071) == "0.0298071"
    assert total_value(1_000_000_000) == "1,000,000,000"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_quiet_still_writes_the_data(cli, sample_models, fmt):
    r = cli("compile", sample_models[MODEL], "--target", ETHOS, "-q", "--format", fmt)
    assert r.code == 0 and r.err == ""
    if fmt == "json":
        assert json.loads(r.out)["totals"]["cycles"] > 0
    else:
        assert r.out.splitlines()[0].startswith("name,") and len(r.out.splitlines()) > 5


def test_quiet_table_is_data_too(cli, sample_models, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    r = cli("compile", sample_models[MODEL], "--target", ETHOS, "-q")
    assert r.code == 0 and "totals" in r.out and r.err == ""


def test_compile_requires_a_target_and_lists_them(cli, sample_models):
    r = cli("compile", sample_models[MODEL])
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("cnncc: error: compile needs --target") and len(r.err.splitlines()) == 1
    for name in ("ethos-u65-256", "cgra", "offload"):
        assert name in r.err


@pytest.mark.parametrize("args,hint", [
    (("--target", "etho-u65-256"), "did you mean 'ethos-u65-256'?"),
    (("--target", ETHOS, "--set", "weight_feed_cycle=3"), "did you mean 'weight_feed_cycles'?"),
    (("--target", ETHOS, "--set", "systems.Ethos_U65_High_End.core_clok_hz=1"),
     "did you mean 'systems.Ethos_U65_High_End.core_clock_hz'?"),
    (("--target", ETHOS, "--pipeline", "fold-bm"), "did you mean 'fold-bn'?"),
    (("--target", ETHOS, "--pipeline", "abconv{selct=cost}"), "did you mean 'select'?"),
])
def test_did_you_mean(cli, sample_models, args, hint):
    r = cli("compile", sample_models[MODEL], *args)
    assert r.code == 2, r.err
    assert hint in r.err and len(r.err.splitlines()) == 1, r.err


def test_targets_lists_keys_with_type_unit_default_and_value(cli):
    r = cli("targets", "cgra", "--set", "clock_hz=200000000", "-f", "json")
    assert r.code == 0, r.err
    rows = {row["key"]: row for row in json.loads(r.out)["layers"]}
    assert rows["clock_hz"]["unit"] == "Hz" and rows["clock_hz"]["type"] == "int"
    assert rows["clock_hz"]["default"] == 100_000_000 and rows["clock_hz"]["value"] == 200_000_000
    assert all(row["doc"] for row in rows.values())
    r = cli("targets", ETHOS, "-f", "json")
    keys = {row["key"] for row in json.loads(r.out)["layers"]}
    assert any(k.startswith("systems.") and k.count(".") >= 2 for k in keys)  # nested keys, dotted
    assert any(k.startswith("memory_modes.") for k in keys)


def test_targets_name_did_you_mean(cli):
    r = cli("targets", "ethos-u56-256")
    assert r.code == 2 and "did you mean 'ethos-u65-256'?" in r.err


def test_pass_descriptions_are_whole_sentences(cli):
    r = cli("passes", "-f", "json")
    for row in json.loads(r.out)["layers"]:
        assert row["description"].rstrip("`").endswith((".", ")")), row


def test_verify_prints_the_measured_error(cli, sample_models, tmp_path):
    r = cli("opt", sample_models[MODEL], "--pipeline", "fold-bn,fuse-act", "-o", tmp_path / "o.onnx", "--verify",
            "-f", "json")
    assert r.code == 0, r.err
    line = next(ln for ln in r.err.splitlines() if ln.startswith("verify ok:"))
    assert re.search(r"max abs error [\d.e+-]+, max relative error [\d.e+-]+", line), line
    res = json.loads(r.out)["verify"]
    assert f"{res['max_abs_err']:.3g}" in line


def test_check_prints_the_result(cli, sample_models):
    r = cli("compile", sample_models["cgra_baseline"], "--target", "cgra", "--check", "-f", "json")
    assert r.code == 0, r.err
    assert re.search(r"^check ok: (\d+)/\1 simulated layers bit-exact .*max abs error 0", r.err, re.M), r.err


def test_input_shape_over_a_static_input_is_noted(cli, sample_models):
    from cnncc.frontend.onnx import proto

    m = proto.ModelProto()
    m.ParseFromString(sample_models[MODEL].read_bytes())
    name = m.graph.input[0].name
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    bigger = "x".join(str(d * 2 if i >= 2 else d) for i, d in enumerate(dims))
    r = cli("compile", sample_models[MODEL], "--target", ETHOS, "--input-shape", f"{name}={bigger}", "-f", "json")
    assert r.code == 0, r.err
    assert re.search(rf"note: --input-shape {name}={bigger} replaces the model's static shape "
                     rf"{'x'.join(map(str, dims))}", r.err), r.err
    same = cli("compile", sample_models[MODEL], "--target", ETHOS, "--input-shape",
               f"{name}={'x'.join(map(str, dims))}", "-f", "json")
    assert "note:" not in same.err


def test_line_progress_names_the_layer_and_elapsed_time_without_eta():
    import io

    from cnncc.progress import LineProgress

    now = [0.0]
    buf = io.StringIO()
    p = LineProgress(buf, interval=5.0, clock=lambda: now[0])
    for i in range(10):
        now[0] = i * 2.0
        p("cgra", i, 10, detail=f"conv{i} (searching 5 mappings)")
    now[0] = 21.0
    p("cgra", 10, 10)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "cnncc: cgra: 3/10 — conv3 (searching 5 mappings) (6.0 s elapsed)"
    assert lines[-1] == "cnncc: cgra: 10/10 done in 21.0 s"
    assert len(lines) == 4 and not any("ETA" in ln or "remaining" in ln for ln in lines)
    quick = io.StringIO()
    q = LineProgress(quick, interval=5.0, clock=lambda: 0.0)
    for i in range(4):
        q("offload", i, 3, "x")
    assert quick.getvalue() == ""  # a quick compile prints nothing


def test_progress_accepts_the_three_argument_form():
    import io

    from cnncc.progress import LineProgress

    p = LineProgress(io.StringIO(), interval=0.0)
    p("offload", 1, 3)
