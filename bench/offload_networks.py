"""Offload backend on whole networks: every conv layer of the ResNet50-CIFAR and MobileNetV2-224 samples.

For each target (default ``offload`` and the 64 KiB ``offload-64k``) and model, every layer with a loop nest is
solved on its own (input and output off chip): solver status, proof, solve time, simulated cycles, lower bound,
the best hand baseline. Prints per-model summaries (average speed-up vs the best hand baseline, average ratio to
the lower bound, layers at the bound) and, with ``--layers``, the per-layer table. Then the whole-network compile
(outputs kept on chip where they fit) with its saving.

    .venv/bin/python samples/make_samples.py   # once
    .venv/bin/python bench/offload_networks.py [--targets offload,offload-64k] [--models ...] [--layers]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("resnet50_cifar100", "mobilenetv2_224")
TARGETS = ("offload", "offload-64k")


def run(model: str, target_name: str, show_layers: bool) -> dict:
    from cnncc.backends.offload import _problem, solve_layer
    from cnncc.backends.offload.model import accel_from_params
    from cnncc.driver import load_model
    from cnncc.target import load_target

    path = ROOT / "samples" / "models" / f"{model}.onnx"
    graph = load_model(path)
    target = load_target(target_name)
    acc = accel_from_params(dict(target.params))
    rows = []
    for layer in graph.layers:
        p = _problem(graph, layer, target)
        if p is None or layer.kind != "Conv":
            continue
        t0 = time.perf_counter()
        r = solve_layer(p, acc, layer.name)
        r["wall_s"] = time.perf_counter() - t0
        r["name"] = layer.name
        rows.append(r)
        if show_layers:
            s = r["strategy"]
            print(f"  {layer.name:28s} {r['solver_status']:8s} {r['solve_time_s']:6.3f}s "
                  f"cyc {r['cycles']:>12,.0f} lb {r['lower_bound_cycles']:>12,.0f} gap {r['gap']:.3f} "
                  f"x hand {r['speedup_vs_best_hand']:.2f} tiles {s['tiles']} {s['order']} {s['resident']}")
    speed = [r["speedup_vs_best_hand"] for r in rows]
    gaps = [r["gap"] for r in rows]
    times = [r["solve_time_s"] for r in rows]
    out = {"model": model, "target": target_name, "layers": len(rows),
           "optimal": sum(r["solver_status"] == "optimal" for r in rows),
           "mean_speedup_vs_hand": statistics.mean(speed), "min_speedup_vs_hand": min(speed),
           "total_speedup_vs_hand": sum(min(r["baselines"].values()) for r in rows) / sum(r["cycles"] for r in rows),
           "mean_gap": statistics.mean(gaps), "max_gap": max(gaps),
           "total_gap": sum(r["cycles"] for r in rows) / sum(r["lower_bound_cycles"] for r in rows),
           "at_bound": sum(g < 1.0005 for g in gaps), "mean_solve_s": statistics.mean(times),
           "max_solve_s": max(times), "total_wall_s": sum(r["wall_s"] for r in rows),
           "compute_bound_lb": sum(r["lower_bound_cycles"] * 1.0 == r["macs"] / acc.macs_per_cycle
                                   + acc.call_overhead_cycles for r in rows)}
    return out


def network(model: str, target_name: str) -> dict:
    from cnncc.driver import compile_model

    rep = compile_model(ROOT / "samples" / "models" / f"{model}.onnx", target_name)
    t = rep.totals
    return {k: t.get(k) for k in ("cycles", "kept_on_chip_saving_cycles", "kept_layers", "speedup_vs_best_hand",
                                  "solver_statuses")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--layers", action="store_true", help="print every layer")
    ap.add_argument("--no-network", action="store_true", help="skip the whole-network compile")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    print("| target | model | conv layers | optimal | mean / min speed-up vs best hand | total speed-up | "
          "mean / max gap to bound | total gap | at bound | mean / max solve s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    nets = []
    for tn in a.targets.split(","):
        for m in a.models.split(","):
            r = run(m, tn, a.layers)
            print(f"| {tn} | {m} | {r['layers']} | {r['optimal']} | {r['mean_speedup_vs_hand']:.2f} / "
                  f"{r['min_speedup_vs_hand']:.2f} | {r['total_speedup_vs_hand']:.2f} | {r['mean_gap']:.3f} / "
                  f"{r['max_gap']:.3f} | {r['total_gap']:.3f} | {r['at_bound']} | {r['mean_solve_s']:.3f} / "
                  f"{r['max_solve_s']:.3f} |", flush=True)
            if not a.no_network:
                nets.append((tn, m, network(m, tn)))
    if nets:
        print("\n| target | model | network cycles | kept-on-chip saving (cycles) | layers kept | "
              "speed-up vs hand | statuses |")
        print("|---|---|---|---|---|---|---|")
        for tn, m, n in nets:
            print(f"| {tn} | {m} | {n['cycles']:,.0f} | {n['kept_on_chip_saving_cycles']:,.0f} | "
                  f"{n['kept_layers']} | {n['speedup_vs_best_hand']:.2f} | {n['solver_statuses']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
