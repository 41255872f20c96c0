"""Compile time of the ``cgra`` target relative to ``ethos-u65-256`` on the same model (issue 14's target: <= 3x).

Each compile runs in a fresh process (CPU time of the compile call, imports excluded), the ratio is printed per
model. Usage: ``python bench/cgra_compile_speed.py [model.onnx ...]`` (default: the three sample networks from
``make samples``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224"]
CHILD = """
import sys, time
from cnncc.driver import compile_model, load_model
g = load_model(sys.argv[1])
t = time.process_time()
compile_model(g, sys.argv[2])
print(time.process_time() - t)
"""


def cpu_seconds(model: Path, target: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), target], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main(paths: list[str]) -> None:
    models = [Path(p) for p in paths] or [ROOT / "samples" / "models" / f"{m}.onnx" for m in MODELS]
    print(f"{'model':28s} {'ethos-u65-256 s':>16s} {'cgra s':>10s} {'ratio':>7s}")
    for m in models:
        e, c = cpu_seconds(m, "ethos-u65-256"), cpu_seconds(m, "cgra")
        print(f"{m.stem:28s} {e:16.2f} {c:10.2f} {c / e:7.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
