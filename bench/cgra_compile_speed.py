"""Compile time of the ``cgra`` target relative to ``ethos-u65-256`` on the same model (issue 14's target: <= 3x),
measured two ways side by side in one run, each in fresh processes (median of ``--repeat`` runs):

* **process**: CPU time (user + sys) of the whole ``cnncc compile MODEL --target T -q -f json`` process, as a user
  or a CI job waits for it (start-up, model load, pipeline, backend, report);
* **compile call**: CPU time of ``compile_model`` alone on an already loaded graph (the backend's module loading
  and the backend's cost model, without interpreter start-up and model load).

Usage: ``python bench/cgra_compile_speed.py [--repeat N] [model.onnx ...]`` (default: the three sample networks
from ``make samples``)."""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224"]
TARGETS = ("ethos-u65-256", "cgra")
CHILD = """
import sys, time
from cnncc.driver import compile_model, load_model
g = load_model(sys.argv[1])
t = time.process_time()
compile_model(g, sys.argv[2])
print(time.process_time() - t)
"""


def call_seconds(model: Path, target: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), target], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def process_seconds(model: Path, target: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "cnncc.cli", "compile", str(model), "--target", target, "-q", "-f", "json"],
                   capture_output=True, check=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args(argv)
    models = [Path(p) for p in args.models] or [ROOT / "samples" / "models" / f"{m}.onnx" for m in MODELS]
    print(f"{'model':22s} {'process: ethos s':>17s} {'cgra s':>8s} {'ratio':>6s}   "
          f"{'call: ethos s':>14s} {'cgra s':>8s} {'ratio':>6s}")
    for m in models:
        proc = {t: statistics.median(process_seconds(m, t) for _ in range(args.repeat)) for t in TARGETS}
        call = {t: statistics.median(call_seconds(m, t) for _ in range(args.repeat)) for t in TARGETS}
        print(f"{m.stem:22s} {proc['ethos-u65-256']:17.2f} {proc['cgra']:8.2f} "
              f"{proc['cgra'] / proc['ethos-u65-256']:6.2f}   {call['ethos-u65-256']:14.2f} {call['cgra']:8.2f} "
              f"{call['cgra'] / call['ethos-u65-256']:6.2f}")


if __name__ == "__main__":
    main()
