"""Helpers of the hostile-input suite: run the CLI in-process or as a subprocess and check its manners.

Every hostile input must end with a documented exit code (never 70), no traceback, exactly one line on
stderr when it fails, and nothing left behind in the output folder."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: exit codes cnncc documents (README): ok, gate/mismatch, invalid input, unsupported, SIGINT
DOCUMENTED = {0, 1, 2, 3, 130}
#: seconds a subprocess may take before the case counts as a hang
SUBPROCESS_TIMEOUT_S = 120


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    @property
    def error(self) -> str:
        """The one ``cnncc: error:`` line (the last line on stderr)."""
        return self.err_lines[-1]


def run_inproc(args: list[str]) -> Outcome:
    """``cnncc.cli.main(args)`` with stdout/stderr captured; the exit code from SystemExit (0 if none)."""
    from cnncc.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return Outcome(code, out.getvalue(), err.getvalue())


def run_subprocess(args: list[str], timeout: float = SUBPROCESS_TIMEOUT_S, **kw) -> Outcome:
    """``python -m cnncc.cli args`` in a fresh process, killed after ``timeout`` seconds (then the test fails)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "cnncc.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def assert_manners(res: Outcome, expected: set[int] | int | None = None, what: str = "") -> None:
    """No internal error, no traceback, a documented code (``expected`` when given), one stderr line on failure."""
    exp = {expected} if isinstance(expected, int) else expected
    ctx = f"{what}: exit {res.code}, stderr {res.err!r}"
    assert res.code != 70, ctx
    assert "Traceback" not in res.err and "Traceback" not in res.out, ctx
    assert res.code in DOCUMENTED, ctx
    if exp is not None:
        assert res.code in exp, ctx
    if res.code not in (0, 1):
        # one error line; a ``note:`` the command printed before it failed (e.g. that --input-shape replaces
        # a static shape) may precede it
        lines = [line for line in res.err_lines if not line.startswith("note: ")]
        assert len(lines) == 1, ctx
        assert lines[0].startswith("cnncc: error: ") and res.err_lines[-1] == lines[0], ctx


def tree(path: Path) -> set[str]:
    """Every file and folder under ``path`` (relative names), to check nothing was left behind."""
    return {str(p.relative_to(path)) for p in path.rglob("*")}


# ---------------------------------------------------------------------------------------------- model building
def tensor(name: str, a) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(a), name)


def model(nodes, inputs, outputs, inits=(), opset: int = 17, ir_version: int = 8) -> onnx.ModelProto:
    """A model from nodes; ``inputs``/``outputs`` are (name, shape) or ValueInfoProtos."""
    def vi(x, elem=TensorProto.FLOAT):
        if isinstance(x, onnx.ValueInfoProto):
            return x
        name, shape = x
        return helper.make_tensor_value_info(name, elem, shape)

    g = helper.make_graph(list(nodes), "hostile", [vi(i) for i in inputs], [vi(o) for o in outputs],
                          initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def conv_net(c: int = 3, k: int = 4, hw: int = 8, seed: int = 0, **conv_attrs) -> onnx.ModelProto:
    """x[1,c,hw,hw] -> Conv 3x3 (pads 1) -> Relu -> y; ``conv_attrs`` override the Conv attributes."""
    rng = np.random.default_rng(seed)
    attrs = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    attrs.update(conv_attrs)
    inits = [tensor("W", rng.standard_normal((k, c // int(attrs.get("group", 1)) or 1, 3, 3)).astype(np.float32)),
             tensor("B", rng.standard_normal(k).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["h"], name="conv", **attrs),
             helper.make_node("Relu", ["h"], ["y"], name="relu")]
    return model(nodes, [("x", [1, c, hw, hw])], [("y", None)], inits)


def write(tmp: Path, m: onnx.ModelProto | bytes, name: str = "m.onnx") -> Path:
    p = tmp / name
    p.write_bytes(m if isinstance(m, bytes) else m.SerializeToString())
    return p
