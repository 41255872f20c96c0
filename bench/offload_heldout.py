"""Offload backend on held-out generated networks: the gap to the lower bound, per term.

Seeded generators (not our samples) of ResNet-style nets (stem, stages of basic or bottleneck blocks, strided
1x1 downsample + residual Add, widths drawn from awkward channel counts) and MobileNet-style nets (inverted
residuals: 1x1 expand, 3x3 or 5x5 depthwise, 1x1 project, Add when the shape allows), written with onnx.helper
and compiled with ``compile_model`` (the target's default pipeline, z3 proofs on) on ``offload-64k``.

Per family: networks, layers solved, mean / max gap (cycles / lower bound, over the layers with a strategy),
and the gap's mean breakdown per term (each term / bound, so gap = 1 + the sum of the terms): ``overlap`` (time
the pipeline does not hide: stores after compute on the shared channel, pipeline fill), ``traffic`` (extra
bytes / beta: halo and weight re-reads, partial-sum spills), ``dma_latency`` (extra transfers x lambda),
``call_overhead`` (extra calls x overhead). CPU s per network on top.

    .venv/bin/python bench/offload_heldout.py [--seeds 0-5] [--target offload-64k] [--show]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 232)
TERMS = ("overlap", "traffic", "dma_latency", "call_overhead")


class _Net:
    """A tiny ONNX graph builder (Conv / Relu / Add), seeded weights."""

    def __init__(self, seed: int, c: int, hw: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.c, self.hw, self.n, self.cur = c, hw, 0, "x"
        self.shape = [1, c, hw, hw]

    def conv(self, x: str, cin: int, cout: int, k: int, s: int, group: int = 1, relu: bool = True) -> str:
        from onnx import helper, numpy_helper

        self.n += 1
        w = f"w{self.n}"
        arr = self.rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * 0.1
        self.inits.append(numpy_helper.from_array(arr, w))
        y = f"t{self.n}"
        self.nodes.append(helper.make_node("Conv", [x, w], [y], strides=[s, s], pads=[k // 2] * 4, group=group,
                                           name=f"conv{self.n}"))
        return self.relu(y) if relu else y

    def relu(self, x: str) -> str:
        from onnx import helper

        self.n += 1
        self.nodes.append(helper.make_node("Relu", [x], [f"r{self.n}"], name=f"relu{self.n}"))
        return f"r{self.n}"

    def add(self, a: str, b: str) -> str:
        from onnx import helper

        self.n += 1
        self.nodes.append(helper.make_node("Add", [a, b], [f"a{self.n}"], name=f"add{self.n}"))
        return f"a{self.n}"

    def save(self, path: Path, out: str, cout: int, hw: int) -> Path:
        import onnx
        from onnx import TensorProto, helper

        g = helper.make_graph(self.nodes, path.stem, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                     self.shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, cout, hw, hw])], self.inits)
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        return path


def resnet(seed: int, folder: Path) -> Path:
    """A ResNet-style net: 3x3 stem, 2-4 stages of 1-2 basic or bottleneck blocks, strided 1x1 downsamples."""
    rng = np.random.default_rng(1000 + seed)
    hw = int(rng.choice([32, 48, 64]))
    net = _Net(seed, 3, hw)
    c = int(rng.choice(WIDTHS[:6]))
    x = net.conv("x", 3, c, 3, 1)
    bottleneck = bool(rng.integers(2))
    for stage in range(int(rng.integers(2, 5))):
        cout = int(rng.choice([w for w in WIDTHS if w >= c] or [c])) if stage else c
        for b in range(int(rng.integers(1, 3))):
            s = 2 if stage and b == 0 else 1
            cin = c
            if bottleneck:
                mid = max(8, cout // 4)
                y = net.conv(x, cin, mid, 1, 1)
                y = net.conv(y, mid, mid, 3, s)
                y = net.conv(y, mid, cout, 1, 1, relu=False)
            else:
                y = net.conv(x, cin, cout, 3, s)
                y = net.conv(y, cout, cout, 3, 1, relu=False)
            sc = net.conv(x, cin, cout, 1, s, relu=False) if s != 1 or cin != cout else x
            x = net.relu(net.add(y, sc))
            hw, c = (hw + 1) // 2 if s == 2 else hw, cout
    return net.save(folder / f"resnet_{seed}.onnx", x, c, hw)


def mobilenet(seed: int, folder: Path) -> Path:
    """A MobileNetV2-style net: 3x3 s2 stem, 4-8 inverted residual blocks (expand e in 1..6, 3x3 or 5x5
    depthwise, stride 1 or 2, 1x1 project; Add when stride 1 and widths agree)."""
    rng = np.random.default_rng(2000 + seed)
    hw = int(rng.choice([64, 96, 112]))
    net = _Net(seed, 3, hw)
    c = int(rng.choice((16, 24, 32)))
    x = net.conv("x", 3, c, 3, 2)
    hw = (hw + 1) // 2
    for _ in range(int(rng.integers(4, 9))):
        e = int(rng.choice([1, 3, 4, 6]))
        s = int(rng.choice([1, 1, 2])) if hw > 4 else 1
        cout = c if s == 1 and rng.integers(2) else int(rng.choice([w for w in WIDTHS if w >= c] or [c]))
        k = int(rng.choice([3, 3, 5]))
        mid = c * e
        y = net.conv(x, c, mid, 1, 1) if e > 1 else x
        y = net.conv(y, mid, mid, k, s, group=mid)
        y = net.conv(y, mid, cout, 1, 1, relu=False)
        x = net.add(y, x) if s == 1 and cout == c else y
        hw, c = (hw + 1) // 2 if s == 2 else hw, cout
    return net.save(folder / f"mobilenet_{seed}.onnx", x, c, hw)


def measure(path: Path, target: str) -> dict:
    """Compile one network; its solved layers' gaps and per-term shares (term / bound), and CPU seconds."""
    from cnncc.driver import compile_model

    t0 = time.process_time()
    rep = compile_model(path, target)
    cpu = time.process_time() - t0
    rows = [r for r in rep.layers if r.get("solver_status") in ("optimal", "feasible") and r.get("gap")]
    shares = {t: [r["gap_terms"][t] / r["lower_bound_cycles"] for r in rows] for t in TERMS}
    t = rep.totals
    return {"rows": rows, "gaps": [r["gap"] for r in rows], "shares": shares, "cpu_s": cpu,
            "cycles": t["cycles"], "saving": t.get("kept_on_chip_saving_cycles") or 0,
            "kept": t.get("kept_layers") or 0, "across": t.get("kept_across_layers") or 0,
            "optimal": sum(r["solver_status"] == "optimal" for r in rows),
            "z3": sum(r.get("proof") == "exhaustive+z3" for r in rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-5", help="a range a-b (inclusive) or a comma list")
    ap.add_argument("--target", default="offload-64k")
    ap.add_argument("--show", action="store_true", help="print the worst layers of each family")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    lo, _, hi = a.seeds.partition("-")
    seeds = list(range(int(lo), int(hi) + 1)) if hi else [int(s) for s in a.seeds.split(",")]
    print(f"| family ({a.target}) | nets | layers solved | optimal (z3 proved) | mean / max gap | "
          + " | ".join(TERMS) + " | network cycles (sum) | kept saving | kept (across layers) | CPU s per net (max) |")
    print("|---|---|---|---|---|" + "---|" * len(TERMS) + "---|---|---|---|")
    with tempfile.TemporaryDirectory() as td:
        for family, gen in (("ResNet-style", resnet), ("MobileNet-style", mobilenet)):
            ms = [measure(gen(s, Path(td)), a.target) for s in seeds]
            gaps = [g for m in ms for g in m["gaps"]]
            terms = " | ".join(f"{statistics.mean(x for m in ms for x in m['shares'][t]):.3f}" for t in TERMS)
            cpu = [m["cpu_s"] for m in ms]
            print(f"| {family} | {len(ms)} | {len(gaps)} | {sum(m['optimal'] for m in ms)} "
                  f"({sum(m['z3'] for m in ms)}) | {statistics.mean(gaps):.3f} / {max(gaps):.3f} | {terms} | "
                  f"{sum(m['cycles'] for m in ms):,.0f} | {sum(m['saving'] for m in ms):,.0f} | "
                  f"{sum(m['kept'] for m in ms)} ({sum(m['across'] for m in ms)}) | "
                  f"{statistics.mean(cpu):.1f} ({max(cpu):.1f}) |", flush=True)
            if a.show:
                worst = sorted((r for m in ms for r in m["rows"]), key=lambda r: -r["gap"])[:6]
                for r in worst:
                    print(f"    {r['name']:10s} {r['op']:5s} gap {r['gap']:.3f} side {r['lower_bound_side']} "
                          f"{r['strategy']} terms " + ", ".join(f"{t} {r['gap_terms'][t] / r['lower_bound_cycles']:.3f}"
                                                              for t in TERMS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
