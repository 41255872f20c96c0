"""The order in which Vela 5.2.0 runs the branches joining at one op (order.vela_order / order.visit_first),
checked against Vela's own per-layer CSV at test time on small generated branching networks: x -> three 1×1
convs (branch a) and x -> one 1×1 conv (branch b), joined by an Add or a Concat, in both input orders, then a
1×1 conv. Vela (``ethosu``) missing: skipped."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.order import vela_order, visit_first
from cnncc.ir import Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65 import nets

HAS_VELA = importlib.util.find_spec("ethosu") is not None
B_OUT = {"add": 16, "cat": 32}  # branch b's channels (a Concat's b conv has twice the MACs: found by them in the CSV)


def _branching(kind: str, b_first: bool, seed: int = 0):
    n = nets._Net(seed)
    a, hw = n.conv("a1", "x", 16, 16, 16, k=1)
    a, _ = n.conv("a2", a, hw, 16, 16, k=1)
    a, _ = n.conv("a3", a, hw, 16, 16, k=1)
    b, _ = n.conv("b1", "x", 16, 16, B_OUT[kind], k=1)
    ins = (b, a) if b_first else (a, b)
    op = O.Add() if kind == "add" else O.Concat(axis=1)
    s = n.add(Layer("join", op, ins, ("s",)))
    c, _ = n.conv("out", s, hw, 16 + B_OUT[kind] if kind == "cat" else 16, 16, k=1)
    return n.build(f"branch_{kind}_{int(b_first)}", {"x": tensor_type((1, 16, 16, 16))}, [c])


def test_visit_first_orders():
    """A Concat visits its inputs' writers in input order, any other op last input first (exact, pure)."""
    g = _branching("add", False)
    join = next(x for x in g.layers if x.name == "join")
    assert visit_first(join) == ("b1_y", "a3_y")
    g = _branching("cat", False)
    join = next(x for x in g.layers if x.name == "join")
    assert visit_first(join) == ("a3_y", "b1_y")


def _b_before_a(rows: list[str]) -> bool:
    return rows.index("b1") < rows.index("a1")


def _vela_conv_order(graph, workdir: Path) -> list[str]:
    """Vela's NPU convolutions in run order, by name (a conv writing into the Concat's map has the Concat's name
    in its row: b1 is told apart from a3 by its MAC count)."""
    from cnncc.frontend.tflite.writer import write_tflite

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import vela_ini

    path = workdir / f"{graph.name}.tflite"
    write_tflite(graph, path)
    out = workdir / f"out_{graph.name}"
    cmd = [str(Path(sys.executable).parent / "vela"), str(path), "--config", str(vela_ini()), "--system-config",
           "Ethos_U65_High_End", "--memory-mode", "Sram_Only", "--accelerator-config", "ethos-u65-256",
           "--verbose-performance", "--output-dir", str(out)]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    b_macs = 16 * 16 * 16 * B_OUT["cat" if "cat" in graph.name else "add"]
    names = []
    with open(out / f"{graph.name}_per-layer.csv") as f:
        for row in csv.DictReader(f):
            if row["NNG Operator"] != "Conv2D":
                continue
            name = row["Name"]
            if name not in ("a1", "a2", "a3", "b1", "out"):
                name = "b1" if int(row["MAC Count"]) == b_macs else "a3"
            names.append(name)
    return names


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("kind", ["add", "cat"])
@pytest.mark.parametrize("b_first", [False, True])
def test_branch_order_matches_vela(tmp_path, kind, b_first):
    g = _branching(kind, b_first)
    vela = _vela_conv_order(g, tmp_path)
    ours = [g.layers[k].name for k in vela_order(g) if g.layers[k].kind == "Conv"]
    assert len(vela) == len(ours) == 5, vela
    assert _b_before_a(vela) == _b_before_a(ours), (vela, ours)
