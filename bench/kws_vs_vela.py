"""Network cycles of cnncc vs Vela 5.2.0 on the trained int8 keyword-spotting models in samples/thirdparty/
(fetched by `make samples`), under four accelerator / system / memory-mode configurations. Prints the README's
table rows: cnncc / Vela (ratio). Vela reports no per-layer cycles for these streaming models, so only totals."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CONFIGS = [("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB"),
           ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB"),
           ("ethos-u65-512", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB"),
           ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")]
MODELS = ["hey_jarvis", "alexa", "hey_mycroft", "okay_nabu"]


def main() -> int:
    from vela_fidelity import run_vela

    import cnncc

    tmp = Path(tempfile.mkdtemp(prefix="cnncc-kws-"))
    within = total = 0
    print("| model | " + " | ".join(f"{a} {s} {m}" for a, s, m in CONFIGS) + " |")
    for name in MODELS:
        path = ROOT / "samples" / "thirdparty" / f"{name}.tflite"
        if not path.is_file():
            print(f"skip {name}: {path} is missing (run `make samples`)", file=sys.stderr)
            continue
        cells = [name]
        for accel, system, mode in CONFIGS:
            vela = run_vela(path, system, accel, mode=mode, workdir=tmp)["total"]
            ours = cnncc.compile(path, target=accel, system=system, memory_mode=mode).totals["cycles"]
            ratio = ours / vela
            within += abs(ratio - 1) <= 0.05
            total += 1
            cells.append(f"{ours:,} / {vela:,.0f} ({ratio:.3f})")
        print("| " + " | ".join(cells) + " |")
    print(f"{within} of {total} totals within +-5 %", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
