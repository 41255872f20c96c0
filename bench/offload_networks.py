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


def run(model: str, target_name: str, show_layers: bool, z3: bool = False) -> dict:
    from cnncc.backends.offload import _problem, solve_layer
    from cnncc.backends.offload.model import accel_from_params
    from cnncc.driver import load_model
    from cnncc.target import load_target

    path = ROOT / "samples" / "models" / f"{model}.onnx"
    graph = load_model(path)
    target = load_target(target_name)
    acc = accel_from_params(dict(target.params) | ({"z3_certify": True} if z3 else {}))
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
            print(f"  {layer.name:28s} {r['solver_status']:8s} {r['solve_time_s']:6.3f}s {r['proof']} "
                  f"z3 {r['z3_time_s']} s "
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
           "z3_proved": sum(r["proof"] == "exhaustive+z3" for r in rows),
           "compute_bound_lb": sum(r["lower_bound_cycles"] * 1.0 == r["macs"] / acc.macs_per_cycle
                                   + acc.call_overhead_cycles for r in rows)}
    return out


def gap_breakdown(p, acc) -> dict:
    """Why a layer's optimum is above its lower bound, in cycles: cycles = max(PU busy, DMA busy) + overlap loss;
    PU busy = MACs/pi + calls x overhead; DMA busy = bytes/beta + transfers x latency. Each term beyond what the
    bound counts: extra call overheads, extra DMA latencies, extra bytes by kind (input halo / re-reads, weight
    re-reads, partial-sum spills and reloads), and the overlap loss (prologue: first loads; epilogue: last compute
    and stores; stalls where neither side is busy)."""
    from fractions import Fraction

    from cnncc.backends.offload import exhaustive, lower_bound
    from cnncc.backends.offload.formalism import expand
    from cnncc.backends.offload.simulate import simulate

    s = exhaustive.best_regular(p, acc).strategy
    steps = expand(p, acc, s)
    sim = simulate(p, acc, s.tiling, steps, record=False)
    by = {"I": 0, "W": 0, "psum": 0, "final": 0}
    for st in steps:
        for tr in st.loads + st.stores:
            by["psum" if tr.what == "psum" else "final" if tr.operand == "O" else tr.operand] += tr.nbytes
    beta = acc.dma_bytes_per_cycle
    lb = lower_bound(p, acc)
    rows = min(p.OY // t * p.in_rows(t) for t in exhaustive.divisors(p.OY))
    cols = min(p.OX // t * p.in_cols(t) for t in exhaustive.divisors(p.OX))
    need_i = rows * cols * (p.K if p.channelwise else p.C) * acc.act_bytes
    n_lb = len([a for a in p.operands if a != "O"]) + 1
    f = float
    return {"cycles": f(sim.cycles), "lower_bound": f(lb), "gap": f(sim.cycles / lb),
            "bound_side": "compute" if acc.compute(p.macs) >= lb else "dma",
            "pu_busy": f(sim.pu_busy), "dma_busy": f(sim.dma_busy),
            "extra_call_overhead": f((sim.compute_calls - 1) * acc.call_overhead_cycles),
            "extra_dma_latency": f((sim.transfers - n_lb) * acc.dma_latency_cycles),
            "input_extra_bytes": f(Fraction(by["I"] - need_i) / beta),
            "weight_extra_bytes": f(Fraction(by["W"] - p.full_bytes("W", acc)) / beta) if "W" in p.operands else 0.0,
            "psum_bytes": f(Fraction(by["psum"]) / beta),
            "overlap_loss": f(sim.cycles - max(sim.pu_busy, sim.dma_busy)),
            "store_busy": f(sum(acc.transfer(tr.nbytes) for st in steps for tr in st.stores)),
            "calls": sim.compute_calls, "transfers": sim.transfers, "strategy": s.summary()}


def breakdown(model: str, target_name: str, worst: int) -> None:
    from cnncc.backends.offload import _problem
    from cnncc.backends.offload.model import accel_from_params
    from cnncc.driver import load_model
    from cnncc.target import load_target

    graph = load_model(ROOT / "samples" / "models" / f"{model}.onnx")
    target = load_target(target_name)
    acc = accel_from_params(dict(target.params))
    rows = []
    for layer in graph.layers:
        p = _problem(graph, layer, target)
        if p is not None and layer.kind == "Conv":
            rows.append((layer.name, gap_breakdown(p, acc)))
    rows.sort(key=lambda r: -r[1]["gap"])
    for name, b in rows[:worst]:
        print(f"| {target_name} | {model} | {name} | {b['cycles']:,.0f} | {b['lower_bound']:,.0f} ({b['bound_side']}) "
              f"| {b['gap']:.3f} | {b['pu_busy']:,.0f} / {b['dma_busy']:,.0f} | {b['overlap_loss']:,.0f} | "
              f"{b['store_busy']:,.0f} | "
              f"{b['extra_call_overhead']:,.0f} ({b['calls']} calls) | {b['extra_dma_latency']:,.0f} "
              f"({b['transfers']} xfers) | {b['input_extra_bytes']:,.0f} | {b['weight_extra_bytes']:,.0f} | "
              f"{b['psum_bytes']:,.0f} |", flush=True)


def network(model: str, target_name: str) -> dict:
    from cnncc.driver import compile_model

    t0 = time.perf_counter()
    rep = compile_model(ROOT / "samples" / "models" / f"{model}.onnx", target_name)
    t = rep.totals
    out = {k: t.get(k) for k in ("cycles", "kept_on_chip_saving_cycles", "kept_layers", "speedup_vs_best_hand",
                                 "solver_statuses")}
    out["compile_s"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--layers", action="store_true", help="print every layer")
    ap.add_argument("--no-network", action="store_true", help="skip the whole-network compile")
    ap.add_argument("--z3", action="store_true", help="also certify every optimum with z3 (z3_certify=true)")
    ap.add_argument("--breakdown", type=int, default=0, metavar="N",
                    help="only print the gap-to-bound breakdown of the N worst layers per model and target")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if a.breakdown:
        print("| target | model | layer | cycles | bound (side) | gap | PU / DMA busy | overlap loss | "
              "store time | extra call overhead | "
              "extra DMA latency | input extra bytes/beta | weight re-reads/beta | psum spills/beta |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for tn in a.targets.split(","):
            for m in a.models.split(","):
                breakdown(m, tn, a.breakdown)
        return 0
    print("| target | model | conv layers | optimal | mean / min speed-up vs best hand | total speed-up | "
          "mean / max gap to bound | total gap | at bound | mean / max solve s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    nets = []
    for tn in a.targets.split(","):
        for m in a.models.split(","):
            r = run(m, tn, a.layers, a.z3)
            print(f"| {tn} | {m} | {r['layers']} | {r['optimal']} | {r['mean_speedup_vs_hand']:.2f} / "
                  f"{r['min_speedup_vs_hand']:.2f} | {r['total_speedup_vs_hand']:.2f} | {r['mean_gap']:.3f} / "
                  f"{r['max_gap']:.3f} | {r['total_gap']:.3f} | {r['at_bound']} | {r['mean_solve_s']:.3f} / "
                  f"{r['max_solve_s']:.3f} |" + (f" z3 proved {r['z3_proved']} |" if a.z3 else ""), flush=True)
            if not a.no_network:
                nets.append((tn, m, network(m, tn)))
    if nets:
        print("\n| target | model | network cycles | kept-on-chip saving (cycles) | layers kept | "
              "speed-up vs hand | statuses | compile s |")
        print("|---|---|---|---|---|---|---|---|")
        for tn, m, n in nets:
            print(f"| {tn} | {m} | {n['cycles']:,.0f} | {n['kept_on_chip_saving_cycles']:,.0f} | "
                  f"{n['kept_layers']} | {n['speedup_vs_best_hand']:.2f} | {n['solver_statuses']} | "
                  f"{n['compile_s']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
