"""Transposes on Ethos-U as Vela 5.2.0 runs them (cnncc/backends/ethos_u65/transposes.py): the exporter's
TRANSPOSEs of Reshape/Flatten/Transpose layers, merged and decomposed into NPU transpose passes, each costed by
Regor's compound-op model (bursts from the block search of the un-transposed OFM).

Exact numbers of our own pure functions, and seeded generated networks (x -> view layers -> y, exported by cnncc's
TFLite writer) against Vela run at test time (skipped when Vela is not installed): the networks hold only the
transposes, so Vela's total is their cost."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.transposes import cost_passes, decompose, vela_transposes
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.ir.graph import WeightTable
from cnncc.ir.types import QuantParams
from cnncc.target import load_target

HE256 = ("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only")
HE512 = ("ethos-u65-512", "Ethos_U65_High_End", "Sram_Only")
U55 = ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")
VELA = importlib.util.find_spec("ethosu") is not None


def _arch(config):
    accel, system, mode = config
    return arch_of(load_target(accel, {"system": system, "memory_mode": mode}))


def chain(name: str, xshape: tuple[int, ...], steps: list[tuple[str, tuple[int, ...]]]) -> Graph:
    """x (int8) -> Reshape / Transpose layers (``steps``: ("r", shape) or ("t", perm)) -> y, one scale."""
    q = {"x": QuantParams.tensor(0.1, 3)}
    layers, src = [], "x"
    for k, (kind, arg) in enumerate(steps):
        out = f"t{k}" if k < len(steps) - 1 else "y"
        q[out] = QuantParams.tensor(0.1, 3)
        op = O.Reshape(tuple(arg)) if kind == "r" else O.Transpose(tuple(arg))
        layers.append(Layer(f"l{k}", op, (src,), (out,)))
        src = out
    return Graph.build(name, {"x": tensor_type(tuple(xshape), "int8", q["x"])}, ["y"], layers,
                       WeightTable({}, quant=q))


def test_decomposition_into_swaps():
    assert decompose((1, 4, 16, 210), (0, 1, 3, 2)) == [((4, 16, 210), (4, 210, 16))]       # NHCW: one pass
    assert decompose((4, 16, 210), (2, 1, 0)) == [((4, 16, 210), (210, 16, 4))]             # NCWH
    # NHWC -> NCHW: a 3-cycle, two swaps of the selection sort (C to the front, then H and W back in order)
    assert decompose((1, 12, 10, 82), (0, 3, 1, 2)) == [((12, 10, 82), (82, 10, 12)), ((82, 10, 12), (82, 12, 10))]
    assert decompose((1, 40, 1, 82), (0, 2, 1, 3)) == []                                    # moves a unit axis
    assert decompose((2, 3, 4, 5, 6), (4, 3, 2, 1, 0)) is None                              # 5 axes: not modelled


def test_exported_reshape_transposes_merge_as_vela():
    # YOLOv8's DFL: RESHAPE to NCHW, the export's TRANSPOSE to NHWC and the layer's TRANSPOSE: one NHCW pass
    g = chain("dfl", (1, 64, 210), [("r", (1, 4, 16, 210)), ("t", (0, 2, 1, 3))])
    assert vela_transposes(g) == {"l0": [], "l1": [((4, 16, 210), (4, 210, 16))]}
    # a 4-D map flattened: the export's TRANSPOSE to NCHW (two passes), the RESHAPE moves nothing
    g = chain("r43", (1, 82, 12, 10), [("r", (1, 82, 120))])
    assert vela_transposes(g) == {"l0": [((12, 10, 82), (82, 10, 12)), ((82, 10, 12), (82, 12, 10))]}
    # a reshape that merges axes ends the chain: to NCHW, then the 3-D transpose, not merged
    g = chain("rt", (1, 16, 8, 8), [("r", (1, 16, 64)), ("t", (0, 2, 1))])
    assert vela_transposes(g) == {"l0": [((8, 8, 16), (16, 8, 8)), ((16, 8, 8), (16, 8, 8))],
                                  "l1": [((1, 16, 64), (1, 64, 16))]}


#: Vela 5.2.0's per-op rows (NPU cycles, SRAM access cycles) of one transpose pass, measured with
#: ``--verbose-performance`` on generated one-Transpose networks (maps in SRAM)
@pytest.mark.parametrize("config,ifm,ofm,vela", [
    (HE256, (40, 40, 82), (40, 82, 40), (16432, 24600)),
    (HE512, (40, 40, 82), (40, 82, 40), (8232, 16400)),
    (U55, (40, 40, 82), (40, 82, 40), (32832, 49200)),
    (HE256, (3, 50, 20), (3, 20, 50), (407, 625)),
    (HE512, (3, 50, 20), (3, 20, 50), (282, 500)),
    (HE256, (2, 100, 8), (8, 100, 2), (432, 500)),
    (HE256, (2, 100, 8), (100, 2, 8), (132, 200)),
    (HE512, (20, 30, 16), (20, 16, 30), (1232, 1800)),
    (U55, (5, 7, 3), (3, 7, 5), (84, 105))])
def test_one_pass_as_vela_measured(config, ifm, ofm, vela):
    c = cost_passes([(ifm, ofm)], _arch(config), "sram", "sram")
    assert (c.npu_cycles, c.access_cycles["sram"]) == vela


def _seeded_chains(seed: int, count: int) -> list[Graph]:
    """Generated view chains: a 3-D or 4-D map, any permutation, reshapes that split/merge or add unit axes."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        dims = [rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 16, 20, 24, 33, 40]) for _ in range(3)]
        if rng.random() < 0.5:
            x = (1, dims[0], dims[1], dims[2])
            perm = (0,) + tuple(rng.sample([1, 2, 3], 3))
            steps = [("t", perm)]
            if rng.random() < 0.5:  # flatten the spatial axes after it
                s = tuple(x[p] for p in perm)
                steps.append(("r", (1, s[1], s[2] * s[3])))
        else:
            x = (1, dims[0] * dims[1], dims[2])
            steps = [("r", (1, dims[0], dims[1], dims[2])), ("t", (0,) + tuple(rng.sample([1, 2, 3], 3)))]
        out.append(chain(f"tpseed{seed}_{k}", x, steps))
    return out


@pytest.mark.skipif(not VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("config", [HE256, HE512, U55])
def test_generated_transposes_against_live_vela(tmp_path, config):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import ours, run_vela

    from cnncc.frontend.tflite.writer import write_tflite

    accel, system, mode = config
    target = load_target(accel, {"system": system, "memory_mode": mode})
    seen = 0
    for g in _seeded_chains(13, 5):
        path = tmp_path / f"{g.name}.tflite"
        write_tflite(g, path)
        vela = run_vela(path, system, accel, mode, tmp_path)
        if any(r["op"] != "Transpose" for r in vela["rows"].values()):
            continue  # a transpose of unit axes only, kept by Vela as a copy between graph input and output
        seen += 1
        assert ours(g, target)[1] == pytest.approx(vela["total"], rel=0.01), g.name
    assert seen >= 3
