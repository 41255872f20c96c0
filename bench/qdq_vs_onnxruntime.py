"""cnncc's integer interpreter against onnxruntime on the third-party int8 QDQ models, per onnxruntime mode.

onnxruntime does not run a QDQ graph the same way in every session. With graph optimisations off it runs the
nodes as written (dequantize, the float op, quantize: the documented QDQ meaning, which cnncc's interpreter
implements). Its default session fuses DQ -> op -> Q into QLinear kernels, converts int8 activations to uint8,
and on x86-64 CPUs with AVX2 but no VNNI runs U8S8 QLinearConv/QGemm with VPMADDUBSW, which saturates each pair of
products to int16 (onnxruntime's quantisation docs: "saturation issues"; its ``session.x64quantprecision = 1``
asks for exact kernels, but onnxruntime 1.32 fails to load PP-OCR and YOLOv8n with it). With the activations
kept int8 (the ``QDQS8ToU8Transformer`` disabled) the x86 provider leaves DQ -> Conv -> Q unfused (float Conv,
as written) and fuses the rest (QGemm S8S8, QLinearAdd/Mul/Sigmoid/Softmax/Concat/GlobalAveragePool): no
saturation. So per model, on the seeded input of ``real_models_vs_vela.sample_input``:

* ``as written``: onnxruntime with ``ORT_DISABLE_ALL``;
* ``default``: the default session;
* ``no u8``: the default session without the int8 -> uint8 rewrite (what ``real_models_vs_vela.py`` compares with);

each as max |diff| over the outputs in LSB of the output's own scale, and the share of output elements that differ.

    .venv/bin/python bench/qdq_vs_onnxruntime.py [--models ppocr_det_int8,...]

Needs onnxruntime; models ``make samples`` has not fetched are skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "samples")]

MODES = (("as written", "ORT_DISABLE_ALL", ()),
         ("default", "ORT_ENABLE_ALL", ()),
         ("no u8", "ORT_ENABLE_ALL", ("QDQS8ToU8Transformer",)))


def _ort(path: Path, feeds: dict, level: str, disabled: tuple[str, ...]) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    so.log_severity_level = 4
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled))
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds)))


def _share_differing(graph, got: dict, ref: dict) -> float:
    """Share of output elements more than 1e-3 LSB apart (the scale as ``real_models_vs_vela._lsb`` picks it)."""
    import numpy as np

    n = bad = 0
    for name in graph.outputs:
        q = graph.type_of(name).quant
        prod = graph.producer(name)
        if q is None and prod is not None and prod.kind == "Dequantize":
            q = graph.type_of(prod.inputs[0]).quant
        b = np.asarray(ref[name], np.float64)
        a = np.asarray(got[name], np.float64).reshape(b.shape)
        if graph.type_of(name).quant is not None:  # an integer output: its real values
            a = (a - q.zero_point[0]) * q.scale[0]
        n += b.size
        bad += int(np.count_nonzero(np.abs(a - b) > 1e-3 * (float(max(q.scale)) if q is not None else 1.0)))
    return bad / max(n, 1)


def measure(name: str) -> str:
    from real_models_vs_vela import THIRD, _lsb, sample_input

    import cnncc
    from cnncc.errors import CnnccError
    from cnncc.ir.interp import run

    path = THIRD / f"{name}.onnx"
    if not path.exists():
        return f"{name:18s} not fetched (make samples)"
    try:
        graph = cnncc.load(path)
        feeds = sample_input(graph)
        got = run(graph, feeds)
    except CnnccError as e:
        return f"{name:18s} refused: {e}"
    cells = []
    for label, level, disabled in MODES:
        try:
            ref = _ort(path, feeds, level, disabled)
        except Exception as e:  # noqa: BLE001 - onnxruntime's own refusal is the result for this mode
            cells.append(f"{label}: onnxruntime refuses ({str(e).strip().splitlines()[-1][-50:]})")
            continue
        cells.append(f"{label}: {_lsb(graph, got, ref):7.2f} LSB ({100 * _share_differing(graph, got, ref):.3f} %)")
    return f"{name:18s} " + "; ".join(cells)


def cpu_flags() -> str:
    """The CPU features that decide onnxruntime's U8S8 kernels (Linux only; '' elsewhere)."""
    try:
        flags = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    return " ".join(f for f in ("avx2", "fma", "avx512bw", "avx512_vnni", "avx_vnni") if f in flags)


def main(argv=None) -> int:
    from real_models_vs_vela import MODELS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args(argv)
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}; CPU flags: {cpu_flags() or 'unknown'}")
    print("cnncc interpreter vs onnxruntime: max |diff| in output LSB (share of output elements differing)")
    for name in a.models.split(","):
        print(measure(name), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
