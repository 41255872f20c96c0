"""Real trained ONNX models, quantised by onnxruntime's own quantiser, through cnncc and against Vela 5.2.0.

The models are the int8 QDQ files ``make samples`` writes into samples/thirdparty/ (``*_int8.onnx``: PP-OCRv4
text detector, PP-OCR mobile v2 direction classifier and SVTR recogniser from rapidocr-onnxruntime, YOLOv8n 320
from nudenet, the MTCNN P/R/O-Nets from facenet-pytorch's state dicts; samples/quantise_thirdparty.py). Per model:

1. cnncc reads it (``cnncc.load``); a model cnncc cannot read or lower is listed as refused with the message
   (op, node, target) and exit code;
2. cnncc's integer interpreter against onnxruntime on the same file: max |diff| over the outputs, in LSB of each
   output's own quantisation scale, on one seeded smooth input;
3. the target's default pipeline, the int8 TFLite export (cnncc/frontend/tflite/) and Vela on it over the nine
   configurations of ``vela_fidelity.CONFIGS`` (``vela_fidelity.compare``: layers matched by name): NPU layers
   within ±10 %, total cycles cnncc/Vela, peak SRAM cnncc/Vela.

    .venv/bin/python bench/real_models_vs_vela.py [--models ppocr_cls_int8,...] [--configs 0,4] [--verbose]
                                                 [--vela-cache DIR]

Needs onnxruntime and the ``bench`` extra (Vela); exit 1 when Vela is missing. Models not fetched are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "samples")]
THIRD = ROOT / "samples" / "thirdparty"
MODELS = ("mtcnn_pnet_int8", "mtcnn_rnet_int8", "mtcnn_onet_int8", "ppocr_cls_int8", "ppocr_det_int8",
          "yolov8n_320_int8", "ppocr_rec_int8")


def sample_input(graph) -> dict:
    """One seeded smooth image per graph input, in the range the model was calibrated on."""
    from quantise_thirdparty import INPUTS, smooth_images

    feeds = {}
    for name in graph.inputs:
        _, _, h, w = graph.types[name].shape
        key = next((k for k, v in INPUTS.items() if graph.name.startswith(k) or v[:2] == (h, w)), None)
        lo, hi = INPUTS[key][2:] if key else (-1.0, 1.0)
        feeds[name] = smooth_images(1, h, w, lo, hi, seed=12345)[0]
    return feeds


def _lsb(graph, got: dict, ref: dict) -> float:
    """Max |got − ref| over the graph outputs, each in LSB of its own scale (the Dequantize's input scale, or the
    output's own for an integer output; 1.0 for a float output without either)."""
    import numpy as np

    worst = 0.0
    for name, want in zip(graph.outputs, ref.values()):
        prod = graph.producer(name)
        q = graph.type_of(name).quant
        if q is None and prod is not None and prod.kind == "Dequantize":
            q = graph.type_of(prod.inputs[0]).quant
        scale = float(max(q.scale)) if q is not None else 1.0
        a = np.asarray(got[name], np.float64)
        if graph.type_of(name).quant is not None:  # an integer output: compare its real values
            a = (a - q.zero_point[0]) * q.scale[0]
        worst = max(worst, float(np.max(np.abs(a.reshape(want.shape) - want))) / scale)
    return worst


def onnxruntime_outputs(path: Path, feeds: dict) -> dict:
    """onnxruntime's default session with its int8 -> uint8 activation rewrite off: that rewrite sends QLinearConv/
    QGemm to U8S8 kernels which, on x86 CPUs with AVX2 but no VNNI, saturate pairs of products to int16 (MTCNN
    O-Net 17 LSB from the QDQ graph's meaning). Without it Conv runs as written (float) and the other QDQ groups
    fused, without saturation (bench/qdq_vs_onnxruntime.py measures all three sessions)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"],
                                disabled_optimizers=["QDQS8ToU8Transformer"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def interp_vs_onnxruntime(path: Path, graph) -> float | str:
    """cnncc's integer interpreter on the ONNX graph vs onnxruntime: max |diff| in output LSB, or the refusal."""
    from cnncc.errors import CnnccError
    from cnncc.ir.interp import run

    feeds = sample_input(graph)
    try:
        got = run(graph, feeds)
    except CnnccError as e:
        return f"refused: {e}"
    return _lsb(graph, got, onnxruntime_outputs(path, feeds))


def export_vs_onnxruntime(path: Path, graph, tflite: Path) -> dict:
    """The int8 TFLite export run by cnncc's interpreter (read back by its TFLite reader) and by LiteRT (reference
    kernels), each against onnxruntime on the ONNX file: max |diff| in output LSB."""
    import numpy as np

    from cnncc.frontend.tflite.reader import load_tflite
    from cnncc.ir.interp import run

    feeds = sample_input(graph)
    ref = onnxruntime_outputs(path, feeds)
    back = load_tflite(tflite)
    x = next(iter(feeds.values()))
    xin = back.types[back.inputs[0]]
    if xin.quant is not None:  # the export's graph input is int8 (the ONNX model's first QuantizeLinear)
        x = np.clip(np.round(x / xin.quant.scale[0]) + xin.quant.zero_point[0], -128, 127).astype(np.int8)
    out = {"export_interp_lsb": _lsb(back, run(back, {back.inputs[0]: x}), ref)}
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        return out
    it = Interpreter(model_path=str(tflite), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], x.transpose(0, 2, 3, 1) if x.ndim == 4 else x)
    it.invoke()
    got = {}
    for name, o in zip(back.outputs, it.get_output_details()):
        v = it.get_tensor(o["index"])
        got[name] = v.transpose(0, 3, 1, 2) if v.ndim == 4 else v
    out["export_litert_lsb"] = _lsb(back, got, ref)
    return out


def edge_cycles(graph, accel: str, system: str, mode: str) -> int:
    """cnncc's host-CPU cycles for the graph-edge conversions the int8 TFLite export does not hold (the Quantize
    of a float graph input, the Dequantize of a graph output: the export's inputs and outputs are int8), so
    ``total − edge`` is the total of the network Vela compiles."""
    from vela_fidelity import ours

    from cnncc.target import load_target

    layers, _, _ = ours(graph, load_target(accel, {"system": system, "memory_mode": mode}))
    edge = {x.name for x in graph.layers if (x.kind == "Quantize" and x.inputs[0] in graph.inputs)
            or (x.kind == "Dequantize" and x.outputs[0] in graph.outputs)}
    return sum(int(d["cycles"]) for d in layers if d["name"] in edge)


def measure(name: str, configs, workdir: Path, verbose: bool = False) -> dict:
    """One model: read, interpreter check, export, Vela over ``configs``; a dict for the table."""
    from vela_fidelity import compare, load_sample

    import cnncc
    from cnncc.errors import CnnccError
    from cnncc.frontend.tflite.writer import write_tflite

    path = THIRD / f"{name}.onnx"
    row: dict = {"model": name}
    try:
        g = cnncc.load(path)
        row["layers"] = len(g.layers)
        row["interp_lsb"] = interp_vs_onnxruntime(path, g)
        rows = []
        by_accel: dict[str, object] = {}
        for accel, system, mode in configs:
            if accel not in by_accel:
                by_accel[accel] = load_sample(path, accel)
                tfl = workdir / f"{name}_{accel}.tflite"
                write_tflite(by_accel[accel], tfl)
                if len(by_accel) == 1:
                    row.update(export_vs_onnxruntime(path, g, tfl))
            r = compare(by_accel[accel], system, accel, workdir, mode, path=workdir / f"{name}_{accel}.tflite")
            sram = (r["ours_sram_bytes"] / r["vela_sram_bytes"]) if r["vela_sram_bytes"] and r["ours_sram_bytes"] \
                else None
            edge = edge_cycles(by_accel[accel], accel, system, mode)
            rows.append({"config": [accel, system, mode], "within": r["within"], "layers": r["layers"],
                         "total_ratio": round(r["total_ratio"], 4), "edge_cycles": edge,
                         "export_ratio": round((r["ours_total"] - edge) / r["vela_total"], 4),
                         "sram_ratio": round(sram, 4) if sram else None,
                         "ours_total": r["ours_total"], "vela_total": r["vela_total"]})
            if verbose:
                for lname, c, v in sorted(r["pairs"], key=lambda p: -abs(p[1] - p[2])):
                    if abs(c / v - 1) > 0.10:
                        print(f"    {accel} {system} {mode} {lname}: cnncc {c} Vela {v:.0f} ({c / v:.3f}) "
                              f"{r['rows'].get(lname.rstrip('+'))}", flush=True)
        row["configs"] = rows
    except CnnccError as e:
        row["refused"] = f"exit {e.exit_code}: {e}"
    except RuntimeError as e:  # Vela failed on the export
        row["vela_failed"] = str(e)[:300]
    return row


def main(argv=None) -> int:
    import vela_fidelity

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--configs", default="", help="indices into vela_fidelity.CONFIGS (default: all nine)")
    ap.add_argument("--vela-cache", default="", help="keep Vela's results in this folder and reuse them")
    ap.add_argument("--verbose", action="store_true", help="print every NPU layer off by more than 10 %%")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    a = ap.parse_args(argv)
    try:
        import ethosu  # noqa: F401
    except ImportError:
        print("Vela (ethos-u-vela) is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    vela_fidelity.VELA_CACHE = Path(a.vela_cache) if a.vela_cache else None
    configs = [vela_fidelity.CONFIGS[int(i)] for i in a.configs.split(",")] if a.configs else \
        list(vela_fidelity.CONFIGS)
    out = []
    with tempfile.TemporaryDirectory() as td:
        for name in a.models.split(","):
            if not (THIRD / f"{name}.onnx").is_file():
                print(f"skip {name}: samples/thirdparty/{name}.onnx is missing (make samples)", file=sys.stderr)
                continue
            r = measure(name, configs, Path(td), a.verbose)
            out.append(r)
            if "configs" not in r:
                print(f"{name:18s} {r.get('refused') or 'Vela failed: ' + r['vela_failed']}", flush=True)
                continue
            lsb = lambda v: f"{v:.2f} LSB" if isinstance(v, float) else str(v)  # noqa: E731
            print(f"{name:18s} {r['layers']} layers; vs onnxruntime (max |diff| over the outputs): cnncc interpreter "
                  f"{lsb(r['interp_lsb'])}; on the TFLite export: cnncc {lsb(r.get('export_interp_lsb'))}, LiteRT "
                  f"{lsb(r.get('export_litert_lsb'))}", flush=True)
            for c in r["configs"]:
                sram = f"{c['sram_ratio']:.3f}" if c["sram_ratio"] else "—"
                print(f"  {' '.join(c['config']):62s} NPU layers {c['within']:3d}/{c['layers']:3d} "
                      f"({100 * c['within'] / max(c['layers'], 1):5.1f} %)  total {c['total_ratio']:.3f} (without the "
                      f"graph-edge Quantize/Dequantize: {c['export_ratio']:.3f})  "
                      f"peak SRAM {sram}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
