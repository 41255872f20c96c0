"""ABConv on Ethos-U65: latency before/after the ``abconv`` pass, from cnncc's model and from Vela.

For the CIFAR-100 MobileNetV1 and ResNet50 samples, on ethos-u65-256 and ethos-u65-512 under Client_Server,
High_End and Mid_End (Dedicated_Sram_384KB): run ``fold-bn,fuse-act`` (before) and
``fold-bn,fuse-act,abconv{select=cost target=<accel>}`` (after), cost both with cnncc and with Vela on the
exported int8 TFLite, and print a Markdown table (ms at the system's clock). The rewrite changes the function
(retraining needed): this compares latency only.

    .venv/bin/python bench/abconv_u65.py [--no-vela] [--models ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
MODELS = ("mobilenetv1_cifar100", "resnet50_cifar100")
ACCELS = ("ethos-u65-256", "ethos-u65-512")
SYSTEMS = ("Ethos_U65_Client_Server", "Ethos_U65_High_End", "Ethos_U65_Mid_End")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--no-vela", action="store_true", help="cnncc's model only")
    ap.add_argument("--lowerings", default="slice-concat,transpose", help="abconv lowerings to compare")
    a = ap.parse_args(argv)
    from cnncc.driver import compile_model, load_model, run_passes
    from cnncc.frontend.tflite.writer import write_tflite
    from cnncc.target import load_target

    use_vela = not a.no_vela
    if use_vela:
        try:
            from vela_fidelity import run_vela
        except ImportError:
            use_vela = False
    print("| model | accel | lowering | system | cnncc before ms | cnncc after ms | cnncc speed-up | Vela before ms | "
          "Vela after ms | Vela speed-up | layers rewritten | same direction |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as td:
        for name in a.models.split(","):
            g0 = load_model(ROOT / "samples" / "models" / f"{name}.onnx")
            for accel in ACCELS:
                base = load_target(accel)
                before = run_passes(g0, "fold-bn,fuse-act", base).graph
                paths = {}
                if use_vela:
                    paths["before"] = Path(td) / f"{name}_{accel}_before.tflite"
                    write_tflite(before.replace(name=f"{name}_{accel}_before"), paths["before"])
                vela_before = {}
                for low in a.lowerings.split(","):
                    res = run_passes(g0, f"fold-bn,fuse-act,abconv{{select=cost target={accel} lowering={low}}}",
                                     base)
                    after = res.graph
                    rewritten = res.counters.get("abconv", {}).get("layers-rewritten", 0)
                    tag = f"after_{low}"
                    if use_vela:
                        paths[tag] = Path(td) / f"{name}_{accel}_{tag}.tflite"
                        write_tflite(after.replace(name=f"{name}_{accel}_{tag.replace('-', '_')}"), paths[tag])
                    for system in SYSTEMS:
                        t = load_target(accel, {"system": system})
                        cb = compile_model(before, t, pipeline="").totals
                        ca = compile_model(after, t, pipeline="").totals
                        row = [name, accel, low, system.replace("Ethos_U65_", ""), f"{cb['latency_ms']:.3f}",
                               f"{ca['latency_ms']:.3f}", f"{cb['cycles'] / ca['cycles']:.2f}x"]
                        same = "-"
                        if use_vela:
                            if system not in vela_before:
                                vela_before[system] = run_vela(paths["before"], system, accel)["total"]
                            vb = vela_before[system]
                            va = run_vela(paths[tag], system, accel)["total"]
                            ms = 1e3 / cb["clock_hz"]
                            row += [f"{vb * ms:.3f}", f"{va * ms:.3f}", f"{vb / va:.2f}x"]
                            same = "yes" if (cb["cycles"] > ca["cycles"]) == (vb > va) else "no"
                        else:
                            row += ["-", "-", "-"]
                        row += [str(rewritten), same]
                        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
