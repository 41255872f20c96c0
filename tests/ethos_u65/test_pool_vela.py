"""Pools with padding TFLite pools cannot express (poolpad.py), PRelu on a vector, and the graph-edge conversions of
a quantised ONNX model, against cnncc's own exporter and against Vela 5.2.0 run at test time.

* :func:`exported_padding` reads back the exporter's decision: the MIRROR_PAD / PAD / MUL operators the TFLite
  export of seeded conv -> pool nets (tests/ethos_u65/poolnet.py) holds;
* the chain costed for a ceil-mode MaxPool is the copies Vela runs (exact numbers of our op rules on MTCNN R-Net's
  22×22×28 map, which are Vela's measured rows);
* seeded conv -> padded pool nets, compiled by Vela: every NPU layer within ±10 % and every total within ±5 %
  (seeds 40–45, held out of the seeds 0–23 the rule was checked on, on two configurations; skipped without Vela).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncc.backends.ethos_u65.opcost import cost_npu_op
from cnncc.backends.ethos_u65.order import vela_order
from cnncc.backends.ethos_u65.poolpad import MIRROR, ZERO, chain, exported_padding
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65.configs import CS256, HE512, U55, arch_for
from tests.ethos_u65.poolnet import pooled_network


def _tflite_ops(path: Path) -> list[str]:
    from cnncc.frontend.tflite.reader import op_names, read_model

    model, names = read_model(path.read_bytes(), str(path)), op_names()
    sg = model.Subgraphs(0)
    out = []
    for i in range(sg.OperatorsLength()):
        oc = model.OperatorCodes(sg.Operators(i).OpcodeIndex())
        out.append(names[max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))])
    return out


def _pool(graph: Graph) -> Layer:
    return next(x for x in graph.layers if x.kind in ("MaxPool", "AveragePool"))


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_exported_padding_is_what_the_exporter_writes(seed, tmp_path):
    from cnncc.frontend.tflite.writer import write_tflite

    g = pooled_network(seed)
    path = tmp_path / f"{g.name}.tflite"
    write_tflite(g, path)
    pp = exported_padding(g, _pool(g))
    want = [] if pp is None else [{MIRROR: "MIRROR_PAD", ZERO: "PAD"}[k] for k, _ in pp.steps]
    want += ["MUL"] if pp is not None and pp.correction else []
    assert [op for op in _tflite_ops(path) if op in ("PAD", "MIRROR_PAD", "MUL")] == want


def _pool_net(prelu: bool, pool: O.MaxPool) -> Graph:
    """conv 3×3 (24×24×3 -> 22×22×28) [-> PRelu] -> ``pool``, MTCNN R-Net's first block; without the PRelu the
    conv's ReLU makes the pooled map non-negative."""
    r = np.random.default_rng(5)
    w = {"w": (r.standard_normal((28, 3, 3, 3)) * 0.3).astype(np.float32), "b": np.zeros(28, np.float32),
         "a": r.uniform(0.05, 0.5, (28, 1, 1)).astype(np.float32)}
    layers = [Layer("conv", O.Conv((3, 3), act=None if prelu else O.Relu()), ("x", "w", "b"), ("c",))]
    src = "c"
    if prelu:
        layers.append(Layer("prelu", O.PRelu(), ("c", "a"), ("p",)))
        src = "p"
    layers.append(Layer("pool", pool, (src,), ("y",)))
    return Graph.build("poolnet", {"x": tensor_type((1, 3, 24, 24))}, ["y"], layers, weights=w)


def test_ceil_mode_maxpool_runs_mirror_copies_then_the_pool():
    """A map that may be negative: MIRROR_PAD (bottom and right row/column of 22×22×28 -> 23×23×28, NHWC), as Vela
    runs it on u65-256 Client_Server: copies 8,004 (input into the interior) + 850 (bottom row, from the input) +
    940 (right column, from the padded map), then the VALID pool on the NHWC map, 7,190 cycles."""
    g = _pool_net(True, O.MaxPool((3, 3), (2, 2), ceil_mode=True))
    pool = _pool(g)
    assert exported_padding(g, pool).steps == ((MIRROR, (0, 0, 1, 1)),)
    arch = arch_for(CS256)
    ops = chain(g, pool, arch, "sram", "sram", ("NHCWB16", "NHCWB16"))
    assert [(op.kind, op.ifm, op.ifm_fmt, op.ofm_fmt) for op in ops] == [
        ("pooling", (22, 22, 28), "NHCWB16", "NHWC"), ("pooling", (1, 22, 28), "NHCWB16", "NHWC"),
        ("pooling", (23, 1, 28), "NHWC", "NHWC"), ("pooling", (23, 23, 28), "NHWC", "NHCWB16")]
    assert [cost_npu_op(op, arch)[0].cycles for op in ops] == [8004, 850, 940, 7190]


def test_non_negative_map_is_zero_padded_and_written_in_place():
    """Pads a mirror cannot stand in for (two rows above a 3×3/2 window) on a ReLU conv's map: the exporter pads
    with zeros (PAD); Vela fills the border from a zero constant and the conv writes straight into the padded map,
    so the chain is the top and left border copies and the pool on the NHCWB16 map."""
    g = _pool_net(False, O.MaxPool((3, 3), (2, 2), pads=(2, 2, 0, 0)))
    pool = _pool(g)
    assert exported_padding(g, pool).steps == ((ZERO, (2, 2, 0, 0)),)
    ops = chain(g, pool, arch_for(CS256), "sram", "sram", ("NHCWB16", "NHCWB16"))
    assert [(op.ifm, op.ifm_mem, op.ofm_fmt) for op in ops[:2]] == [((2, 24, 28), "offchip", "NHCWB16"),
                                                                   ((24, 2, 28), "offchip", "NHCWB16")]
    assert len(ops) == 3 and ops[2].ifm == (24, 24, 28) and ops[2].ifm_fmt == "NHCWB16"


def test_graph_edge_dequantize_runs_after_the_npu_network():
    """A quantised graph's Dequantize into a float output is no op of the network Vela compiles: the host runs it
    after the NPU ops, so it never sits between two NPU ops (it would end SRAM live ranges and weight prefetch)."""
    from cnncc.ir.quant import Dequantize, Quantize

    r = np.random.default_rng(2)
    w = {"w1": r.standard_normal((4, 8, 1, 1)).astype(np.float32),
         "w2": r.standard_normal((2, 8, 1, 1)).astype(np.float32)}
    layers = [Layer("q", Quantize(dtype="int8"), ("x",), ("xq",)),
              Layer("h1", O.Conv((1, 1)), ("xq", "w1"), ("a",)), Layer("d1", Dequantize(), ("a",), ("out1",)),
              Layer("h2", O.Conv((1, 1)), ("xq", "w2"), ("b",)), Layer("d2", Dequantize(), ("b",), ("out2",))]
    g = Graph.build("edges", {"x": tensor_type((1, 8, 4, 4))}, ["out1", "out2"], layers, weights=w)
    names = [g.layers[k].name for k in vela_order(g)]
    assert names[0] == "q" and set(names[-2:]) == {"d1", "d2"} and set(names[1:3]) == {"h1", "h2"}


# ---------------------------------------------------------------------------------------------- against Vela
vela = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")
HELD_OUT = tuple(range(40, 46))


@vela
@pytest.mark.parametrize("config", [HE512, U55])
def test_padded_pool_nets_agree_with_vela(config, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import vela_fidelity

    (r,) = vela_fidelity.random_sweep(HELD_OUT, [config], tmp_path, pooled=True)
    assert r["nets"] == len(HELD_OUT) and r["layers"] >= len(HELD_OUT)
    assert r["within"] == r["layers"], r
    assert r["totals_ok"] == r["nets"], r
