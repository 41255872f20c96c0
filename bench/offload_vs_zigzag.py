"""cnncc's offload backend vs ZigZag (PyPI ``zigzag-dse`` 3.9.1) on the same conv layers and an equivalent
accelerator: 256 MAC/cycle (16 K x 16 C array), one on-chip SRAM of the target's capacity holding inputs,
weights and outputs, DRAM at the target's DMA bandwidth (16 B/cycle = 128 bit/cycle). ZigZag searches
temporal mappings (LOMA) and reports a closed-form latency (onloading + compute + offloading, no overlap of
the onloading phase); cnncc reports its simulated optimum of the regular space (pipelined DMA).

Each layer is written as a one-conv ONNX model (random int8-like weights; only shapes matter).

    .venv/bin/python bench/offload_vs_zigzag.py [--target offload] [--layers N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (name, C, K, H=W input, kernel, stride): layers of the ResNet50-CIFAR and MobileNetV2 samples
LAYERS = (("r50.layer1.conv2", 64, 64, 32, 3, 1), ("r50.layer2.0.conv1", 256, 128, 32, 1, 1),
          ("r50.layer3.1.conv2", 256, 256, 8, 3, 1), ("r50.layer4.1.conv1", 2048, 512, 4, 1, 1),
          ("mv2.block3.expand", 24, 144, 56, 1, 1), ("mv2.block14.project", 960, 160, 7, 1, 1))

HW = """name: offload_equivalent
memories:
  sram:
    size: {sram_bits}
    r_cost: 1
    w_cost: 1
    area: 0
    latency: 1
    operands: [I1, I2, O]
    ports:
      - name: r_port_1
        type: read
        bandwidth_min: 8
        bandwidth_max: 65536
        allocation: ["I1, tl", "I2, tl", "O, tl", "O, th"]
      - name: w_port_1
        type: write
        bandwidth_min: 8
        bandwidth_max: 65536
        allocation: ["I1, fh", "I2, fh", "O, fh", "O, fl"]
    served_dimensions: [D1, D2]
  dram:
    size: 10000000000
    r_cost: 100
    w_cost: 100
    area: 0
    latency: 1
    operands: [I1, I2, O]
    ports:
      - name: rw_port_1
        type: read_write
        bandwidth_min: 8
        bandwidth_max: {dram_bits}
        allocation: ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"]
    served_dimensions: [D1, D2]
operational_array:
  unit_energy: 0.04
  unit_area: 1
  dimensions: [D1, D2]
  sizes: [{d1}, {d2}]
"""
MAPPING = """- name: default
  spatial_mapping:
    D1:
      - K, {d1}
    D2:
      - C, {d2}
  memory_operand_links:
    O: O
    W: I2
    I: I1
"""


def conv_onnx(path: Path, c: int, k: int, hw: int, f: int, s: int) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((k, c, f, f), np.float32), "w")
    pad = f // 2
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[f, f], strides=[s, s], pads=[pad] * 4)
    oh = (hw + 2 * pad - f) // s + 1
    g = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k, oh, oh])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def zigzag(onnx_path: Path, acc, tmp: Path) -> tuple[float, float]:
    from zigzag.api import get_hardware_performance_zigzag

    d1 = d2 = int(acc.macs_per_cycle ** 0.5)
    hw, mp = tmp / "hw.yaml", tmp / "map.yaml"
    hw.write_text(HW.format(sram_bits=acc.onchip_bytes * 8, dram_bits=int(acc.dma_bytes_per_cycle * 8), d1=d1, d2=d2))
    mp.write_text(MAPPING.format(d1=d1, d2=d2))
    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        _e, lat, _ = get_hardware_performance_zigzag(workload=str(onnx_path), accelerator=str(hw), mapping=str(mp),
                                                     opt="latency", dump_folder=str(tmp / "out"),
                                                     loma_show_progress_bar=False)
    return float(lat), time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="offload")
    ap.add_argument("--layers", type=int, default=len(LAYERS))
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from cnncc.backends.offload.backend import _accel
    from cnncc.backends.offload.layers import problems
    from cnncc.backends.offload.solve import solve_layer
    from cnncc.driver import load_model
    from cnncc.target import load_target

    target = load_target(a.target)
    acc = _accel(target)
    print(f"target {a.target}: {acc.onchip_bytes} B on chip, {acc.macs_per_cycle} MAC/cycle, "
          f"{float(acc.dma_bytes_per_cycle)} B/cycle DMA, {acc.overlap}")
    print("| layer | MACs | cnncc cycles | cnncc solve s | ZigZag cycles | ZigZag s | ZigZag / cnncc | "
          "lower bound | cnncc tiles / order / resident |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for name, c, k, hw, f, s in LAYERS[:a.layers]:
            path = tmp / f"{name}.onnx"
            conv_onnx(path, c, k, hw, f, s)
            graph = load_model(path)
            layer = graph.layers[0]
            p = problems(graph, layer, acc, target.name)[0]
            t0 = time.process_time()
            solved = solve_layer(p, acc, name)
            r = dict(solved.fields, cycles=float(solved.sim.cycles), solve_time_s=time.process_time() - t0)
            zl, zt = zigzag(path, acc, tmp)
            ratios.append(zl / r["cycles"])
            st = r["strategy"]
            print(f"| {name} | {p.macs:,} | {r['cycles']:,.0f} | {r['solve_time_s']:.3f} | {zl:,.0f} | {zt:.1f} | "
                  f"{zl / r['cycles']:.2f} | {r['lower_bound_cycles']:,.0f} | "
                  f"{st['tiles']} {st['order']} {st['resident']} |", flush=True)
    geo = 1.0
    for x in ratios:
        geo *= x
    print(f"\ngeometric mean ZigZag / cnncc latency: {geo ** (1 / len(ratios)):.2f} over {len(ratios)} layers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
