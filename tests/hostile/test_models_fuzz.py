"""Generated hostile models: valid random CNNs, the same with random attribute values or structural damage, and
byte mutations of their serialisation. Each must load and compile, or be refused with one line and exit 2/3."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hostile_util import assert_manners, run_inproc, tree, write
from hypothesis import HealthCheck, given, settings
from netgen import cnn_graphs, mutated_attributes, mutated_bytes, mutated_structure

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(m, *args: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = write(tmp, m)
        before = tree(tmp)
        res = run_inproc([args[0], path, *args[1:]])
        assert_manners(res, {0, 2, 3}, f"{args}")
        assert tree(tmp) == before


@FAST
@given(cnn_graphs())
def test_valid_random_cnn_compiles(m):
    """A valid random CNN loads and compiles on Ethos-U65 (exit 0), or is refused as unsupported (3)."""
    with tempfile.TemporaryDirectory() as d:
        res = run_inproc(["compile", write(Path(d), m), "-t", "ethos-u65-256", "-f", "json"])
    assert_manners(res, {0, 3}, "valid CNN")


@FAST
@given(mutated_attributes())
def test_random_attribute_values(m):
    _run(m, "inspect", "-f", "json")


@FAST
@given(mutated_structure())
def test_structural_damage(m):
    _run(m, "inspect", "-f", "json")


@FAST
@given(mutated_bytes())
def test_byte_mutations(data):
    _run(data, "inspect", "-f", "json")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_attributes())
def test_random_attribute_values_compiled(m):
    """What loads also compiles on Ethos-U65 and round-trips through opt (or is refused with exit 2/3)."""
    _run(m, "compile", "-t", "ethos-u65-256", "-f", "json")
    with tempfile.TemporaryDirectory() as d:
        res = run_inproc(["opt", write(Path(d), m), "-p", "fold-bn,fuse-act", "-o", Path(d) / "o.onnx", "-f",
                          "json"])
    assert_manners(res, {0, 2, 3}, "opt")
