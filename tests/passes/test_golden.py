"""Golden text dumps (Graph.dump) of each pass on small graphs. Regenerate with UPDATE_GOLDEN=1 after
reviewing the change."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.pipeline import run_pipeline

GOLDEN = Path(__file__).parent / "golden"


def small_net() -> Graph:
    """conv3x3(+bias) -> BN -> Relu -> Identity -> depthwise 3x3 s2 -> Clip -> conv1x1 -> Add(skip) ;
    plus a constant Reshape feeding nothing but a Mul (for fold-constants)."""
    rng = np.random.default_rng(7)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    w = {"w1": f(8, 3, 3, 3), "b1": f(8), "bn.s": np.abs(f(8)) + 0.5, "bn.b": f(8), "bn.m": f(8),
         "bn.v": np.abs(f(8)) + 0.5, "wd": f(8, 1, 3, 3), "w2": f(8, 8, 1, 1), "k": f(8)}
    layers = [
        Layer("conv1", O.Conv((3, 3), pads=(1, 1, 1, 1)), ("x", "w1", "b1"), ("c1",), ("conv1",)),
        Layer("bn1", O.BatchNormalization(), ("c1", "bn.s", "bn.b", "bn.m", "bn.v"), ("n1",), ("bn1",)),
        Layer("relu1", O.Relu(), ("n1",), ("r1",), ("relu1",)),
        Layer("id1", O.Identity(), ("r1",), ("i1",), ("id1",)),
        Layer("dw", O.Conv((3, 3), (2, 2), pads=(1, 1, 1, 1), groups=8), ("i1", "wd"), ("d",), ("dw",)),
        Layer("clip", O.Clip(0.0, 6.0), ("d",), ("dc",), ("clip",)),
        Layer("kshape", O.Reshape((1, 8, 1, 1)), ("k",), ("k4",), ("kshape",)),
        Layer("pw", O.Conv((1, 1)), ("dc", "w2"), ("p",), ("pw",)),
        Layer("scale", O.Mul(), ("p", "k4"), ("s",), ("scale",)),
        Layer("add", O.Add(), ("s", "dc"), ("y",), ("add",)),
    ]
    return Graph.build("small", {"x": tensor_type((1, 3, 8, 8))}, ["y"], layers, w)


def late_net() -> Graph:
    """A CIFAR-style late layer: 3x3 conv, 16 -> 16 channels on a 2x2 map (bound set by AI_w)."""
    rng = np.random.default_rng(3)
    w = {"w": rng.standard_normal((16, 16, 3, 3)).astype(np.float32),
         "b": rng.standard_normal(16).astype(np.float32)}
    layers = [Layer("late", O.Conv((3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "w", "b"), ("y",), ("late",))]
    return Graph.build("late", {"x": tensor_type((1, 16, 2, 2))}, ["y"], layers, w)


CASES = {
    "fold-bn": (small_net, "fold-bn"),
    "fuse-act": (small_net, "fold-bn,fuse-act"),
    "remove-identity": (small_net, "remove-identity"),
    "fold-constants": (small_net, "fold-constants"),
    "im2col": (small_net, "im2col{only=conv1}"),
    "im2col-hwc": (small_net, "im2col{layout=hwc only=dw}"),
    "tile": (small_net, "tile{ty=3 tx=8 tk=6 tc=2 only=conv1}"),
    "tile-sram": (small_net, "tile{sram-bytes=1200 only=dw}"),
    "abconv": (late_net, "abconv{groups=4}"),
    "abconv-grid-gap": (late_net, "abconv{groups=4 layout=grid gap=true}"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_dump(case):
    build, pipeline = CASES[case]
    res = run_pipeline(build(), pipeline)
    text = f"# pipeline: {pipeline}\n# counters: {res.counters}\n" + res.graph.dump()
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path} (run with UPDATE_GOLDEN=1)"
    assert text == path.read_text()


def test_fuse_act_keeps_non_clamp_activations_of_quantised_layers():
    """In a quantised graph only Relu/Clip fuse (TFLite's fused activations); a Sigmoid after a quantised Gemm
    keeps its own layer (the integer interpreter and the backends have no fused-Sigmoid integer semantics)."""
    import numpy as np

    from cnncc.frontend.tflite.reader import load_tflite
    from cnncc.frontend.tflite.writer import write_tflite
    from cnncc.ir import Graph, Layer, tensor_type
    from cnncc.ir import ops as O
    from cnncc.pipeline import parse_pipeline, run_pipeline

    rng = np.random.default_rng(0)
    g = Graph.build("q", {"x": tensor_type((1, 8))}, ["s"],
                    [Layer("fc", O.Gemm(trans_b=True), ("x", "w", "b"), ("y",)),
                     Layer("sig", O.Sigmoid(), ("y",), ("s",))],
                    weights={"w": rng.standard_normal((4, 8)).astype(np.float32),
                             "b": rng.standard_normal(4).astype(np.float32)})
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        write_tflite(g, Path(d) / "m.tflite")
        q = load_tflite(Path(d) / "m.tflite")
    res = run_pipeline(q, parse_pipeline("fuse-act"))
    assert res.counters["fuse-act"]["acts-fused"] == 0
    assert any(layer.kind == "Sigmoid" for layer in res.graph.layers)
