"""Every write goes through cnncc/output.py: atomic files and folders, never a replaced device/FIFO, umask."""

from __future__ import annotations

import os
import stat

import pytest

from cnncc.errors import UsageError
from cnncc.output import MARKER, write_file, write_folder


def test_write_file_atomic_and_umask(tmp_path):
    p = tmp_path / "a" / "r.json"
    old = os.umask(0o027)
    try:
        write_file(p, "x")
    finally:
        os.umask(old)
    assert p.read_text() == "x"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert [q.name for q in p.parent.iterdir()] == ["r.json"]


def test_refuses_fifo_and_devices(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        write_file(fifo, "x")
    with pytest.raises(UsageError, match="not a regular file"):
        write_file("/dev/null", "x")
    with pytest.raises(UsageError, match="not a regular file"):
        write_file(tmp_path, "x")
    with pytest.raises(UsageError, match="not a folder"):
        write_folder(fifo, {"a": b"1"})
    with pytest.raises(UsageError, match="not a folder"):
        write_folder("/dev/null", {"a": b"1"})


@pytest.mark.parametrize("bad", ["", "a\0b"])
def test_invalid_paths(bad):
    with pytest.raises(UsageError):
        write_file(bad, "x")
    with pytest.raises(UsageError):
        write_folder(bad, {"a": "x"})


def test_oserrors_are_usage_errors(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(UsageError, match="cannot write"):
        write_file(f / "sub" / "x.json", "x")  # a file where a folder is expected
    with pytest.raises(UsageError):
        write_folder("/proc/cnncc-out", {"a": "x"})
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(UsageError, match="cannot write"):
            write_file(ro / "x", "x")


def test_folder_replaced_whole(tmp_path):
    out = tmp_path / "out"
    write_folder(out, {"report.json": "1", "layers/a.bin": b"\x00", "stale.txt": "old"})
    assert (out / MARKER).exists() and (out / "layers" / "a.bin").read_bytes() == b"\x00"
    write_folder(out, {"report.json": "2"})
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "report.json"])  # nothing of the old set
    assert (out / "report.json").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left


def test_foreign_folder_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a cnncc output"):
        write_folder(tmp_path, {"report.json": "1"})
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_failure_leaves_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_folder(out, {"report.json": "old"})
    real = os.rename

    def boom(a, b):
        if ".new-" in str(a):
            raise OSError(28, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(UsageError, match="No space left"):
        write_folder(out, {"report.json": "new"})
    monkeypatch.undo()
    assert (out / "report.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("rel", ["/abs", "../up", "a/../../b"])
def test_artefacts_stay_inside(tmp_path, rel):
    with pytest.raises(UsageError, match="outside"):
        write_folder(tmp_path / "o", {rel: "x"})


def test_unusable_outputs_are_refused_before_compiling(sample_models, tmp_path, monkeypatch):
    """-o on a device or a foreign folder, --trace on a FIFO: refused before the backend runs."""
    import cnncc.driver as D
    from cnncc.backends import CompileOptions

    def boom(*a, **k):
        raise AssertionError("the backend ran")

    monkeypatch.setattr("cnncc.assemble.assemble_report", boom)
    (tmp_path / "mine.txt").write_text("x")
    for kw in ({"out_dir": "/dev/null"}, {"out_dir": tmp_path}):
        with pytest.raises(UsageError):
            D.compile_model(sample_models["cgra_baseline"], "ethos-u65-256", **kw)
    fifo = tmp_path / "t.fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        D.compile_model(sample_models["cgra_baseline"], "offload", options=CompileOptions(trace=fifo))
