"""`cnncc opt` (pipelines, --verify, IR printing, exit codes) and `cnncc export`."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort


def test_opt_im2col_verify_writes_valid_onnx(cli, sample_models, tmp_path):
    out = tmp_path / "lowered.onnx"
    r = cli("opt", sample_models["small_residual_concat"], "-p", "fold-bn,fuse-act,im2col", "-o", out, "--verify",
            "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["command"] == "opt" and d["inputs"]["pipeline"] == "fold-bn,fuse-act,im2col"
    assert d["verify"]["max_rel_err"] <= 1e-4
    counters = {(row["pass"], row["counter"]): row["value"] for row in d["layers"]}
    assert counters[("im2col", "convs-lowered")] == 5
    onnx.checker.check_model(onnx.load(out))
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert "Conv" not in ops and "BatchNormalization" not in ops


def test_opt_tile_matches_original_on_onnxruntime(cli, sample_models, tmp_path):
    out = tmp_path / "tiled.onnx"
    r = cli("opt", sample_models["cgra_baseline"], "-p", "tile{sram-bytes=4096}", "-o", out, "--verify")
    assert r.code == 0, r.err
    x = np.random.default_rng(0).standard_normal((1, 16, 16, 16)).astype(np.float32)
    a = ort.InferenceSession(str(sample_models["cgra_baseline"])).run(None, {"input": x})[0]
    b = ort.InferenceSession(str(out)).run(None, {"input": x})[0]
    assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max()


def test_opt_print_ir_and_time_passes_go_to_stderr(cli, sample_models, tmp_path):
    r = cli("opt", sample_models["cgra_baseline"], "-p", "fold-bn,im2col", "-o", tmp_path / "o.onnx",
            "--print-ir-after", "im2col", "--time-passes", "-f", "json")
    assert r.code == 0, r.err
    assert "Im2col" in r.err and "graph " in r.err
    json.loads(r.out)  # stdout stays machine-readable


def test_opt_errors(cli, sample_models, tmp_path):
    m = sample_models["cgra_baseline"]
    r = cli("opt", m, "-p", "im2col{bogus=1}", "-o", tmp_path / "o.onnx")
    assert r.code == 2 and "bogus" in r.err and "layout" in r.err  # lists the valid options
    r = cli("opt", m, "-p", "nope", "-o", tmp_path / "o.onnx")
    assert r.code == 2 and "im2col" in r.err  # lists the valid passes
    assert not (tmp_path / "o.onnx").exists()
    assert cli("opt", tmp_path / "missing.onnx", "-p", "im2col", "-o", tmp_path / "o.onnx").code == 2


def test_opt_abconv_reports_function_change(cli, sample_models, tmp_path):
    out = tmp_path / "ab.onnx"
    r = cli("opt", sample_models["mobilenetv1_cifar100"], "-p", "fold-bn,fuse-act,abconv", "-o", out, "--verify",
            "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert any("retrain" in n for n in d["notes"])
    assert d["abconv"] and all(row["after"]["bound_value"] > row["before"]["bound_value"] for row in d["abconv"])
    assert d["verify"]["semantic"] is False and d["verify"]["outputs"][0]["new_shape"] == [1, 100]


def test_export_tflite(cli, sample_models, tmp_path):
    out = tmp_path / "m.tflite"
    r = cli("export", sample_models["small_residual_concat"], "--format", "tflite", "-o", out)
    assert r.code == 0, r.err
    assert out.read_bytes()[4:8] == b"TFL3"


def test_opt_verify_failure_leaves_no_output(cli, sample_models, tmp_path, monkeypatch):
    """A failed --verify writes nothing: the rewritten model is checked from a temporary copy first."""
    from cnncc.errors import MismatchError

    def mismatch(*a, **k):
        raise MismatchError("outputs differ (forced by the test)")

    monkeypatch.setattr("cnncc.verify.compare_models", mismatch)
    out = tmp_path / "o.onnx"
    r = cli("opt", sample_models["cgra_baseline"], "-p", "im2col", "-o", out, "--verify")
    assert r.code == 1 and "outputs differ" in r.err and len(r.err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_opt_verify_needs_onnx_input(cli, sample_models, tmp_path):
    tfl = tmp_path / "m.tflite"
    assert cli("export", sample_models["cgra_baseline"], "-o", tfl).code == 0
    r = cli("opt", tfl, "-p", "fold-bn", "-o", tmp_path / "o.onnx", "--verify")
    assert r.code == 2 and "not an ONNX model" in r.err and not (tmp_path / "o.onnx").exists()
