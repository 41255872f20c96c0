"""Quantise the real trained float ONNX models of samples/thirdparty/ to int8 with onnxruntime's own quantiser.

Run by ``samples/fetch_thirdparty.py`` (``make samples``) after the float models are fetched; also usable alone:

    .venv/bin/python samples/quantise_thirdparty.py [samples/thirdparty]

Per model: the dynamic input dimensions are fixed to the size in :data:`INPUTS` (1×3×H×W), the graph is prepared
with ``onnxruntime.quantization.quant_pre_process`` (shape inference, constant folding), and
``onnxruntime.quantization.quantize_static`` writes ``<name>_int8.onnx``: QDQ format, per-channel int8 weights, int8
activations, MinMax calibration on :data:`CALIBRATION` seeded synthetic images (smooth random fields at the input
size, scaled to the model's own input range). Nothing is trained or re-calibrated by cnncc; the same float file and
onnxruntime version give the same bytes. Without onnxruntime it prints a warning and returns no entries.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

#: float model name -> (input height, input width, input range lo, hi) of the 1×3×H×W input
INPUTS = {
    "ppocr_det": (320, 320, -1.0, 1.0),       # PaddleOCR normalises (x/255 - 0.5) / 0.5
    "ppocr_cls": (48, 192, -1.0, 1.0),
    "ppocr_rec": (48, 320, -1.0, 1.0),
    "yolov8n_320": (320, 320, 0.0, 1.0),      # Ultralytics: x / 255
    "mtcnn_pnet": (12, 12, -1.0, 1.0),        # MTCNN: (x - 127.5) / 128
    "mtcnn_rnet": (24, 24, -1.0, 1.0),
    "mtcnn_onet": (48, 48, -1.0, 1.0),
}
#: number of calibration images per model
CALIBRATION = 8


def smooth_images(n: int, h: int, w: int, lo: float, hi: float, seed: int) -> list[np.ndarray]:
    """``n`` seeded 1×3×h×w float32 images in [lo, hi]: a coarse random grid (about 8 cells a side) upsampled
    bilinearly, plus a little pixel noise (natural images are smooth; pure noise gives unrealistic ranges)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        gh, gw = max(2, h // 8), max(2, w // 8)
        grid = rng.uniform(0.0, 1.0, (3, gh, gw))
        ys, xs = np.linspace(0, gh - 1, h), np.linspace(0, gw - 1, w)
        y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
        y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
        fy, fx = (ys - y0)[None, :, None], (xs - x0)[None, None, :]
        top = grid[:, y0][:, :, x0] * (1 - fx) + grid[:, y0][:, :, x1] * fx
        bot = grid[:, y1][:, :, x0] * (1 - fx) + grid[:, y1][:, :, x1] * fx
        img = top * (1 - fy) + bot * fy + rng.normal(0.0, 0.02, (3, h, w))
        out.append((lo + (hi - lo) * np.clip(img, 0.0, 1.0))[None].astype(np.float32))
    return out


def fix_input(src: Path, dst: Path, h: int, w: int) -> str:
    """Write ``src`` with its one graph input fixed to 1×3×h×w (other value_info dropped, re-inferred later) at
    opset 13 or later; returns the input's name."""
    import onnx
    import onnx.version_converter

    m = onnx.load(str(src))
    inits = {t.name for t in m.graph.initializer}
    inp = [i for i in m.graph.input if i.name not in inits]
    if len(inp) != 1:
        raise ValueError(f"{src.name}: expected one graph input, found {len(inp)}")
    dims = inp[0].type.tensor_type.shape.dim
    for d, v in zip(dims, (1, 3, h, w)):
        d.Clear()
        d.dim_value = v
    del m.graph.value_info[:]
    for o in m.graph.output:
        for d in o.type.tensor_type.shape.dim:
            d.Clear()
    if next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) < 13:
        # per-channel QuantizeLinear / DequantizeLinear (the axis attribute) need opset 13
        m = onnx.version_converter.convert_version(m, 13)
    onnx.save(m, str(dst))
    return inp[0].name


def quantise(src: Path, dst: Path, name: str) -> None:
    """Quantise the float model ``src`` (one of :data:`INPUTS`) into ``dst`` (QDQ, per-channel int8)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    h, w, lo, hi = INPUTS[name]
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    with tempfile.TemporaryDirectory() as td:
        fixed, prep = Path(td) / "fixed.onnx", Path(td) / "prep.onnx"
        x_name = fix_input(src, fixed, h, w)
        quant_pre_process(str(fixed), str(prep), skip_symbolic_shape=True)
        images = smooth_images(CALIBRATION, h, w, lo, hi, seed)

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.it = iter(images)

            def get_next(self):
                x = next(self.it, None)
                return None if x is None else {x_name: x}

        quantize_static(str(prep), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


def main(folder: Path, names: list[str] | None = None) -> list[dict]:
    """Quantise every float model of :data:`INPUTS` present in ``folder`` (as ``<name>.onnx``) whose
    ``<name>_int8.onnx`` is missing or older; returns MANIFEST entries for the int8 files written or present."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("warning: onnxruntime is not installed; the int8 ONNX models are not made", file=sys.stderr)
        return []
    import onnxruntime

    entries = []
    for name in [n for n in names or list(INPUTS) if n in INPUTS]:
        src, dst = folder / f"{name}.onnx", folder / f"{name}_int8.onnx"
        if not src.is_file():
            continue
        if not dst.is_file() or dst.stat().st_mtime < src.stat().st_mtime:
            try:
                quantise(src, dst, name)
            except Exception as e:  # noqa: BLE001 - one model failing to quantise must not stop `make samples`
                print(f"warning: could not quantise {src.name}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
                dst.unlink(missing_ok=True)
                continue
        h, w, lo, hi = INPUTS[name]
        data = dst.read_bytes()
        entries.append({"name": f"{name}_int8", "file": dst.name, "from": f"{name}.onnx",
                        "made_by": f"onnxruntime {onnxruntime.__version__} quantize_static (QDQ, per-channel int8 "
                                   f"weights, int8 activations, MinMax on {CALIBRATION} seeded smooth random images "
                                   f"in [{lo}, {hi}]): a real trained model quantised by onnxruntime's own quantiser",
                        "input_shape": [1, 3, h, w], "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    return entries


if __name__ == "__main__":
    got = main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "thirdparty")
    print(f"{len(got)} int8 models: {', '.join(e['file'] for e in got)}")
