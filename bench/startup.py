"""Start-up and whole-process time: ``cnncc compile`` vs Arm Vela 5.2.0, each run as a fresh process.

For a one-layer model (one 3x3 conv, written here with a seeded generator) and every sample model
(samples/models/*.onnx), run ``cnncc compile MODEL --target ethos-u65-256 -q -f json`` and ``vela MODEL.tflite``
(the int8 TFLite that ``cnncc export`` writes from the same model) ``--repeat`` times each, interleaved, and print
the median wall time and the median CPU time (user + sys of the child) of both. Also times ``cnncc targets``,
``cnncc --version`` and a bare ``python -c pass`` as floors. CPU time is the fairer number on a shared machine;
wall time is what a CI loop waits for.

    .venv/bin/python bench/startup.py [--repeat 5] [--models a.onnx,b.onnx] [--importtime] [--instructions]

``--importtime`` also prints the ten slowest imports of the one-layer compile (``python -X importtime``).
``--instructions`` also counts the instructions of one run of each (valgrind's callgrind, both with one BLAS
thread): deterministic, so a change of a few percent shows on a loaded machine where times do not.
The verdict column names the faster one when both its median wall and CPU times are lower ("mixed" otherwise).
Needs the ``bench`` extra (``ethos-u-vela``); without Vela only cnncc is timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = "ethos-u65-256"


def one_layer_model(path: Path, seed: int = 0) -> Path:
    """A 1x16x32x32 -> 16-channel 3x3 conv, weights from a seeded generator."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "one_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                   [1, 16, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 32, 32])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one process run; raises on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_runs(cmds: dict[str, list[str]], repeat: int, cwd: Path) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) per command, the commands interleaved run by run (fair under varying load)."""
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(repeat):
        for k, cmd in cmds.items():
            runs[k].append(timed(cmd, cwd))
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}


def vela_cmd(tflite: Path, out: Path) -> list[str]:
    return [str(BIN / "vela"), str(tflite), "--accelerator-config", TARGET, "--output-dir", str(out)]


def instructions(cmd: list[str], cwd: Path) -> float:
    """Instructions (millions) of one run of ``cmd`` under callgrind, one BLAS thread; nan without valgrind."""
    if not shutil.which("valgrind"):
        return float("nan")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd], cwd=cwd,
                       capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    for line in r.stderr.splitlines():
        if "Collected" in line:
            return int(line.rsplit(":", 1)[1].strip().replace(",", "")) / 1e6
    return float("nan")


def importtime(model: Path, tmp: Path) -> list[tuple[int, str]]:
    """The ten slowest imports (cumulative µs, module) of a one-layer compile."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "cnncc.cli", "compile", str(model), "--target",
                        TARGET, "-q", "-f", "json"], cwd=tmp, capture_output=True, text=True)
    rows = []
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:10]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--models", default="", help="comma-separated ONNX files (default: every sample model)")
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    args = ap.parse_args()
    have_vela = (BIN / "vela").exists()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        models = [one_layer_model(tmp / "one_layer.onnx")]
        given = [Path(m).resolve() for m in args.models.split(",") if m]
        models += given or sorted((ROOT / "samples/models").glob("*.onnx"))
        floors = median_runs({"python -c pass": [sys.executable, "-c", "pass"],
                              "cnncc --version": [str(BIN / "cnncc"), "--version"],
                              "cnncc targets": [str(BIN / "cnncc"), "targets"]}, args.repeat, tmp)
        for name, (w, c) in floors.items():
            print(f"{name:<22} wall {w:6.3f} s   cpu {c:6.3f} s")
        ins = "  cnncc Minstr  vela Minstr" if args.instructions else ""
        print(f"\n{'model':<28} {'cnncc wall':>10} {'vela wall':>10} {'cnncc cpu':>10} {'vela cpu':>10}{ins}  faster")
        for m in models:
            cmds = {"cnncc": [str(BIN / "cnncc"), "compile", str(m), "--target", TARGET, "-q", "-f", "json"]}
            if have_vela:
                tfl = tmp / f"{m.stem}.tflite"
                timed([str(BIN / "cnncc"), "export", str(m), "-o", str(tfl)], tmp)
                cmds["vela"] = vela_cmd(tfl, tmp / f"vela_{m.stem}")
            res = median_runs(cmds, args.repeat, tmp)
            cw, cc = res["cnncc"]
            vw, vc = res.get("vela", (float("nan"), float("nan")))
            verdict = ("-" if not have_vela else "cnncc" if cw < vw and cc < vc else
                       "vela" if cw > vw and cc > vc else "mixed")
            extra = ""
            if args.instructions:
                extra = "".join(f" {instructions(cmds[k], tmp) if k in cmds else float('nan'):12.0f}"
                                for k in ("cnncc", "vela"))
            print(f"{m.stem:<28} {cw:9.3f}s {vw:9.3f}s {cc:9.3f}s {vc:9.3f}s{extra}  {verdict}")
            for k in cmds:
                shutil.rmtree(tmp / f"vela_{m.stem}", ignore_errors=True) if k == "vela" else None
        if args.importtime:
            print("\nslowest imports of the one-layer compile (cumulative):")
            for us, mod in importtime(models[0], tmp):
                print(f"  {us / 1e6:6.3f} s  {mod.strip()}")
    if not have_vela:
        print("\n(vela not installed: pip install -e '.[bench]')", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
