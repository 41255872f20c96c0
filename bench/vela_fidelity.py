"""cnncc's Ethos-U65 model vs Arm Vela 5.2.0, per layer and per network.

For every sample model (samples/models/*.onnx, after the target's default pipeline) and three system
configurations, export the IR as int8 TFLite, compile it with Vela (``--verbose-performance``), match layers by
name (the exporter names each op's output tensor after its IR layer) and print the per-layer ratio cnncc/Vela,
the share of NPU layers within ±10 %, the network total ratio and the wall time of both tools.

    .venv/bin/python bench/vela_fidelity.py [--models a.onnx,b.onnx] [--systems X,Y] [--accel ethos-u65-256]

Needs the ``bench`` extra (``ethos-u-vela``). Exit 1 when Vela is missing.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("Ethos_U65_Client_Server", "Ethos_U65_High_End", "Ethos_U65_Mid_End")
MODE = "Dedicated_Sram_384KB"


def vela_ini() -> Path:
    import ethosu.vela

    return Path(ethosu.vela.__file__).parents[1] / "config_files" / "Arm" / "vela.ini"


def run_vela(tflite: Path, system: str, accel: str, mode: str = MODE) -> tuple[dict[str, float], float, float]:
    """Compile with Vela; returns ({layer name: Op Cycles}, total cycles, wall seconds)."""
    out = tflite.parent / f"vela_{system}_{accel}"
    t0 = time.perf_counter()
    cmd = [str(Path(sys.executable).parent / "vela"), str(tflite), "--config", str(vela_ini()),
           "--system-config", system, "--memory-mode", mode, "--accelerator-config", accel,
           "--verbose-performance", "--output-dir", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"vela failed on {tflite.name}: {r.stderr.strip()[-500:]}")
    per: dict[str, float] = {}
    with open(out / f"{tflite.stem}_per-layer.csv") as f:
        for row in csv.DictReader(f):
            per[row["Name"]] = per.get(row["Name"], 0.0) + float(row["Op Cycles"])
    with open(next(out.glob(f"{tflite.stem}_summary_*.csv"))) as f:
        total = float(next(csv.DictReader(f))["cycles_total"])
    return per, total, wall


def compare(graph, system: str, accel: str, workdir: Path, mode: str = MODE) -> dict:
    """One graph under one system config: per-layer pairs, within-10 % share, total ratio, wall times."""
    from cnncc.export.tflite import write_tflite
    from cnncc.target import load_target

    path = workdir / f"{graph.name}.tflite"
    write_tflite(graph, path)
    target = load_target(accel, {"system": system, "memory_mode": mode})
    t0 = time.perf_counter()
    rep = target.backend_module().compile(graph, target, None)
    ours_wall = time.perf_counter() - t0
    vela, vela_total, vela_wall = run_vela(path, system, accel, mode)
    # Vela names an op that writes straight into a Concat's map after the Concat's output: compare a Concat
    # together with the layers producing its inputs (one unit named "<concat>+")
    unit = {}
    for layer in graph.layers:
        if layer.kind == "Concat":
            prods = [graph.producer(t) for t in layer.inputs]
            for x in [layer] + [q for q in prods if q is not None]:
                unit.setdefault(x.name, layer.name + "+")
    ours: dict[str, list] = {}
    for d in rep.layers:
        key = unit.get(d["name"], d["name"])
        e = ours.setdefault(key, [0, 0.0, False])
        e[0] += d["cycles"]
        e[1] += vela.get(d["name"], 0.0)
        e[2] |= d["device"] == "npu"
    pairs = [(k, c, v) for k, (c, v, npu) in ours.items() if npu and v > 0]
    within = sum(1 for _, c, v in pairs if abs(c / v - 1) <= 0.10)
    return {"graph": graph.name, "system": system, "accel": accel, "pairs": pairs, "within": within,
            "layers": len(pairs), "ours_total": rep.totals["cycles"], "vela_total": vela_total,
            "total_ratio": rep.totals["cycles"] / vela_total if vela_total else float("nan"),
            "ours_time_s": ours_wall, "vela_time_s": vela_wall}


def load_sample(path: Path, target_name: str = "ethos-u65-256"):
    from cnncc.driver import load_model, run_passes
    from cnncc.target import load_target

    g = load_model(path)
    t = load_target(target_name)
    return run_passes(g, t.default_pipeline, t).graph


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated ONNX files (default: samples/models/*.onnx)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--accel", default="ethos-u65-256")
    ap.add_argument("--verbose", action="store_true", help="print every layer")
    a = ap.parse_args(argv)
    try:
        import ethosu  # noqa: F401
    except ImportError:
        print("Vela (ethos-u-vela) is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    models = [Path(m) for m in a.models.split(",") if m] or sorted((ROOT / "samples" / "models").glob("*.onnx"))
    all_within = all_layers = 0
    with tempfile.TemporaryDirectory() as td:
        for m in models:
            g = load_sample(m, a.accel)
            for system in a.systems.split(","):
                r = compare(g, system, a.accel, Path(td))
                all_within += r["within"]
                all_layers += r["layers"]
                print(f"{r['graph']:24s} {system:24s} layers {r['layers']:3d}  within±10% "
                      f"{100 * r['within'] / max(r['layers'], 1):5.1f}%  total cnncc/Vela {r['total_ratio']:.3f}  "
                      f"(cnncc {r['ours_time_s'] * 1e3:.0f} ms, Vela {r['vela_time_s'] * 1e3:.0f} ms, "
                      f"speed-up {r['vela_time_s'] / max(r['ours_time_s'], 1e-9):.1f}x)")
                if a.verbose:
                    for name, c, v in r["pairs"]:
                        print(f"    {name:40s} {c:10d} {v:10.0f}  {c / v:6.3f}")
    print(f"ALL: {all_within}/{all_layers} NPU layers within ±10% ({100 * all_within / max(all_layers, 1):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
