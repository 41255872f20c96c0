"""``opt --verify`` and the tile pass on hostile work: NaN-aware comparison, onnxruntime failing to run a model
it loaded, and memory ceilings refused with exit 3 and the number needed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hostile_util import assert_manners, conv_net, model, run_inproc, tensor, tree, write
from onnx import helper

from cnncc.errors import InvalidModelError


def test_identical_nan_outputs_are_equal(tmp_path):
    """x·inf − x·inf is NaN everywhere, in the original and the rewritten model alike: not a mismatch."""
    nodes = [helper.make_node("Mul", ["x", "inf"], ["t"], name="mul"), helper.make_node("Sub", ["t", "t"], ["y"],
                                                                                         name="sub")]
    path = write(tmp_path, model(nodes, [("x", [1, 3, 4, 4])], [("y", None)], [tensor("inf", np.float32(np.inf))]))
    res = run_inproc(["opt", path, "-p", "", "-o", tmp_path / "o.onnx", "--verify", "-f", "json"])
    assert_manners(res, 0)
    assert json.loads(res.out)["verify"]["max_abs_err"] == 0.0


def test_nan_on_one_side_is_a_mismatch():
    from cnncc.verify import _errors

    a = np.array([1.0, np.nan, np.inf], np.float32)
    assert _errors(a, a) == (0.0, 1.0)
    assert _errors(a, np.array([1.0, 2.0, np.inf], np.float32))[0] == np.inf
    assert _errors(a, np.array([1.0, np.nan, -np.inf], np.float32))[0] == np.inf


def test_onnxruntime_failing_to_run_is_one_line(tmp_path):
    """A model onnxruntime loads but cannot run (a Reshape that only fits other input sizes)."""
    from cnncc.verify import compare_models

    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="r")]
    path = write(tmp_path, model(nodes, [("x", ["n"])], [("y", None)], [tensor("s", np.array([7], np.int64))]))
    with pytest.raises(InvalidModelError, match=r"onnxruntime cannot run the model: ") as info:
        compare_models(path, path)
    assert "\n" not in str(info.value)


def test_verify_memory_ceiling(tmp_path, monkeypatch):
    """Inputs and outputs over the --verify limit are refused before anything is allocated, with the bytes."""
    import cnncc.verify as v

    monkeypatch.setattr(v, "MAX_VERIFY_BYTES", 10_000)
    path = write(tmp_path, conv_net(hw=32))
    res = run_inproc(["opt", path, "-p", "", "-o", tmp_path / "o.onnx", "--verify"])
    assert_manners(res, 3)
    need = (3 + 4) * 32 * 32 * 8
    assert f"would need {need} bytes" in res.err and "limit of 10000" in res.err


def test_tile_planning_ceiling(tmp_path):
    """tile{sram-bytes=256} of a 64x512x512 conv would make 2^26 tiles (exhausting memory): exit 3, the count."""
    path = write(tmp_path, conv_net(c=64, k=64, hw=512))
    before = tree(tmp_path)
    res = run_inproc(["opt", path, "-p", "tile{sram-bytes=256}", "-o", tmp_path / "o.onnx"])
    assert_manners(res, 3)
    assert "needs 67108864 tiles, over the planning limit of 65536" in res.err
    assert tree(tmp_path) == before

