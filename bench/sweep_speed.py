"""Sweep throughput: points/s with 1 and 2 local workers (the speed-up as a ratio), and the per-point cost of a
sweep against a plain ``cnncc compile`` process of the same point.

The sweep: the sample models given (default: cgra_baseline and small_residual_concat, written by
samples/make_samples.py into a temp folder) on ethos-u65-256 over system × memory_mode × arena cache size ×
pipeline (default, ABConv g=2, g=4): 2 × 3 × 4 × 3 = 72 points per model. Each run starts from an empty output
folder (nothing resumed). Wall-clock and CPU time of the whole ``cnncc.sweep`` call are measured (planning,
pool start, model loads included), so points/s is what a user waits for. Then ``--plain`` points are each
compiled by a fresh ``cnncc compile MODEL -t ethos-u65-256 --set ... -p ... -q -f json`` process (median wall),
and in-process by ``compile_model`` on a loaded graph (median), giving the sweep's own overhead per point.

    .venv/bin/python bench/sweep_speed.py [--models a.onnx,b.onnx] [--plain 6] [--repeat 1]

On a shared machine read the CPU columns too: the 2-worker speed-up needs 2 idle cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """schema_version = 1
name = "bench"
models = [{models}]
targets = ["ethos-u65-256"]
pipelines = ["fold-bn,fuse-act", "fold-bn,fuse-act,abconv{{groups={{g}}}}"]
objectives = ["latency_ms", "peak_sram_bytes"]
[axes]
system = ["Ethos_U65_High_End", "Ethos_U65_Client_Server"]
memory_mode = ["Sram_Only", "Shared_Sram", "Dedicated_Sram"]
arena_cache_size_bytes = {{ log_range = [131072, 1048576], factor = 2 }}
g = [2, 4]
"""


def _models(arg: str | None, tmp: Path) -> list[Path]:
    if arg:
        return [Path(m).resolve() for m in arg.split(",")]
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    ms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ms)
    return ms.write_all(tmp, names=("cgra_baseline", "small_residual_concat"))


def _cpu() -> float:
    a = os.times()
    return a.user + a.system + a.children_user + a.children_system


def run_sweep(path: Path, out: Path, jobs: int) -> tuple[float, float, int]:
    import cnncc

    t0, c0 = time.perf_counter(), _cpu()
    rep = cnncc.sweep(path, jobs=jobs, out_dir=out)
    return time.perf_counter() - t0, _cpu() - c0, rep.totals["points"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="comma-separated ONNX files (default: two sample models)")
    ap.add_argument("--plain", type=int, default=6, help="points also compiled by a plain `cnncc compile`")
    ap.add_argument("--repeat", type=int, default=1, help="sweep runs per worker count (the best is kept)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        models = _models(args.models, tmp)
        path = tmp / "bench.toml"
        path.write_text(SWEEP.format(models=", ".join(json.dumps(str(m)) for m in models)))
        res = {}
        for jobs in (1, 2):
            best = None
            for r in range(args.repeat):
                wall, cpu, n = run_sweep(path, tmp / f"out-{jobs}-{r}", jobs)
                if best is None or wall < best[0]:
                    best = (wall, cpu, n)
            res[jobs] = best
        n = res[1][2]
        print(f"sweep of {n} points ({len(models)} models x 72 ethos-u65-256 configurations), {os.cpu_count()} "
              f"cores, load average {os.getloadavg()[0]:.1f}")
        print(f"{'workers':>8} {'wall s':>8} {'CPU s':>8} {'points/s':>9} {'ms/point':>9}")
        for jobs, (wall, cpu, n) in res.items():
            print(f"{jobs:>8} {wall:>8.2f} {cpu:>8.2f} {n / wall:>9.1f} {1000 * wall / n:>9.1f}")
        print(f"speed-up 2 workers / 1 worker: {res[1][0] / res[2][0]:.2f}x")

        rows = json.loads((tmp / "out-1-0" / "sweep.json").read_text())["layers"]
        sample = random.Random(0).sample(rows, min(args.plain, len(rows)))
        plain, inproc = [], []
        from cnncc.driver import compile_model, load_model
        from cnncc.target import load_target

        for row in sample:
            model = path.parent / row["model"]  # model ids are relative to the sweep file
            axes = {k: v for k, v in row["axes"].items() if k != "g"}
            sets = [x for k, v in axes.items() for x in ("--set", f"{k}={v}")]
            cmd = [sys.executable, "-m", "cnncc.cli", "compile", str(model), "-t", "ethos-u65-256", *sets,
                   "-p", row["pipeline"], "-q", "-f", "json"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            plain.append(time.perf_counter() - t0)
            g = load_model(model)
            tgt = load_target("ethos-u65-256", axes)
            compile_model(g, tgt, row["pipeline"])  # warm
            t0 = time.perf_counter()
            compile_model(g, tgt, row["pipeline"])
            inproc.append(time.perf_counter() - t0)
        per_point = res[1][0] / n
        print(f"plain `cnncc compile` process, median of {len(plain)}: {statistics.median(plain) * 1000:.0f} ms")
        print(f"in-process compile_model (graph loaded), median: {statistics.median(inproc) * 1000:.1f} ms")
        print(f"sweep, 1 worker, wall per point: {per_point * 1000:.1f} ms  ->  sweep overhead per point "
              f"{(per_point - statistics.median(inproc)) * 1000:.1f} ms; a sweep point costs "
              f"{per_point / statistics.median(plain):.3f}x a plain compile process")


if __name__ == "__main__":
    main()
