"""Offload backend on whole networks: compile time (z3 proofs on), statuses and gaps of the samples.

Default: each sample compiled with ``cnncc compile`` in a fresh process on each target (default ``offload-64k``):
CPU seconds (user + sys, model load included), layers solved, how many are ``optimal`` (and z3-proved), mean /
max gap to the lower bound, network cycles and the keep-on-chip saving (outputs kept, and how many of them across
more than the next layer or as a fused residual). ``--layers``: every conv layer solved
alone (input and output off chip) with the speed-up over the best hand baseline; ``--no-z3`` without z3.

    .venv/bin/python samples/make_samples.py   # once
    .venv/bin/python bench/offload_networks.py [--targets offload,offload-64k] [--models ...] [--layers [--show]]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("cgra_baseline", "small_residual_concat", "mobilenetv1_cifar100", "mobilenetv2_224", "resnet50_cifar100")
TARGETS = ("offload-64k",)


def _layers(model: str, target_name: str, z3: bool):
    """(layer name, its problem) for every conv layer, and the accelerator."""
    from cnncc.backends.offload.backend import _accel
    from cnncc.backends.offload.layers import problems
    from cnncc.driver import load_model
    from cnncc.target import load_target

    graph = load_model(ROOT / "samples" / "models" / f"{model}.onnx")
    target = load_target(target_name, {"z3_certify": z3})
    acc = _accel(target)
    out = []
    for layer in graph.layers:
        ps = problems(graph, layer, acc, target.name) if layer.kind == "Conv" else None
        if ps:
            out.append((layer.name, ps[0]))
    return out, acc


def run(model: str, target_name: str, show_layers: bool, z3: bool = True) -> dict:
    from cnncc.backends.offload.solve import solve_layer

    layers, acc = _layers(model, target_name, z3)
    rows = []
    for name, p in layers:
        t0 = time.process_time()
        s = solve_layer(p, acc, name)
        r = dict(s.fields, cycles=float(s.sim.cycles), cpu_s=time.process_time() - t0, name=name)
        rows.append(r)
        if show_layers:
            st = r["strategy"]
            print(f"  {name:28s} {r['solver_status']:8s} {r['proof']:16s} z3 {r['z3_time_s']} s "
                  f"cyc {r['cycles']:>12,.0f} lb {r['lower_bound_cycles']:>12,.0f} gap {r['gap']:.3f} "
                  f"x hand {r['speedup_vs_best_hand']:.2f} tiles {st['tiles']} {st['order']} {st['resident']}")
    gaps = [r["gap"] for r in rows]
    speed = [r["speedup_vs_best_hand"] for r in rows]
    return {"layers": len(rows), "optimal": sum(r["solver_status"] == "optimal" for r in rows),
            "z3_proved": sum(r["proof"] == "exhaustive+z3" for r in rows),
            "mean_speedup_vs_hand": statistics.mean(speed), "min_speedup_vs_hand": min(speed),
            "mean_gap": statistics.mean(gaps), "max_gap": max(gaps),
            "total_gap": sum(r["cycles"] for r in rows) / sum(r["lower_bound_cycles"] for r in rows),
            "cpu_s": sum(r["cpu_s"] for r in rows)}


def network(model: str, target_name: str, sets: tuple[str, ...] = ()) -> dict:
    """The whole-network compile in a fresh process (``cnncc compile``): CPU seconds (user + sys, model load
    included) and the report's totals and per-layer gaps."""
    import json
    import resource
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli = str(Path(sys.executable).parent / "cnncc")
        subprocess.run([cli, "compile", str(ROOT / "samples" / "models" / f"{model}.onnx"), "--target", target_name,
                        "-o", str(Path(td) / "out"), *[x for s in sets for x in ("--set", s)]], check=True,
                       capture_output=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rep = json.loads((Path(td) / "out" / "report.json").read_text())
    t = rep["totals"]
    rows = [r for r in rep["layers"] if r.get("solver_status") in ("optimal", "feasible")]
    gaps = [r["gap"] for r in rows if r.get("gap")]
    return {"cycles": t["cycles"], "kept_on_chip_saving_cycles": t.get("kept_on_chip_saving_cycles"),
            "kept_layers": t.get("kept_layers"), "kept_across_layers": t.get("kept_across_layers"),
            "fused_layers": t.get("fused_layers"),
            "speedup_vs_best_hand": t.get("speedup_vs_best_hand"),
            "solver_statuses": t.get("solver_statuses"), "layers": len(rows),
            "optimal": sum(r["solver_status"] == "optimal" for r in rows),
            "z3_proved": sum(r.get("proof") == "exhaustive+z3" for r in rows),
            "mean_gap": statistics.mean(gaps), "max_gap": max(gaps),
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--layers", action="store_true", help="solve every conv layer alone and print the summary")
    ap.add_argument("--show", action="store_true", help="with --layers: print every layer")
    ap.add_argument("--no-z3", action="store_true", help="z3_certify=false (the branch and bound alone)")
    ap.add_argument("--unfused", action="store_true", help="also compile with fuse_elementwise=false (cycles only)")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if a.layers:
        print("| target | model | conv layers | optimal | z3 proved | mean / min speed-up vs hand | "
              "mean / max gap | total gap | CPU s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for tn in a.targets.split(","):
            for m in a.models.split(","):
                r = run(m, tn, a.show, not a.no_z3)
                print(f"| {tn} | {m} | {r['layers']} | {r['optimal']} | {r['z3_proved']} | "
                      f"{r['mean_speedup_vs_hand']:.2f} / {r['min_speedup_vs_hand']:.2f} | {r['mean_gap']:.3f} / "
                      f"{r['max_gap']:.3f} | {r['total_gap']:.3f} | {r['cpu_s']:.2f} |", flush=True)
        return 0
    print("| target | model | layers solved | optimal (z3 proved) | mean / max gap | network cycles | "
          "kept saving | kept (across layers) | layers fused | unfused cycles | x hand | compile CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for tn in a.targets.split(","):
        for m in a.models.split(","):
            n = network(m, tn)
            unf = f"{network(m, tn, ('fuse_elementwise=false',))['cycles']:,.0f}" if a.unfused else "-"
            print(f"| {tn} | {m} | {n['layers']} | {n['optimal']} ({n['z3_proved']}) | {n['mean_gap']:.3f} / "
                  f"{n['max_gap']:.3f} | {n['cycles']:,.0f} | {n['kept_on_chip_saving_cycles']:,.0f} | "
                  f"{n['kept_layers']} ({n['kept_across_layers']}) | {n['fused_layers']} | {unf} | "
                  f"{n['speedup_vs_best_hand']:.2f} | "
                  f"{n['cpu_s']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
