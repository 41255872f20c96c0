"""The TFLite export of Pow and Sqrt as Vela 5.2.0 takes it, on seeded QDQ LayerNorm nets over the last axis of a
[1, T, C] map (PP-OCRv4 rec's SVTR neck; onnxruntime's quantize_static, tests/ir/test_layernorm_ort.py): Pow 2 is
MUL(x, x), which Vela runs on the NPU (cnncc's row within 10 % of Vela's: measured 1.000-1.067 on u65-256
Client_Server), Sqrt is DEQUANTIZE -> float SQRT -> QUANTIZE, which Vela leaves to the CPU (no NPU row; cnncc costs
it on the host CPU). Vela runs at test time; skipped where it is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.ir.qdq_util import quantise
from tests.ir.test_layernorm_ort import _layernorm

pytest.importorskip("onnxruntime")


def test_pow_is_mul_and_sqrt_is_float_in_the_export(tmp_path):
    from cnncc.frontend.tflite.reader import load_tflite
    from cnncc.frontend.tflite.writer import write_tflite
    from cnncc.ir.quant import Dequantize, Quantize

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import load_sample

    r = np.random.default_rng(3)
    shape = (1, 12, 48)
    q = quantise(tmp_path, _layernorm(shape, r), [r.normal(0.3, 1.5, shape).astype(np.float32) for _ in range(8)])
    g = load_sample(q, "ethos-u65-256")
    write_tflite(g, tmp_path / "ln.tflite")
    back = load_tflite(tmp_path / "ln.tflite")
    muls = [x for x in back.layers if x.kind == "Mul" and x.inputs[0] == x.inputs[1]]
    assert len(muls) == 1  # the square
    sq = next(x for x in back.layers if x.kind == "Sqrt")
    assert isinstance(back.producer(sq.inputs[0]).op, Dequantize)
    assert isinstance(next(x for x in back.layers if sq.outputs[0] in x.inputs).op, Quantize)


@pytest.mark.parametrize("seed", [0, 1])
def test_layernorm_pow_on_npu_and_sqrt_on_cpu_as_vela(tmp_path, seed):
    pytest.importorskip("ethosu.vela", reason="Vela (ethos-u-vela, the bench extra) is not installed")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import compare, load_sample

    from cnncc.backends.ethos_u65.lower import CPU, lower

    r = np.random.default_rng(20 + seed)
    shape = (1, int(r.integers(8, 48)), int(r.choice([32, 64, 96, 120])))
    q = quantise(tmp_path, _layernorm(shape, r), [r.normal(0.3, 1.5, shape).astype(np.float32) for _ in range(8)])
    g = load_sample(q, "ethos-u65-256")
    pow_layer = next(x for x in g.layers if x.kind == "Pow")
    sqrt_layer = next(x for x in g.layers if x.kind == "Sqrt")
    assert lower(g, pow_layer).kind != CPU and lower(g, sqrt_layer).kind == CPU
    res = compare(g, "Ethos_U65_Client_Server", "ethos-u65-256", tmp_path, "Dedicated_Sram_384KB")
    rows = {n.rstrip("+"): (c, v) for n, c, v in res["pairs"]}
    ours, vela = rows[pow_layer.name]
    assert ours == pytest.approx(vela, rel=0.10), (shape, ours, vela)
    assert sqrt_layer.name not in rows  # Vela has no NPU row for it: the CPU runs it
