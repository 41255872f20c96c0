"""Network cycles of cnncc vs Vela 5.2.0 on the trained int8 keyword-spotting models in samples/thirdparty/
(fetched by `make samples`), under the accelerator / system / memory-mode configurations of the random-network
sweep (vela_fidelity.CONFIGS). Prints one row per configuration: cnncc/Vela per model. Vela reports no per-layer
cycles for these streaming models, so only totals."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

MODELS = ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"]


def main() -> int:
    from vela_fidelity import CONFIGS, run_vela

    import cnncc

    tmp = Path(tempfile.mkdtemp(prefix="cnncc-kws-"))
    within = total = 0
    paths = {n: ROOT / "samples" / "thirdparty" / f"{n}.tflite" for n in MODELS}
    for name, path in list(paths.items()):
        if not path.is_file():
            print(f"skip {name}: {path} is missing (run `make samples`)", file=sys.stderr)
            del paths[name]
    print("| configuration | " + " | ".join(paths) + " |")
    print("|---|" + "---|" * len(paths))
    for accel, system, mode in CONFIGS:
        cells = [f"{accel[6:]} {system.split('_', 2)[2]} {mode}"]
        for path in paths.values():
            vela = run_vela(path, system, accel, mode=mode, workdir=tmp)["total"]
            ours = cnncc.compile(path, target=accel, system=system, memory_mode=mode).totals["cycles"]
            ratio = ours / vela
            within += abs(ratio - 1) <= 0.05
            total += 1
            cells.append(f"{ratio:.3f}")
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"{within} of {total} totals within +-5 %", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
