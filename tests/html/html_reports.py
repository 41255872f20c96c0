"""Hand-built report dicts in the shapes the backends emit (``Report.to_dict()``), one per backend + compare.

Numbers are plausible (MACs are the layers' real MAC counts; cycles, energies and ceilings are of the order the
targets give) but they are test inputs for the renderer, not results of any model.
"""

from __future__ import annotations

import copy

SHA = "3f2a" * 16
VERSION = {"schema_version": 1, "cnncc_version": "0.1.0"}


def _model(name: str) -> dict:
    return {"path": f"samples/{name}.onnx", "sha256": SHA}


def ethos() -> dict:
    """Ethos-U65-256 compile report of a small MobileNet-like net (one layer falls back to the CPU)."""
    layers = [
        {"name": "conv1", "onnx_nodes": ["Conv_0", "Relu_1"], "output": "conv1_y", "op": "conv", "macs": 442368,
         "cycles": 2310, "mac_per_cycle": 191.5, "ai": 12.8, "ai_in": 36.0, "ai_w": 512.0, "ai_out": 27.0,
         "ai_bound": "output", "bound": "compute", "device": "npu", "sram_bytes": 28672},
        {"name": "dw2", "onnx_nodes": ["Conv_2"], "output": "dw2_y", "op": "dwconv", "macs": 147456,
         "cycles": 4102, "mac_per_cycle": 35.95, "ai": 2.1, "ai_in": 9.0, "ai_w": 512.0, "ai_out": 9.0,
         "ai_bound": "input", "bound": "memory: sram", "device": "npu", "sram_bytes": 32768},
        {"name": "pw3", "onnx_nodes": ["Conv_3"], "output": "pw3_y", "op": "conv", "macs": 1048576,
         "cycles": 4420, "mac_per_cycle": 237.2, "ai": 21.3, "ai_in": 64.0, "ai_w": 256.0, "ai_out": 32.0,
         "ai_bound": "output", "bound": "compute", "device": "npu", "sram_bytes": 49152},
        {"name": "fc", "onnx_nodes": ["Gemm_4"], "output": "logits", "op": "gemm", "macs": 10240,
         "cycles": 1380, "mac_per_cycle": 7.42, "ai": 0.96, "ai_in": 10.0, "ai_w": 1.0, "ai_out": 1024.0,
         "ai_bound": "weight", "bound": "memory: flash", "device": "npu", "sram_bytes": 1024},
        {"name": "softmax", "onnx_nodes": ["Softmax_5"], "output": "probs", "op": "softmax", "macs": 0,
         "cycles": 900, "mac_per_cycle": None, "ai": None, "bound": None, "device": "cpu", "sram_bytes": 0},
    ]
    return {**VERSION, "command": "compile",
            "inputs": {"model": _model("mobilenet_tiny"),
                       "target": {"name": "ethos-u65-256", "backend": "ethos_u65",
                                  "params": {"macs_per_cycle": 256, "clock_hz": 1000000000,
                                             "sram_bytes": 393216, "axi_bytes_per_cycle": 16}},
                       "pipeline": "fold-constants,fold-bn,fuse-act,remove-identity"},
            "layers": layers,
            "totals": {"cycles": 13112, "latency_ms": 0.013112, "clock_hz": 1000000000, "macs": 1648640,
                       "inferences_per_s": 76266.0, "peak_sram_bytes": 49152},
            "notes": ["softmax runs on the host CPU (not supported by the NPU)",
                      "cycle estimates calibrated against Vela 5.2.0"],
            "roofline": {"peak_macs_per_cycle": 256.0,
                         "bandwidths_bytes_per_cycle": {"sram": 16.0, "flash": 8.0}}}


def _cands(best: str, table: dict) -> list[dict]:
    return [{"mapping": m, "cycles": c, "mac_per_cycle": mpc, "energy_uj": e, "pe_utilisation": u}
            for m, (c, mpc, e, u) in table.items()]


def cgra() -> dict:
    """OpenEdgeCGRA compile report: per-layer mapping choice among the candidates tried."""
    base = {"conv-wp": (221184, 0.667, 41.2, 0.78), "conv-op": (360448, 0.409, 60.1, 0.66),
            "im2col-ip": (512000, 0.288, 88.0, 0.55), "im2col-op": (350000, 0.421, 59.0, 0.69),
            "cnncc-sp": (139264, 1.059, 28.9, 0.93)}
    layers = [
        {"name": "conv1", "onnx_nodes": ["Conv_0"], "output": "c1", "op": "conv", "macs": 147456,
         "mapping": "cnncc-sp", "cycles": 139264, "mac_per_cycle": 1.059, "ai": 7.4, "energy_uj": 28.9,
         "device": "cgra", "candidates": _cands("cnncc-sp", base)},
        {"name": "conv2", "onnx_nodes": ["Conv_1"], "output": "c2", "op": "conv", "macs": 36864,
         "mapping": "conv-wp", "cycles": 56000, "mac_per_cycle": 0.658, "ai": 3.1, "energy_uj": 11.0,
         "device": "cgra",
         "candidates": [{"mapping": "conv-wp", "cycles": 56000, "mac_per_cycle": 0.658, "energy_uj": 11.0},
                        {"mapping": "conv-op", "cycles": 90000, "mac_per_cycle": 0.41, "energy_uj": 15.5},
                        {"mapping": "im2col-ip", "cycles": None, "mac_per_cycle": None,
                         "error": "does not fit the 32 KiB data memory"}]},
        {"name": "pool", "onnx_nodes": ["MaxPool_2"], "output": "p", "op": "maxpool", "macs": 0,
         "cycles": 5120, "device": "cpu", "energy_uj": 1.2},
    ]
    return {**VERSION, "command": "compile",
            "inputs": {"model": _model("cgra_baseline"), "target": "cgra", "pipeline": "fold-bn,im2col"},
            "layers": layers,
            "totals": {"cycles": 200384, "latency_ms": 2.0038, "clock_hz": 100000000, "macs": 184320,
                       "energy_uj": 41.1, "peak_sram_bytes": 24576},
            "notes": ["objective: latency"],
            "roofline": {"peak_macs_per_cycle": 16.0, "bandwidths_bytes_per_cycle": {"data memory": 4.0}}}


def offload() -> dict:
    """Generic offload accelerator compile report with a simulated timeline."""
    events, t = [], 0
    for i in range(3):
        events.append({"lane": "DMA in", "start": t, "end": t + 400, "label": f"load W{i}"})
        events.append({"lane": "PU", "start": t + 400, "end": t + 1400, "label": f"compute tile {i}"})
        events.append({"lane": "DMA out", "start": t + 1400, "end": t + 1600, "label": f"store O{i}"})
        t += 1000
    memory = [{"t": 0, "bytes": 0}, {"t": 400, "bytes": 24576}, {"t": 1400, "bytes": 40960},
              {"t": 1600, "bytes": 32768}, {"t": 2400, "bytes": 49152}, {"t": 3600, "bytes": 16384},
              {"t": 3600, "bytes": 0}]
    layers = [
        {"name": "conv1", "onnx_nodes": ["Conv_0"], "output": "y1", "op": "conv", "macs": 884736,
         "cycles": 3600, "mac_per_cycle": 245.8, "ai": 14.2, "bound": "compute", "device": "pu",
         "lower_bound_cycles": 3456, "gap": 0.0417, "status": "optimal", "solve_time_s": 0.81,
         "bytes_moved": 62208, "peak_onchip_bytes": 49152,
         "strategy": {"order": "k,c,oy,ox", "tiles": {"K": 16, "C": 16, "OY": 8, "OX": 8}, "resident": "weights"}},
        {"name": "conv2", "onnx_nodes": ["Conv_1"], "output": "y2", "op": "conv", "macs": 1769472,
         "cycles": 9100, "mac_per_cycle": 194.4, "ai": 6.1, "bound": "dma", "device": "pu",
         "lower_bound_cycles": 8704, "gap": 0.0455, "status": "timeout", "solve_time_s": 5.0,
         "bytes_moved": 290000, "peak_onchip_bytes": 65536,
         "strategy": {"order": "c,k,oy,ox", "tiles": {"K": 32, "C": 8, "OY": 4, "OX": 16}, "resident": "outputs"}},
    ]
    return {**VERSION, "command": "compile",
            "inputs": {"model": _model("resnet_block"),
                       "target": {"name": "offload", "backend": "offload",
                                  "params": {"onchip_bytes": 65536, "macs_per_cycle": 256,
                                             "dma_bytes_per_cycle": 8, "overlap": "pipelined"}},
                       "pipeline": "fold-bn,fuse-act,tile"},
            "layers": layers,
            "totals": {"cycles": 12700, "latency_ms": 0.0254, "clock_hz": 500000000, "macs": 2654208,
                       "peak_sram_bytes": 65536, "bytes_moved": 352208},
            "notes": ["conv2: solver timed out after 5 s; best strategy found is 4.6 % above the lower bound"],
            "roofline": {"peak_macs_per_cycle": 256.0, "bandwidths_bytes_per_cycle": {"dma": 8.0}},
            "timeline": {"events": events, "memory": memory, "capacity_bytes": 65536, "unit": "cycles"}}


def compare() -> dict:
    """``cnncc compare`` over the three targets (the CGRA one carries per-layer cycles; offload failed)."""
    e, c = ethos(), cgra()
    return {**VERSION, "command": "compare",
            "inputs": {"model": _model("mobilenet_tiny"), "pipeline": "default per target"},
            "targets": [
                {"target": "ethos-u65-256", "backend": "ethos_u65", "totals": e["totals"], "bound": "compute",
                 "top_layers": [{"name": "pw3", "cycles": 4420, "share": 0.337},
                                {"name": "dw2", "cycles": 4102, "share": 0.313}],
                 "layers": e["layers"], "notes": e["notes"][:1]},
                {"target": "cgra", "backend": "openedgecgra", "totals": c["totals"], "bound": "compute",
                 "top_layers": ["conv1", "conv2"], "layers": c["layers"]},
                {"target": "offload", "backend": "offload", "totals": {},
                 "error": "conv1 needs at least 70000 bytes on chip; offload has 65536"},
            ],
            "notes": ["energy is not modelled for ethos-u65-256"]}


def all_reports() -> dict[str, dict]:
    """{name: report dict}, fresh copies."""
    return {k: copy.deepcopy(f()) for k, f in
            (("ethos", ethos), ("cgra", cgra), ("offload", offload), ("compare", compare))}
