"""The order in which Vela 5.2.0 runs the branches joining at one op (order.vela_order / order.visit_first),
checked against Vela's own per-layer CSV at test time on small generated branching networks: x -> three 1×1
convs (branch a) and x -> one 1×1 conv (branch b), joined by an Add or a Concat, in both input orders, then a
1×1 conv; and three branches of 3 / 2 / 1 convs, each reshaped to [1, C, H·W] and concatenated on the last axis
in every input order (the Concat's copies), as a float graph and quantised by onnxruntime (where the export
requantises some inputs, whose QUANTIZE Vela writes into the map in place). Vela (``ethosu``) missing: skipped."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.lower import lower
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


def _three_branches(perm: str, seed: int = 0):
    """x -> branches a (3 convs), b (2), c (1), each reshaped to [1, 16, 256], concatenated on axis 2 in the order
    ``perm``, reshaped back to a map and a 1×1 conv."""
    n = nets._Net(seed)
    outs = {}
    for br, depth in (("a", 3), ("b", 2), ("c", 1)):
        y = "x"
        for i in range(depth):
            y, _ = n.conv(f"{br}{i + 1}", y, 16, 16, 16, k=1)
        outs[br] = n.add(Layer(f"{br}_r", O.Reshape(shape=(1, 16, 256)), (y,), (f"{br}_ry",)))
    s = n.add(Layer("join", O.Concat(axis=2), tuple(outs[b] for b in perm), ("s",)))
    s = n.add(Layer("back", O.Reshape(shape=(1, 16, 48, 16)), (s,), ("s2",)))
    c, _ = n.conv("out", s, 16, 16, 16, k=1)
    return n.build(f"three_{perm}_{seed}", {"x": tensor_type((1, 16, 16, 16))}, [c])


def _three_branches_onnx(path: Path, perm: str, seed: int) -> Path:
    """The same network as a float ONNX model with branch-dependent weight scales (so that onnxruntime's
    quantiser gives the Concat's inputs different scales)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits, nodes = [numpy_helper.from_array(np.array([1, 8, 64], np.int64), "flat"),
                    numpy_helper.from_array(np.array([1, 8, 24, 8], np.int64), "back")], []
    outs = {}
    for br, depth in (("a", 3), ("b", 2), ("c", 1)):
        y = "x"
        gain = float(rng.uniform(0.3, 1.5))
        for i in range(depth):
            name = f"{br}{i + 1}"
            inits += [numpy_helper.from_array((rng.standard_normal((8, 8, 1, 1)) * gain).astype(np.float32),
                                              name + "_w"),
                      numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), name + "_b")]
            nodes.append(helper.make_node("Conv", [y, name + "_w", name + "_b"], [name + "_y"], name=name))
            y = name + "_y"
        nodes.append(helper.make_node("Reshape", [y, "flat"], [f"{br}_ry"], name=f"{br}_r"))
        outs[br] = f"{br}_ry"
    inits += [numpy_helper.from_array(rng.standard_normal((8, 8, 1, 1)).astype(np.float32) * 0.5, "out_w"),
              numpy_helper.from_array(np.zeros(8, np.float32), "out_b")]
    nodes += [helper.make_node("Concat", [outs[b] for b in perm], ["s"], name="join", axis=2),
              helper.make_node("Reshape", ["s", "back"], ["s2"], name="back"),
              helper.make_node("Conv", ["s2", "out_w", "out_b"], ["y"], name="out")]
    g = helper.make_graph(nodes, f"three_q_{perm}_{seed}",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 24, 8])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def test_visit_first_orders():
    """A Concat visits the inputs its producers write in place first, in input order, then its copied inputs last
    one first; any other op its last input first (exact, pure)."""
    g = _branching("add", False)
    join = next(x for x in g.layers if x.name == "join")
    assert visit_first(join) == ("b1_y", "a3_y")
    g = _branching("cat", False)
    join = next(x for x in g.layers if x.name == "join")
    assert visit_first(join) == ("a3_y", "b1_y")
    assert visit_first(join, g, {x.name: lower(g, x).kind for x in g.layers}) == ("a3_y", "b1_y")  # in place
    g = _three_branches("bca")
    join = next(x for x in g.layers if x.name == "join")
    kinds = {x.name: lower(g, x).kind for x in g.layers}
    assert visit_first(join, g, kinds) == ("a_ry", "c_ry", "b_ry")  # three copies: the last input's first


def _b_before_a(rows: list[str]) -> bool:
    return rows.index("b1") < rows.index("a1")


def _vela_csv(graph, workdir: Path) -> list[dict]:
    """Vela 5.2.0's per-layer CSV rows (run order) of ``graph``'s int8 export on u65-256 High_End Sram_Only."""
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
    with open(out / f"{graph.name}_per-layer.csv") as f:
        return list(csv.DictReader(f))


def _vela_conv_order(graph, workdir: Path) -> list[str]:
    """Vela's NPU convolutions in run order, by name (a conv writing into the Concat's map has the Concat's name
    in its row: b1 is told apart from a3 by its MAC count)."""
    b_macs = 16 * 16 * 16 * B_OUT["cat" if "cat" in graph.name else "add"]
    names = []
    for row in _vela_csv(graph, workdir):
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


def _branch_order(names: list[str]) -> str:
    """The branches' first convs in run order (``a1`` ... ``c1``), as one string."""
    return "".join(n[0] for n in dict.fromkeys(x for x in names if x in ("a1", "b1", "c1")))


def _vela_rows(graph, workdir: Path) -> list[str]:
    """Vela's per-layer CSV row names of ``graph``'s export, in run order."""
    return [row["Name"] for row in _vela_csv(graph, workdir)]


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("perm", ["abc", "bca", "cab", "acb"])
def test_concat_copies_order_matches_vela(tmp_path, perm):
    """Three branches copied into one map (float graph: no requantisation): Vela runs the last input's first."""
    g = _three_branches(perm)
    ours = _branch_order([g.layers[k].name for k in vela_order(g)])
    assert ours == _branch_order(_vela_rows(g, tmp_path)) == perm[::-1]


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("seed", range(8))
def test_requantised_concat_order_matches_vela(tmp_path, seed):
    """The same networks quantised by onnxruntime (seeded weight scales and input order): the export requantises
    the Concat's inputs whose scale differs from its output's, and Vela writes those QUANTIZEs into the map in
    place; cnncc's order of the branches is Vela's."""
    pytest.importorskip("onnxruntime.quantization")
    import cnncc
    from cnncc.backends.ethos_u65.requant import requantised_input
    from tests.quant.qnets import quantized

    perm = ("abc", "bca", "cab", "acb")[seed % 4]
    src = _three_branches_onnx(tmp_path / "f.onnx", perm, seed)
    g = cnncc.load(quantized(src, tmp_path / f"three_q_{perm}_{seed}.onnx", "qdq", per_channel=False, seed=seed))
    join = next(x for x in g.layers if x.kind == "Concat")
    ours = _branch_order([g.layers[k].name for k in vela_order(g)])
    vela = _branch_order(_vela_rows(g, tmp_path))
    requant = [requantised_input(g, join, i) for i in range(3)]
    assert any(requant) and not all(requant), requant  # both kinds of input in one Concat (measured: every seed)
    assert ours == vela, (perm, requant, ours, vela)
