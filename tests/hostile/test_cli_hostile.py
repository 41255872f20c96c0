"""Hostile option strings, target files and model paths through the CLI: one ``cnncc: error:`` line and the
documented exit code; a handful run as real subprocesses (FIFO, /dev/zero, SIGINT, usage errors)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hostile_util import SUBPROCESS_TIMEOUT_S, assert_manners, conv_net, run_inproc, run_subprocess, tree, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toml_gen import document, values

# ---------------------------------------------------------------------------------------------- usage errors
USAGE = [
    ["compile", "--bogus", "m.onnx"],
    ["compile"],
    ["compile", "m.onnx", "-t", "ethos-u65-256", "--budget-ms", "abc"],
    ["inspect", "m.onnx", "-f", "xml"],
    ["opt", "m.onnx"],
    ["nosuchcommand"],
    ["compile", "m.onnx", "-t"],
    ["check"],
    ["export", "m.onnx", "-o", "x", "-f", "pdf"],
    ["--bogus"],
]


@pytest.mark.parametrize("args", USAGE, ids=[" ".join(a) for a in USAGE])
def test_usage_errors_are_one_line(tmp_path, monkeypatch, args):
    """typer's usage box becomes one ``cnncc: error:`` line, exit 2."""
    monkeypatch.chdir(tmp_path)
    res = run_inproc(args)
    assert_manners(res, 2, str(args))
    assert "Usage:" not in res.err and "╭" not in res.err


# ---------------------------------------------------------------------------------------------- model paths
def test_model_paths(tmp_path):
    """(A FIFO and /dev/zero, which could hang, run as subprocesses below.)"""
    (tmp_path / "d.onnx").mkdir()
    (tmp_path / "empty.onnx").write_bytes(b"")
    cases = [(tmp_path / "d.onnx", "directory"), (tmp_path / "none.onnx", "no such file"),
             (tmp_path / "empty.onnx", "empty file")]
    for path, pattern in cases:
        res = run_inproc(["inspect", path])
        assert_manners(res, 2, str(path))
        assert pattern in res.err


def test_external_data_bounded(tmp_path):
    """External data far larger than its tensor: refused from the recorded length, never read whole; a data
    file that is a FIFO or /dev/zero (through a link inside the folder) is refused without reading."""
    from onnx import TensorProto

    def ext(location, length=None):
        m = conv_net()
        w = m.graph.initializer[0]
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("length", length)):
            if v is not None:
                e = w.external_data.add()
                e.key, e.value = k, str(v)
        return m

    (tmp_path / "big.bin").write_bytes(b"\0" * (1 << 20))
    os.mkfifo(tmp_path / "fifo.bin")
    os.symlink("/dev/zero", tmp_path / "zero.bin")
    cases = [(ext("big.bin", 1 << 20), "has length 1048576, its dims [4, 3, 3, 3] need 432 bytes"),
             (ext("fifo.bin"), "not a regular file"), (ext("zero.bin"), "outside the model's folder"),
             (ext("../x.bin"), "outside the model's folder"), (ext("a\0b"), "NUL byte")]
    for m, pattern in cases:   # a subprocess each: a FIFO read by mistake would hang, the timeout bounds it
        res = run_subprocess(["inspect", write(tmp_path, m)])
        assert_manners(res, 2, pattern)
        assert pattern in res.err, res.err
    res = run_inproc(["inspect", write(tmp_path, ext("big.bin")), "-f", "json"])  # no length: reads 432 bytes
    assert_manners(res, 0)


# ---------------------------------------------------------------------------------------------- subprocesses
def test_subprocess_fifo_and_dev_zero_do_not_hang(tmp_path):
    fifo = tmp_path / "m.onnx"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        res = run_subprocess(["inspect", path], timeout=SUBPROCESS_TIMEOUT_S)
        assert_manners(res, 2, str(path))
        assert "not a regular file" in res.err


def test_subprocess_usage_error_and_no_warnings(tmp_path):
    res = run_subprocess(["compile", "--bogus", "x.onnx"])
    assert_manners(res, 2)
    path = write(tmp_path, conv_net())
    res = run_subprocess(["opt", path, "-p", "", "-o", tmp_path / "o.onnx", "--verify", "-f", "json"])
    assert res.code == 0 and "Warning" not in res.err and "\x1b[" not in res.err, res.err


def test_subprocess_sigint_is_130(tmp_path):
    """Ctrl-C during a compile: exit 130 and one line, no traceback."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from deep_graph import chain_model

    path = write(tmp_path, chain_model(20000))
    code = ("import sys, cnncc.cli; sys.stderr.write('ready\\n'); sys.stderr.flush(); "
            f"cnncc.cli.main(['compile', {str(path)!r}, '-t', 'ethos-u65-256', '-q'])")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stderr.readline() == "ready\n"
    import time

    time.sleep(1.0)   # inside main(): loading the 20k-node model takes seconds
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines() == ["cnncc: error: interrupted"]


# ---------------------------------------------------------------------------------------------- generated options
OPTIONS = ["--target", "-t", "--pipeline", "-p", "--set", "--format", "-f", "--input-shape", "--budget-ms",
           "--budget-cycles", "--budget-energy-uj", "--budget-sram-bytes", "--print-ir-after", "--targets"]
OPTION_VALUES = st.one_of(st.sampled_from(["ethos-u65-256", "cgra", "offload", "", "x=1", "x=1x3x8x8", "nan", "-1",
                                           "1e400", "tile{sram-bytes=0}", "tile{", "fold-bn,,", "json", "table",
                                           "abconv{select=bogus}", "cores=0", "cores=abc", "system=Nope",
                                           "x=0x3x8x8", "a.b.c=1", "=", "--", "-"]),
                          st.text(max_size=10).filter(lambda s: "\x00" not in s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["inspect", "compile", "opt", "compare", "export"]),
       st.lists(st.tuples(st.sampled_from(OPTIONS), OPTION_VALUES), max_size=4))
def test_generated_option_strings(command, opts):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = write(tmp, conv_net())
        args = [command, str(path)] + [x for o in opts for x in o]
        if command in ("opt", "export"):
            args += ["-o", str(tmp / "out" / "o.onnx")]
        if command == "compile" and not any(o[0] in ("-t", "--target") for o in opts):
            args += ["-t", "ethos-u65-256"]
        before = tree(tmp)
        res = run_inproc(args)
        assert_manners(res, None, str(args))
        if res.code not in (0, 1):
            assert tree(tmp) == before, args


# ---------------------------------------------------------------------------------------------- target files
KEYS = ["cores", "macs_per_cycle", "system", "memory_mode", "weight_compression", "cpu_clock_hz", "shram_banks",
        "ofm_ublock", "arena_cache_size_bytes", "cpu_cycles_per_mac", "bogus", "ao_cycles_per_elem"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
       st.dictionaries(st.sampled_from(["schema_version", "name", "backend", "inherit", "default_pipeline"]), values,
                       max_size=1))
def test_generated_target_files(params, top):
    """An Ethos-U65 target file with generated [params] (and top-level) values."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = write(tmp, conv_net())
        base = {"schema_version": 1, "name": "t", "backend": "ethos_u65",
                "inherit": str(Path(__file__).resolve().parents[2] / "cnncc/targets/ethos-u65-256.toml")}
        base.update(top)
        (tmp / "t.toml").write_text(document(base, single={"params": params}))
        res = run_inproc(["compile", path, "-t", tmp / "t.toml", "-f", "json"])
        assert_manners(res, None, (tmp / "t.toml").read_text())


@pytest.mark.parametrize("limit", ["nan", "-1", "inf"])
def test_budget_limits_must_be_finite(tmp_path, limit):
    """--budget-ms nan made every check fail (exit 1, "EXCEEDED limit nan"); now exit 2 naming the budget."""
    path = write(tmp_path, conv_net())
    out = tmp_path / "out"
    res = run_inproc(["compile", path, "-t", "ethos-u65-256", "--budget-ms", limit, "-o", out, "-q"])
    assert_manners(res, 2)
    assert "budget ms: the limit must be a finite number >= 0" in res.error
    assert not out.exists()
