"""Integer requantisation on Ethos-U65 against Vela 5.2.0 (cnncc/backends/ethos_u65/requant.py): YOLOv8's C2f block
in miniature — conv -> channel Split; output 0 -> an int8 -> int8 Quantize -> Concat; output 1 -> conv, Add and
the Concat — with every Concat input requantised (onnxruntime's quantiser gives each its own scale) or none.

The Vela numbers were measured with Vela 5.2.0 on cnncc's TFLite export of these graphs (u65-256 Client_Server,
Dedicated_Sram_384KB, ``--verbose-performance``); the live test reruns Vela when it is installed."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.ir.graph import WeightTable
from cnncc.ir.quant import Quantize
from cnncc.ir.types import QuantParams

SYSTEM, ACCEL, MODE = "Ethos_U65_Client_Server", "ethos-u65-256", "Dedicated_Sram_384KB"
SAME = (0.1, -5)


def c2f_net(name: str, k: int = 16, hw: tuple[int, int] = (20, 20), split=(0.1, -5), cat=(0.12, -7),
            add=(0.15, 2), c: int = 8, seed: int = 0) -> Graph:
    """The block above on a 1×c×H×W int8 input; ``split``, ``cat``, ``add``: (scale, zero point) of the Split
    outputs, the Concat output and the Add output."""
    rng = np.random.default_rng(seed)
    wts = {"w1": rng.integers(-100, 100, (2 * k, c, 1, 1)).astype(np.int8), "b1": np.zeros(2 * k, np.int32),
           "w2": rng.integers(-100, 100, (k, k, 3, 3)).astype(np.int8), "b2": np.zeros(k, np.int32)}
    per = QuantParams.channels
    q = {"x": QuantParams.tensor(0.05, -3), "w1": per([0.002] * 2 * k, [0], 0), "b1": per([1e-4] * 2 * k, [0], 0),
         "w2": per([0.003] * k, [0], 0), "b2": per([split[0] * 0.003] * k, [0], 0), "c2": QuantParams.tensor(0.2, 4),
         "a": QuantParams.tensor(*add), "y": QuantParams.tensor(*cat)}
    q.update({t: QuantParams.tensor(*split) for t in ("c1", "s0", "s1", "q0")})
    layers = [Layer("conv1", O.Conv((1, 1)), ("x", "w1", "b1"), ("c1",)),
              Layer("split", O.Split(1, (k, k)), ("c1",), ("s0", "s1")),
              Layer("q0", Quantize("int8"), ("s0",), ("q0",)),
              Layer("conv2", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("s1", "w2", "b2"), ("c2",)),
              Layer("add", O.Add(), ("s1", "c2"), ("a",)),
              Layer("cat", O.Concat(1), ("q0", "s1", "a"), ("y",))]
    return Graph.build(name, {"x": tensor_type((1, c) + hw, "int8", q["x"])}, ["y"], layers,
                       WeightTable(wts, quant=q))


#: (graph kwargs, Vela's cycles of the ops named after the Concat: three Quantize ops into it when requantised,
#: else two MemoryCopies with the Add written in place (its row then named after the Concat too))
CASES = {
    "requant_20": ({}, 3 * 5002),
    "requant_80": ({"hw": (80, 80)}, 3 * 51649),
    "requant_k24": ({"k": 24, "hw": (9, 13)}, 3 * 3554),
    "same_20": ({"cat": SAME, "add": SAME}, 2 * 5002 + 4800),
    "add_only": ({"cat": SAME}, 3 * 5002),
}


def _rows(g: Graph) -> dict[str, dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import ours

    from cnncc.target import load_target

    layers, _, _ = ours(g, load_target(ACCEL, {"system": SYSTEM, "memory_mode": MODE}))
    return {d["name"]: d for d in layers}


def _ours_cat(rows: dict[str, dict], requant_add: bool) -> int:
    """cnncc's cycles of what Vela names after the Concat (the Add's own op too when it writes in place)."""
    return rows["cat"]["cycles"] + (0 if requant_add else rows["add"]["cycles"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_requantised_concat_as_vela_measured(case):
    kw, vela_cat = CASES[case]
    g = c2f_net(case, **kw)
    rows = _rows(g)
    # the int8 -> int8 Quantize is no op in the export, the Split no copy: its readers read the sub-box
    assert rows["q0"]["cycles"] == 0 and rows["q0"]["device"] == "none"
    assert rows["split"]["cycles"] == 0
    assert _ours_cat(rows, kw.get("add") != SAME) == vela_cat


def test_requantised_input_rules():
    from cnncc.backends.ethos_u65.compiled import as_vela_compiles
    from cnncc.backends.ethos_u65.datamove import copies, written_in_place
    from cnncc.backends.ethos_u65.lower import lower
    from cnncc.backends.ethos_u65.requant import fold_requantizes, requantised_input

    g = c2f_net("rules")
    folded, why = fold_requantizes(g)
    assert list(why) == ["q0"] and folded.layer("cat").inputs == ("s0", "s1", "a")
    assert as_vela_compiles(g).folded == why
    cat = folded.layer("cat")
    assert [requantised_input(folded, cat, i) for i in range(3)] == [True, True, True]
    kinds = {x.name: lower(folded, x).kind for x in folded.layers}
    # a requantised input is never written in place, not even by the NPU Add
    assert not written_in_place(folded, cat, 2, kinds) and len(copies(folded, cat, kinds)) == 3
    same = fold_requantizes(c2f_net("same", cat=SAME, add=SAME))[0]
    kinds = {x.name: lower(same, x).kind for x in same.layers}
    assert not any(requantised_input(same, same.layer("cat"), i) for i in range(3))
    assert written_in_place(same, same.layer("cat"), 2, kinds) and len(copies(same, same.layer("cat"), kinds)) == 2
    # a float graph (no quantisation) has nothing to fold
    assert fold_requantizes(Graph.build("f", {"x": tensor_type((1, 4, 2, 2))}, ["y"],
                                        [Layer("r", O.Relu(), ("x",), ("y",))]))[1] == {}


@pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")
def test_requantised_concat_live_vela(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import run_vela

    from cnncc.frontend.tflite.writer import write_tflite

    kw, vela_cat = CASES["requant_20"]
    g = c2f_net("live", **kw)
    path = tmp_path / "live.tflite"
    write_tflite(g, path)
    run_vela(path, SYSTEM, ACCEL, MODE, tmp_path)
    with open(next(tmp_path.glob("vela_live_*")) / "live_per-layer.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(float(r["Op Cycles"]) for r in rows if r["Name"] == "cat") == vela_cat
    assert sorted(r["NNG Operator"] for r in rows if r["Name"] == "cat") == ["Quantize"] * 3
    assert _ours_cat(_rows(g), True) == vela_cat
