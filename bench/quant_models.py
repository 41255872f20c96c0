"""Quantised models end to end: the real int8 TFLite models `make samples` fetches (samples/thirdparty/) and int8
TFLite versions of the sample ONNX models made by cnncc's writer.

Per model: layers, MACs (cnncc vs an independent count from the flatbuffer), the integer interpreter against
LiteRT (reference kernels and the default XNNPACK kernels; max |diff| in LSB over outputs, and over every tensor
both name), load and interpreter wall time; with Vela installed, Vela's total cycles for the file and for
cnncc's re-export of it (TFLite -> cnncc -> TFLite must cost the same), and cnncc's Ethos-U65 cycles (U65-256,
Ethos_U65_Client_Server, Dedicated_Sram_384KB, no passes) with the count of NPU layers within 10 % of Vela.

    .venv/bin/python bench/quant_models.py [--no-vela] [--out bench/RESULTS-quant.md]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "tflite"), str(ROOT / "bench")]


def models(tmp: Path) -> list[tuple[str, Path, str]]:
    out = []
    manifest = ROOT / "samples" / "thirdparty" / "MANIFEST.json"
    if manifest.is_file():
        for m in json.loads(manifest.read_text())["models"]:
            out.append((m["name"], ROOT / "samples" / "thirdparty" / m["file"],
                        f"{m['package']} {m['version']} ({m['licence'].split(' ')[0]})"))
    else:
        print("warning: samples/thirdparty/ not fetched (make samples)", file=sys.stderr)
    import cnncc
    from cnncc.frontend.tflite.writer import write_tflite

    for name in ("mobilenetv1_cifar100", "mobilenetv2_224"):
        src = ROOT / "samples" / "models" / f"{name}.onnx"
        if src.is_file():
            p = tmp / f"{name}_int8.tflite"
            write_tflite(cnncc.load(src), p)
            out.append((f"{name}_int8", p, "cnncc writer (seeded sample)"))
    return out


def vela_total(path: Path, workdir: Path, system: str) -> float | None:
    from vela_fidelity import run_vela

    try:
        return run_vela(path, system, "ethos-u65-256", workdir=workdir)["total"]
    except (RuntimeError, OSError, StopIteration) as e:
        print(f"warning: Vela failed on {path.name}: {e}", file=sys.stderr)
        return None


def measure(name: str, path: Path, tmp: Path, with_vela: bool) -> dict:
    from litert_ref import compare
    from test_tflite_reader import independent_macs

    import cnncc
    from cnncc.ir.quant import is_quantized

    t0 = time.perf_counter()
    g = cnncc.load(path)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = compare(path, "BUILTIN_REF")
    cmp_s = time.perf_counter() - t0
    xnn = compare(path, "BUILTIN")
    row = {"model": name, "bytes": path.stat().st_size, "layers": len(g.layers), "macs": g.total_macs,
           "independent_macs": independent_macs(path), "quantized": is_quantized(g),
           "ref_out_lsb": ref.outputs_lsb, "ref_all_lsb": ref.tensors_lsb, "tensors": ref.compared,
           "xnnpack_out_lsb": xnn.outputs_lsb, "load_s": load_s, "interp_vs_litert_s": cmp_s}
    if with_vela:
        from vela_fidelity import compare as vela_compare

        from cnncc.frontend.tflite.writer import write_tflite

        system = "Ethos_U65_Client_Server"  # the ethos-u65-256 target's default system
        try:
            v = vela_compare(g, system, "ethos-u65-256", tmp, path=path)
            row.update(vela_cycles=v["vela_total"], cnncc_u65_cycles=v["ours_total"],
                       layers_within_10pct=f"{v['within']}/{v['layers']}")
        except Exception as e:  # noqa: BLE001 - a bench row records the failure instead of stopping
            row["vela_cycles"] = f"{type(e).__name__}: {str(e)[:80]}"
        try:
            re = tmp / f"{name}_cnncc.tflite"
            write_tflite(g, re)
            row["vela_cycles_reexport"] = vela_total(re, tmp, system)
        except cnncc.errors.CnnccError as e:
            row["vela_cycles_reexport"] = f"export refused: {e}"
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-vela", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    try:
        import ethosu.vela  # noqa: F401
        with_vela = not args.no_vela
    except ImportError:
        with_vela = False
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, path, src in models(tmp):
            r = measure(name, path, tmp, with_vela)
            r["source"] = src
            rows.append(r)
            print(json.dumps(r), flush=True)
    cols = ["model", "source", "bytes", "layers", "macs", "independent_macs", "ref_out_lsb", "ref_all_lsb",
            "tensors", "xnnpack_out_lsb", "load_s", "interp_vs_litert_s"]
    if with_vela:
        cols += ["vela_cycles", "vela_cycles_reexport", "cnncc_u65_cycles", "layers_within_10pct"]
    fmt = lambda v: (str(int(v)) if v.is_integer() else f"{v:.3g}") if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text("# Quantised models (bench/quant_models.py)\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
