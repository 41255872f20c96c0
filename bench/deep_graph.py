"""Compile time of deep chains on Ethos-U65: N (Conv 1x1 + Relu) layers, to show graph queries are linear.

Run: ``.venv/bin/python bench/deep_graph.py [N ...]`` (default 1000 10000 100000). Prints seconds per phase."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def chain_model(n: int, c: int = 4, hw: int = 4):
    """A chain of ``n`` nodes alternating Conv 1x1 (shared weight) and Relu on a [1,c,hw,hw] input."""
    w = numpy_helper.from_array(np.full((c, c, 1, 1), 0.1, np.float32), "W")
    nodes, last = [], "x"
    for i in range(n):
        out = f"t{i}"
        if i % 2 == 0:
            nodes.append(helper.make_node("Conv", [last, "W"], [out], name=f"conv{i}", kernel_shape=[1, 1]))
        else:
            nodes.append(helper.make_node("Relu", [last], [out], name=f"relu{i}"))
        last = out
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info(last, TensorProto.FLOAT, None)], initializer=[w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def main(sizes: list[int]) -> None:
    from cnncc.driver import compile_model, load_model
    from cnncc.target import load_target

    target = load_target("ethos-u65-256")
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"chain{n}.onnx"
            path.write_bytes(chain_model(n).SerializeToString())
            t0 = time.perf_counter()
            g = load_model(path, {})
            t1 = time.perf_counter()
            compile_model(path, target, "")
            t2 = time.perf_counter()
        print(f"{n:>7} nodes: load {t1 - t0:6.2f} s, load+compile on ethos-u65-256 {t2 - t1:6.2f} s "
              f"({len(g.layers)} layers)", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
